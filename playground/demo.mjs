// `npm run demo`: builds the playground twice into a local directory target. The first build
// uploads every file; the second finds everything in the checksum cache and uploads nothing.
import { readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'

const here = fileURLToPath(new URL('.', import.meta.url))
rmSync(new URL('./.deploy', import.meta.url), { recursive: true, force: true })

for (const run of [1, 2]) {
  console.log(`\n=== vite build #${run} ===`)
  await build({ configFile: `${here}vite.config.ts`, logLevel: 'info' })
  const report = JSON.parse(readFileSync(new URL('./.deploy/report.json', import.meta.url), 'utf8'))
  console.log(
    `report: ${report.uploaded.length} uploaded, ${report.skipped.length} skipped, ` +
      `${Object.values(report.requests).reduce((a, b) => a + b, 0)} storage requests`,
  )
}
console.log(`\nDeployed to ${here}.deploy/www/static/ — the second build skipped every file.`)
