const out = document.querySelector<HTMLPreElement>('#out')!

document.querySelector('#stats')?.addEventListener('click', async () => {
  const { describe } = await import('./stats.js')
  out.textContent = describe(performance.now())
})
