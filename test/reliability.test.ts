import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type DeployReport, deploy } from '../src/index.js'
import { runPool } from '../src/pool.js'
import { gcs } from '../src/strategies/gcs.js'
import { snapshot } from './app.js'
import { writeTree } from './helpers.js'
import { type ProxyOptions, recordingProxy } from './servers/proxy.mjs'
import { GCS_BUCKET, emulatorStorage, readBackGcs } from './strategies/gcs-emulator.js'
import type { ReadBack } from './strategies/contract.js'
import { localS3, readBackS3 } from './strategies/s3-servers.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A site of 1,000+ files: hashed chunks, a public folder and two HTML pages. */
function site(files = 1040) {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-faults-'))
  dirs.push(root)
  const tree: Record<string, string> = { 'index.html': '<script src="/assets/c-0.js"></script>', 'about/index.html': '<h1>about</h1>' }
  for (let i = 0; i < files; i++) tree[i % 3 ? `assets/c-${i}.js` : `static/f-${i}.txt`] = `content ${i} `.repeat(1 + (i % 40))
  writeTree(join(root, 'dist'), tree)
  return { root, outDir: join(root, 'dist') }
}

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', txt: 'text/plain; charset=utf-8', html: 'text/html; charset=utf-8' }

/** Paths whose stored bytes or Content-Type are not the local ones, read by a separate client. */
async function wrongOrMissing(outDir: string, prefix: string, readBack: (key: string) => Promise<ReadBack | undefined>) {
  const bad: string[] = []
  await runPool([...snapshot(outDir)], async ([path, bytes]) => {
    const stored = await readBack(prefix + path)
    const type = TYPES[path.split('.').at(-1)!]
    if (!stored || !Buffer.from(stored.bytes).equals(bytes) || stored.headers?.contentType !== type) bad.push(path)
  }, { limit: 16 })
  return bad.sort()
}

interface Backend {
  name: string
  strategy(endpoint: string, prefix: string): ReturnType<typeof localS3>
  endpoint(): string
  readBack(key: string): Promise<ReadBack | undefined>
}

const fauxqs: Backend = {
  name: 's3 on fauxqs',
  // Short timeouts so that stalled requests are given up quickly.
  strategy: (endpoint, prefix) => localS3(endpoint, prefix, { timeout: 1500, requestTimeout: 1500, maxAttempts: 3 }),
  endpoint: () => inject('fauxqsEndpoint'),
  readBack: (key) => readBackS3(inject('fauxqsEndpoint'), key),
}
const gcsEmulator: Backend = {
  name: 'gcs on the emulator',
  strategy: (endpoint, prefix) => gcs({ bucket: GCS_BUCKET, prefix, storage: emulatorStorage(endpoint) }),
  endpoint: () => inject('gcsEndpoint'),
  readBack: readBackGcs,
}

const MIXES: [string, Backend, ProxyOptions['rates']][] = [
  ['500s and SlowDown', fauxqs, { error500: 0.03, slowDown: 0.03 }],
  ['connections reset mid-request and mid-response', fauxqs, { resetRequest: 0.02, resetResponse: 0.02 }],
  ['stalls past the timeout and truncated answers', fauxqs, { stall: 0.004, truncate: 0.02 }],
  ['503s and resets', gcsEmulator, { slowDown: 0.03, resetResponse: 0.01 }],
]

let prefixes = 0

describe.each(MIXES)('faults: %s (%s)', (_mix, backend, rates) => {
  // A stalled request is held for 2 minutes: only the client's timeout gets the deploy past it
  // within the test's time limit.
  it('either deploys everything correctly or names what it could not store; the next runs repair exactly that', async () => {
    const { root, outDir } = site()
    prefixes++
    const prefix = `faults-${process.pid}-${Date.now().toString(36)}-${prefixes}/`
    // Besides the random faults (mostly absorbed by the SDKs' retries), one hashed chunk fails on
    // every attempt: the first deploy must fail, and say so.
    const failPaths = new RegExp(`${prefix}assets/c-4\\.js`)
    const proxy = await recordingProxy(backend.endpoint(), { seed: 1000 + prefixes, rates, maxFaults: 150, stallMs: 120_000, failPaths })
    const run = () =>
      deploy({ outDir, root, strategy: backend.strategy(proxy.url, prefix), logger: { info() {}, warn() {} } }).catch(
        (error: Error & { report?: DeployReport }) => {
          if (!error.report) throw error
          return error.report
        },
      )
    try {
      const first = await run()
      expect(proxy.faults.count).toBeGreaterThan(0)
      expect(first.failed.map((f) => f.key)).toContain(`${prefix}assets/c-4.js`)
      const bad = await wrongOrMissing(outDir, prefix, backend.readBack)
      expect(bad).toContain('assets/c-4.js')
      const reported = new Set([...first.failed.map((f) => f.key), ...first.pending])
      // Every key is stored correctly, or it is reported.
      for (const path of bad) expect(reported, path).toContain(prefix + path)
      // HTML is never uploaded while an asset failed: both pages are held back, not stored.
      expect(first.pending).toEqual(expect.arrayContaining([`${prefix}index.html`, `${prefix}about/index.html`]))
      expect(bad).toEqual(expect.arrayContaining(['index.html', 'about/index.html']))

      proxy.setFaults(false)
      const second = await run()
      expect(second.failed).toEqual([])
      expect(second.uploaded.map((u) => u.key.slice(prefix.length)).sort()).toEqual(bad)
      expect(await wrongOrMissing(outDir, prefix, backend.readBack)).toEqual([])
      const third = await run()
      expect(third.uploaded).toEqual([])
      expect(third.requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })
    } finally {
      await proxy.close()
    }
  })
})

describe('throttling', () => {
  it('obeys a storage that answers SlowDown: fewer requests in flight, and the deploy completes', async () => {
    const { root, outDir } = site(400)
    // 20 ms of latency per request, so that 16 uploads really are in flight at once.
    const proxy = await recordingProxy(inject('fauxqsEndpoint'), { throttleAbove: 4, latencyMs: 20 })
    try {
      // One attempt per request, so that every SlowDown reaches the deploy rather than the SDK.
      const strategy = localS3(proxy.url, `throttle-${Date.now().toString(36)}/`, { maxAttempts: 1 })
      const report = await deploy({ outDir, root, strategy, concurrency: 16, logger: { info() {}, warn() {} } })
      expect(report.failed).toEqual([])
      expect(report.uploaded).toHaveLength(402)
      expect(proxy.faults.byKind.slowDown).toBeGreaterThan(0)
      const puts = proxy.requests.filter((r) => r.kind === 'PUT')
      const early = Math.max(...puts.slice(0, 40).map((r) => r.inFlight))
      const late = Math.max(...puts.slice(Math.floor(puts.length / 2)).map((r) => r.inFlight))
      expect(early).toBeGreaterThan(8)
      expect(late).toBeLessThanOrEqual(8)
    } finally {
      await proxy.close()
    }
  })
})
