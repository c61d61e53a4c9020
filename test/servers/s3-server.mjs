// Starts one local S3 server on a free loopback port, prints `{"endpoint": ...}` on one line,
// and stops when its parent closes stdin or sends SIGTERM.
// Usage: node [--openssl-legacy-provider] s3-server.mjs s3rver|fauxqs BUCKET [BUCKET...]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const [kind, ...buckets] = process.argv.slice(2)
let stop

if (kind === 's3rver') {
  const { default: S3rver } = await import('s3rver')
  const directory = mkdtempSync(join(tmpdir(), 's3rver-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  })
  const { port } = await server.run()
  console.log(JSON.stringify({ endpoint: `http://127.0.0.1:${port}` }))
  stop = async () => {
    await server.close()
    rmSync(directory, { recursive: true, force: true })
  }
} else if (kind === 'fauxqs') {
  const { startFauxqs } = await import('./fauxqs/start.mjs')
  const server = await startFauxqs({ port: 0, logger: false, init: { buckets } })
  console.log(JSON.stringify({ endpoint: `http://127.0.0.1:${server.port}` }))
  stop = () => server.stop()
} else {
  console.error(`unknown server kind ${kind}`)
  process.exit(2)
}

let stopping = false
const shutdown = async () => {
  if (stopping) return
  stopping = true
  await stop().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
process.stdin.on('end', shutdown)
process.stdin.resume()
