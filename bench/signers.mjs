// Which SigV4 signer the S3 transport uses, by measurement: N PUTs of 5 kB at concurrency 64
// through one undici Pool straight to a local S3 server (fauxqs by default), signed by aws4 or by
// @smithy/signature-v4, each body's MD5 and SHA-256 computed as the transport does. Prints the
// client CPU per 1,000 PUTs and the wall time, per signer, alternating runs.
//   node bench/signers.mjs [--runs 3] [--count 3000] [--server fauxqs|s3rver]
import { spawn } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { SignatureV4 } from '@smithy/signature-v4'
import aws4 from 'aws4'
import { Pool } from 'undici'
import { nodeAtLeast } from '../test/servers/runtimes.mjs'

const args = process.argv.slice(2)
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback)
const RUNS = Number(option('runs', 3))
const COUNT = Number(option('count', 3000))
const SERVER = option('server', 'fauxqs')
const BUCKET = 'collectfasta-bench'
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

const script = fileURLToPath(new URL('../test/servers/s3-server.mjs', import.meta.url))
const [node, flags] = SERVER === 's3rver' ? [process.execPath, ['--openssl-legacy-provider']] : [nodeAtLeast([22, 5], 'fauxqs'), []]
const child = spawn(node, [...flags, script, SERVER, BUCKET], { stdio: ['pipe', 'pipe', 'inherit'] })
const endpoint = new URL(await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', (l) => resolve(JSON.parse(l).endpoint))))

// @smithy/signature-v4 wants a hash constructor (an HMAC when given a secret): node:crypto, as the SDK's hash-node does.
class NodeHash {
  constructor(secret) {
    this.h = secret ? createHmac('sha256', secret) : createHash('sha256')
  }
  update(data) {
    this.h.update(data)
  }
  async digest() {
    return new Uint8Array(this.h.digest())
  }
}

const smithy = new SignatureV4({ service: 's3', region: 'us-east-1', credentials, sha256: NodeHash, uriEscapePath: false, applyChecksum: false })

const signers = {
  aws4: async (method, path, headers) => aws4.sign({ host: endpoint.host, path, method, headers, service: 's3', region: 'us-east-1' }, credentials).headers,
  'smithy/signature-v4': async (method, path, headers) =>
    (await smithy.sign({ method, protocol: endpoint.protocol, hostname: endpoint.hostname, port: Number(endpoint.port), path, query: {}, headers: { ...headers, host: endpoint.host } })).headers,
}

async function run(name) {
  const sign = signers[name]
  const pool = new Pool(endpoint.origin, { connections: 64 })
  const prefix = `signers-${name.replace('/', '-')}-${Date.now().toString(36)}/`
  const started = performance.now()
  const cpu = process.cpuUsage()
  let next = 0
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < COUNT) {
        const i = next++
        const body = Buffer.alloc(5000, i & 0xff)
        const path = `/${BUCKET}/${prefix}${i}.txt`
        const headers = {
          'content-type': 'text/plain',
          'content-md5': createHash('md5').update(body).digest('base64'),
          'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
        }
        const answer = await pool.request({ method: 'PUT', path, headers: await sign('PUT', path, headers), body })
        await answer.body.dump()
        if (answer.statusCode !== 200) throw new Error(`${name}: HTTP ${answer.statusCode}`)
      }
    }),
  )
  const used = process.cpuUsage(cpu)
  const wall = performance.now() - started
  await pool.close()
  return { cpuPer1000: (used.user + used.system) / 1e6 / (COUNT / 1000), wall: wall / 1000 }
}

/** The signer alone: µs per signature over 20,000 PUT heads (no I/O), after a warm-up. */
async function signOnly(name) {
  const sign = signers[name]
  const headers = { 'content-type': 'text/plain', 'content-md5': 'AAAAAAAAAAAAAAAAAAAAAA==', 'x-amz-content-sha256': createHash('sha256').digest('hex') }
  for (let i = 0; i < 2000; i++) await sign('PUT', `/${BUCKET}/warm/${i}.txt`, { ...headers })
  const cpu = process.cpuUsage()
  for (let i = 0; i < 20_000; i++) await sign('PUT', `/${BUCKET}/assets/chunk-${i}.js`, { ...headers })
  const used = process.cpuUsage(cpu)
  return (used.user + used.system) / 20_000
}
for (const name of Object.keys(signers)) console.log(`${name}: ${(await signOnly(name)).toFixed(1)} µs of CPU per signature (signing only)`)

const results = Object.fromEntries(Object.keys(signers).map((name) => [name, []]))
for (let r = 0; r < RUNS; r++) for (const name of Object.keys(signers)) results[name].push(await run(name))
child.kill('SIGTERM')
for (const [name, samples] of Object.entries(results)) {
  const cpu = samples.map((s) => s.cpuPer1000.toFixed(2)).join(', ')
  const wall = samples.map((s) => s.wall.toFixed(2)).join(', ')
  console.log(`${name}: CPU s / 1,000 PUTs ${cpu}; wall s ${wall}`)
}
