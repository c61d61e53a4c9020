// Start-up and the warm no-change deploy, whole processes, for several builds of the command
// side by side (alternating runs, so that the machine's load falls on each alike):
//   node bench/startup.mjs [--runs 10] [--node PATH] DIST_CLI… (default: dist/cli.js)
// Each build deploys a generated site (bench/generate.mjs `site3k`) to fauxqs once, then runs
// `--version` and the warm no-change deploy `--runs` times; prints min / median / max ms.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { nodeAtLeast } from '../test/servers/runtimes.mjs'
import { generate } from './generate.mjs'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args.splice(i, 2)[1] : fallback
}
const RUNS = Number(option('runs', 10))
const NODE = option('node', process.execPath)
const SIZE = option('size', 'site3k')
const clis = args.length ? args : [fileURLToPath(new URL('../dist/cli.js', import.meta.url))]
const BUCKET = 'collectfasta-bench'
const work = mkdtempSync(join(tmpdir(), 'collectfasta-startup-'))

const script = fileURLToPath(new URL('../test/servers/s3-server.mjs', import.meta.url))
const server = spawn(nodeAtLeast([22, 5], 'fauxqs'), [script, 'fauxqs', BUCKET], { stdio: ['pipe', 'pipe', 'inherit'] })
const endpoint = await new Promise((resolve) => createInterface({ input: server.stdout }).once('line', (l) => resolve(JSON.parse(l).endpoint)))
try {
  const site = join(work, 'site')
  generate(site, SIZE)
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }
  delete env.AWS_CA_BUNDLE
  const deployArgs = (i) => ['deploy', site, '--to', `s3://${BUCKET}/startup-${i}`, '--endpoint', endpoint, '--cache-dir', join(work, `cache-${i}`), '--quiet']
  const ms = (argv) => {
    const started = process.hrtime.bigint()
    execFileSync(NODE, argv, { env, stdio: ['ignore', 'ignore', 'inherit'] })
    return Number(process.hrtime.bigint() - started) / 1e6
  }
  for (const [i, cli] of clis.entries()) ms([cli, ...deployArgs(i)]) // the first deploy, untimed
  const times = clis.map(() => ({ version: [], warm: [] }))
  for (let run = 0; run < RUNS; run++) {
    clis.forEach((cli, i) => {
      times[i].version.push(ms([cli, '--version']))
      times[i].warm.push(ms([cli, ...deployArgs(i)]))
    })
  }
  const bare = Array.from({ length: RUNS }, () => ms(['-e', '0']))
  const stats = (list) => {
    const s = [...list].sort((a, b) => a - b)
    return `${s[0].toFixed(0)} / ${s[Math.floor(s.length / 2)].toFixed(0)} / ${s.at(-1).toFixed(0)}`
  }
  console.log(`Node ${execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim()}, ${RUNS} runs each, ms min / median / max; bare \`node -e 0\`: ${stats(bare)}`)
  console.log('\n| build | `--version` | warm no-change deploy |\n|---|---|---|')
  for (const [i, cli] of clis.entries()) console.log(`| ${cli} | ${stats(times[i].version)} | ${stats(times[i].warm)} |`)
} finally {
  server.kill('SIGTERM')
  rmSync(work, { recursive: true, force: true })
}
