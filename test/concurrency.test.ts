import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { DEFAULTS } from '../src/defaults.js'
import { deploy } from '../src/index.js'
import { silent } from './helpers.js'
import { recordingProxy } from './servers/proxy.mjs'
import { localS3 } from './strategies/s3-servers.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** `count` small files, each different. */
function site(count: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'collectfasta-concurrency-'))
  dirs.push(dir)
  mkdirSync(join(dir, 'dist/assets'), { recursive: true })
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `dist/assets/chunk-${i}.js`), `export const n = ${i}\n`)
  return dir
}

describe('uploads in flight on S3, at a 40 ms round trip', () => {
  it('the default concurrency is 64, and 64 uploads are in flight at once (the SDK alone queues past 50 sockets)', async () => {
    expect(DEFAULTS.concurrency).toBe(64)
    const dir = site(400)
    const proxy = await recordingProxy(inject('fauxqsEndpoint'), { oneWayMs: 20 })
    try {
      const report = await deploy({
        outDir: join(dir, 'dist'),
        root: dir,
        strategy: localS3(proxy.url, `inflight-${Date.now().toString(36)}/`),
        cacheDir: join(dir, 'cache'),
        logger: silent,
        progress: false,
      })
      expect(report.failed).toEqual([])
      expect(report.uploaded.length).toBe(400)
      const puts = proxy.requests.filter((r) => r.kind === 'PUT')
      expect(puts.length).toBeGreaterThanOrEqual(400)
      const peak = Math.max(...puts.map((r) => r.inFlight))
      expect(peak).toBeGreaterThan(50)
      expect(peak).toBeLessThanOrEqual(64)
    } finally {
      await proxy.close()
    }
  })
})
