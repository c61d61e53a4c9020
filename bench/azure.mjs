// The Azurite row of `npm run bench`: the small site (2,000 files) deployed to Azurite's blob
// service with the azure strategy's two transports, the lean REST path (undici, Shared Key) and
// @azure/storage-blob (a ContainerClient passed as `client`): the first push, a warm no-change
// deploy, and the client CPU per request of each. Every deploy runs in a process of its own.
//   node bench/azure.mjs [runs=3] [concurrency=64]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { KEY, sdkContainer, startAzurite } from './azure-cpu.mjs'
import { generate } from './generate.mjs'

const self = fileURLToPath(import.meta.url)

async function child(job) {
  const { deploy } = await import('../dist/index.js')
  const { azure } = await import('../dist/strategies/azure.js')
  const cpu = process.cpuUsage()
  const started = performance.now()
  const options = { container: 'bench', prefix: job.prefix }
  const strategy = job.path === 'lean' ? azure({ ...options, url: job.endpoint, accountKey: KEY }) : azure({ ...options, client: await sdkContainer(job.endpoint) })
  const report = await deploy({ outDir: job.dir, strategy, cacheDir: job.cacheDir, concurrency: job.concurrency, logger: { info() {}, warn: (m) => console.error(m) }, progress: false })
  const used = process.cpuUsage(cpu)
  const requests = Object.values(report.requests).reduce((a, b) => a + b, 0)
  console.log(JSON.stringify({ ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, requests, uploaded: report.uploaded.length }))
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

/** The markdown section: one row per transport. */
export async function azureSection({ runs = 3, concurrency = 64, log = (line) => console.error(line) } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'collectfasta-bench-azure-'))
  const dir = join(work, 'site')
  const { paths } = generate(dir, 'small')
  const azurite = await startAzurite()
  const rows = []
  try {
    for (const path of ['lean', 'sdk']) {
      const first = []
      const warm = []
      for (let run = 1; run <= runs; run++) {
        const job = { path, endpoint: azurite.endpoint, dir, prefix: `${path}-${run}-${Date.now().toString(36)}/`, cacheDir: join(work, `cache-${path}-${run}`), concurrency }
        const deployOnce = () => JSON.parse(execFileSync(process.execPath, [self, JSON.stringify(job)], { encoding: 'utf8' }).trim().split('\n').pop())
        first.push(deployOnce())
        warm.push(deployOnce())
        log(`  azure ${path} #${run}: first ${(first.at(-1).ms / 1000).toFixed(2)} s, warm ${(warm.at(-1).ms / 1000).toFixed(2)} s`)
      }
      rows.push({
        path,
        first: median(first.map((r) => r.ms)) / 1000,
        warm: median(warm.map((r) => r.ms)) / 1000,
        cpuPerRequest: median(first.map((r) => r.cpuMs / r.requests)),
        requests: median(first.map((r) => r.requests)),
      })
    }
  } finally {
    azurite.stop()
    rmSync(work, { recursive: true, force: true })
  }
  const name = { lean: 'ours, lean REST (chosen)', sdk: 'ours through @azure/storage-blob' }
  return [
    `## Azure Blob Storage on Azurite: ${paths.length} files, RTT 0 ms`,
    '',
    `Azurite 3.37.0 (blob service, in memory, loopback). Median of ${runs} runs at concurrency ${concurrency}; each deploy in a process of its own, CPU the whole process's (start-up included) over the requests it made.`,
    '',
    '| transport | first push s | warm no-change s | requests (first) | CPU ms / request |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${name[r.path]} | ${r.first.toFixed(2)} | ${r.warm.toFixed(2)} | ${r.requests} | ${r.cpuPerRequest.toFixed(3)} |`),
    '',
  ].join('\n')
}

if (process.argv[2]?.startsWith('{')) await child(JSON.parse(process.argv[2]))
else if (process.argv[1] === self) {
  const [runs, concurrency] = process.argv.slice(2).map(Number)
  console.log(await azureSection({ runs: runs || 3, concurrency: concurrency || 64 }))
}
