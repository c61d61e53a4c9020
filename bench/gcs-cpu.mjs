// Client CPU per 1,000 simple uploads to the Cloud Storage emulator: the gcs strategy's lean
// JSON API path against its SDK path (`file.save`), each in a process of its own, alternating.
// The emulator is slow and runs beside us: compare CPU, not wall time. Needs `npm run build`.
//   node bench/gcs-cpu.mjs [uploads=1000] [runs=3] [concurrency=32] [bytes=5000]
import { spawn, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { timedUploads } from './timed-uploads.mjs'

const self = fileURLToPath(import.meta.url)
const BUCKET = 'collectfasta-test'

async function child(job) {
  const { gcs } = await import('../dist/strategies/gcs.js')
  const previous = process.env.STORAGE_EMULATOR_HOST
  const { Storage } = await import('@google-cloud/storage')
  let storage
  if (job.path === 'lean') {
    // The emulator, as the tests and STORAGE_EMULATOR_HOST users reach it: no credentials.
    process.env.STORAGE_EMULATOR_HOST = job.endpoint
    storage = new Storage({ projectId: BUCKET })
    process.env.STORAGE_EMULATOR_HOST = previous
  } else {
    // A Storage that authenticates keeps the SDK for uploads; a token that needs no network.
    const { OAuth2Client } = await import('google-auth-library')
    const authClient = new OAuth2Client()
    authClient.setCredentials({ access_token: 'bench', expiry_date: Date.now() + 3_600_000 })
    storage = new Storage({ apiEndpoint: job.endpoint, useAuthWithCustomEndpoint: true, authClient, projectId: BUCKET })
  }
  const strategy = gcs({ bucket: BUCKET, prefix: `bench-${job.path}-${Date.now().toString(36)}/`, storage })
  const { cpuMsPerUpload, wallMsPerUpload } = await timedUploads(strategy, strategy.prefix, job)
  // CPU s per 1,000 uploads is ms per upload.
  console.log(JSON.stringify({ path: job.path, cpuPer1000: cpuMsPerUpload, wallPer1000: wallMsPerUpload }))
}

async function main() {
  const [uploads = 1000, runs = 3, concurrency = 32, bytes = 5000] = process.argv.slice(2).map(Number)
  const emulator = spawn(process.execPath, [fileURLToPath(new URL('../test/servers/gcs-server.cjs', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] })
  const endpoint = await new Promise((resolve, reject) => {
    createInterface({ input: emulator.stdout }).on('line', (line) => {
      if (line.startsWith('{')) resolve(JSON.parse(line).endpoint)
    })
    emulator.on('exit', (code) => reject(new Error(`the emulator exited (${code})`)))
  })
  const results = { lean: [], sdk: [] }
  try {
    for (let r = 0; r < runs; r++) {
      for (const path of ['sdk', 'lean']) {
        const job = { path, endpoint, uploads, warmup: 100, concurrency, bytes }
        const out = execFileSync(process.execPath, [self, JSON.stringify(job)], { encoding: 'utf8' })
        const line = JSON.parse(out.trim().split('\n').pop())
        results[path].push(line)
        console.log(`${path.padEnd(4)} run ${r + 1}: ${line.cpuPer1000.toFixed(2)} CPU s / 1,000 uploads, ${line.wallPer1000.toFixed(2)} s wall`)
      }
    }
  } finally {
    emulator.kill('SIGTERM')
  }
  for (const path of ['sdk', 'lean']) {
    const cpu = results[path].map((r) => r.cpuPer1000)
    console.log(`${path}: ${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)} CPU s / 1,000 uploads`)
  }
}

if (process.argv[2]?.startsWith('{')) await child(JSON.parse(process.argv[2]))
else await main()
