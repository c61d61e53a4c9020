export default { title: 'Button', render: ({ label }) => `<button>${label}</button>` }

export const Primary = { args: { label: 'Deploy' } }
