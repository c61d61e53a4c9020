// Client CPU per upload to Azurite: the azure strategy's lean REST path (undici, Shared Key)
// against the same strategy through @azure/storage-blob (a user's own ContainerClient), each in a
// process of its own, alternating. Azurite runs beside us: compare CPU, not wall time. Needs
// `npm run build` and test/servers/azurite installed (node test/servers/install.mjs).
//   node bench/azure-cpu.mjs [uploads=2000] [runs=3] [concurrency=32] [bytes=5000]
import { spawn, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { timedUploads } from './timed-uploads.mjs'

const self = fileURLToPath(import.meta.url)
const CONTAINER = 'bench'
// Azurite's well-known account and key (public, documented).
const ACCOUNT = 'devstoreaccount1'
export const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

export async function sdkContainer(endpoint) {
  const { BlobServiceClient, StorageSharedKeyCredential } = await import('../test/servers/azurite/sdk.mjs')
  return new BlobServiceClient(endpoint, new StorageSharedKeyCredential(ACCOUNT, KEY)).getContainerClient(CONTAINER)
}

async function child(job) {
  const { azure } = await import('../dist/strategies/azure.js')
  const prefix = `bench-${job.path}-${Date.now().toString(36)}/`
  const strategy = job.path === 'lean' ? azure({ url: job.endpoint, accountKey: KEY, container: CONTAINER, prefix }) : azure({ client: await sdkContainer(job.endpoint), container: CONTAINER, prefix })
  const { cpuMsPerUpload, wallMsPerUpload } = await timedUploads(strategy, prefix, job)
  console.log(JSON.stringify({ path: job.path, cpuMsPerUpload, wallMsPerUpload }))
}

/** Azurite's blob service in memory on a free port, and its endpoint for the well-known account. */
export async function startAzurite() {
  const main = fileURLToPath(new URL('../test/servers/azurite/node_modules/azurite/dist/src/blob/main.js', import.meta.url))
  const server = spawn(process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--skipApiVersionCheck', '--disableProductStyleUrl'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const endpoint = await new Promise((resolve, reject) => {
    createInterface({ input: server.stdout }).on('line', (line) => {
      const url = /listens on (http:\/\/\S+)/.exec(line)?.[1]
      if (url) resolve(`${url}/${ACCOUNT}`)
    })
    server.on('exit', (code) => reject(new Error(`Azurite exited (${code})`)))
  })
  await (await sdkContainer(endpoint)).createIfNotExists()
  // Azurite takes seconds to close on SIGTERM and keeps nothing here.
  return { endpoint, stop: () => server.kill('SIGKILL') }
}

export async function measureAzureCpu({ uploads = 2000, runs = 3, concurrency = 32, bytes = 5000, log = console.log } = {}) {
  const azurite = await startAzurite()
  const results = { lean: [], sdk: [] }
  try {
    for (let r = 0; r < runs; r++) {
      for (const path of ['sdk', 'lean']) {
        const job = { path, endpoint: azurite.endpoint, uploads, warmup: 100, concurrency, bytes }
        const out = execFileSync(process.execPath, [self, JSON.stringify(job)], { encoding: 'utf8' })
        const line = JSON.parse(out.trim().split('\n').pop())
        results[path].push(line)
        log(`${path.padEnd(4)} run ${r + 1}: ${line.cpuMsPerUpload.toFixed(3)} ms CPU / upload, ${line.wallMsPerUpload.toFixed(3)} ms wall`)
      }
    }
  } finally {
    azurite.stop()
  }
  const best = (path) => Math.min(...results[path].map((r) => r.cpuMsPerUpload))
  return { lean: best('lean'), sdk: best('sdk') }
}

if (process.argv[2]?.startsWith('{')) await child(JSON.parse(process.argv[2]))
else if (process.argv[1] === self) {
  const [uploads, runs, concurrency, bytes] = process.argv.slice(2).map(Number)
  const { lean, sdk } = await measureAzureCpu({ uploads, runs, concurrency, bytes })
  console.log(`best of each: sdk ${sdk.toFixed(3)} ms, lean ${lean.toFixed(3)} ms CPU per upload (lean / sdk = ${(lean / sdk).toFixed(2)})`)
}
