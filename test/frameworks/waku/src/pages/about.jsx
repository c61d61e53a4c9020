export default function About() { return <h1>About</h1> }
export const getConfig = async () => ({ render: 'static' })
