// Rollback against a redeploy of the old build (issue #33): a site of 2,000 files where the
// live release changed 50 pages and 10 assets, on fauxqs behind a proxy that adds a round trip.
//   node bench/rollback.mjs [--runs 3] [--rtt 20] [--node PATH] [--profile DIR]
// --node runs the command with another Node binary (e.g. test/servers/node24/…/bin/node);
// --profile writes a V8 CPU profile of each timed rollback into DIR.
// Each cell is a whole process of the command, as a user runs it. Prints a Markdown table: wall
// time, requests by kind, and the bytes of file content the client sent (a server-side copy sends
// none; our own folder's record and manifest are counted apart).
import { execFile, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { recordingProxy } from '../test/servers/proxy.mjs'
import { nodeAtLeast } from '../test/servers/runtimes.mjs'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}
const RUNS = Number(option('runs', 3))
const RTT = Number(option('rtt', 20))
const BUCKET = 'collectfasta-bench'
const NODE = option('node', process.execPath)
const PROFILE = option('profile', undefined)
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const PAGES = 100
const ASSETS = 1900
const CHANGED_PAGES = 50
const CHANGED_ASSETS = 10
const work = mkdtempSync(join(tmpdir(), 'collectfasta-rollback-bench-'))

/** Release `r` (1 or 2) of the site: release 2 changes 50 pages and replaces 10 hashed assets. */
function site(r) {
  const files = {}
  const asset = (i) => `assets/chunk-${i}-${r === 2 && i < CHANGED_ASSETS ? 'b2' : 'a1'}.js`
  for (let i = 0; i < ASSETS; i++) files[asset(i)] = `export const c${i} = ${'x'.repeat(200 + (i % 50) * 40)}; // ${asset(i)}`
  for (let i = 0; i < PAGES; i++) {
    const edited = r === 2 && i < CHANGED_PAGES
    files[i === 0 ? 'index.html' : `page-${i}/index.html`] =
      `<!doctype html><title>page ${i}${edited ? ' (edited)' : ''}</title><script type="module" src="/${asset(i % ASSETS)}"></script>${'<p>text</p>'.repeat(200)}`
  }
  return files
}

async function startServer() {
  const script = fileURLToPath(new URL('../test/servers/s3-server.mjs', import.meta.url))
  const child = spawn(nodeAtLeast([22, 5], 'fauxqs'), [script, 'fauxqs', BUCKET], { stdio: ['pipe', 'pipe', 'inherit'] })
  const endpoint = await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', (l) => resolve(JSON.parse(l).endpoint)))
  return { endpoint, stop: () => child.kill('SIGTERM') }
}

function command(argv, cwd, profile = false) {
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', CI: '1' }
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const flags = profile && PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : []
    execFile(NODE, [...flags, CLI, ...argv], { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${argv[0]} failed: ${stderr.slice(-2000)}`))
      else resolve({ ms: performance.now() - started, report: JSON.parse(stdout) })
    })
  })
}

/** Requests by kind since the last reset, and the body bytes sent: the site's files apart from our folder. */
function counted(proxy, prefix) {
  const kinds = {}
  let content = 0
  let ours = 0
  for (const r of proxy.requests) {
    kinds[r.kind] = (kinds[r.kind] ?? 0) + 1
    if (r.method !== 'PUT' && r.method !== 'POST') continue
    if (r.path.includes(`/${prefix}.collectfasta/`)) ours += r.bytes
    else content += r.bytes
  }
  return { kinds, content, ours }
}

function writeTree(dir, files) {
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), body)
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function main() {
  const server = await startServer()
  const proxy = await recordingProxy(server.endpoint, { oneWayMs: RTT / 2 })
  const dirs = [1, 2].map((r) => {
    const dir = join(work, `release-${r}`)
    writeTree(dir, site(r))
    return dir
  })
  const cells = { rollback: [], 'redeploy, warm cache': [], 'redeploy, cold cache': [] }
  try {
    for (let run = 0; run < RUNS; run++) {
      const prefix = `rollback-${run}-${Date.now().toString(36)}/`
      const to = ['--to', `s3://${BUCKET}/${prefix}`, '--endpoint', proxy.url, '--json']
      const warm = join(work, `cache-warm-${run}`)
      const deploy = (r, cacheDir) => command(['deploy', dirs[r - 1], ...to, '--cache-dir', cacheDir], work)
      // Release 1, then release 2 live: untimed.
      await deploy(1, warm)
      await deploy(2, warm)
      proxy.reset()
      const back = await command(['rollback', ...to], work, true)
      cells.rollback.push({ ms: back.ms, ...counted(proxy, prefix), copied: back.report.uploaded?.length ?? 0 })
      // Release 2 live again, then the alternative users have today: deploy the old build again.
      await deploy(2, warm)
      proxy.reset()
      const again = await deploy(1, warm)
      cells['redeploy, warm cache'].push({ ms: again.ms, ...counted(proxy, prefix) })
      await deploy(2, warm)
      const cold = join(work, `cache-cold-${run}`)
      proxy.reset()
      const fresh = await deploy(1, cold)
      cells['redeploy, cold cache'].push({ ms: fresh.ms, ...counted(proxy, prefix) })
      console.error(`run ${run + 1}: rollback ${(back.ms / 1000).toFixed(2)} s, redeploy warm ${(again.ms / 1000).toFixed(2)} s, cold ${(fresh.ms / 1000).toFixed(2)} s`)
    }
  } finally {
    await proxy.close()
    server.stop()
    rmSync(work, { recursive: true, force: true })
  }
  const version = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim()
  console.log(`${PAGES + ASSETS} files, ${CHANGED_PAGES} pages and ${CHANGED_ASSETS} assets changed; RTT ${RTT} ms; fauxqs; Node ${version}; median of ${RUNS}, whole process\n`)
  console.log('| | wall (range) | requests | file bytes sent | our folder bytes |')
  console.log('|---|---|---|---|---|')
  for (const [name, samples] of Object.entries(cells)) {
    const ms = samples.map((s) => s.ms)
    const last = samples.at(-1)
    const kinds = Object.entries(last.kinds)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')
    console.log(`| ${name} | ${(median(ms) / 1000).toFixed(2)} s (${(Math.min(...ms) / 1000).toFixed(2)}–${(Math.max(...ms) / 1000).toFixed(2)}) | ${kinds} | ${last.content.toLocaleString('en')} | ${last.ours.toLocaleString('en')} |`)
  }
}

await main()
