import { Link } from 'waku'
export default function Home() { return <div><h1>Home</h1><Link to="/about">About</Link></div> }
export const getConfig = async () => ({ render: 'static' })
