import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { ChecksumCache, type CacheRecord } from '../src/core/cache.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
afterEach(() => {
  vi.restoreAllMocks()
})

const warn = () => {}
const record = (n: number): CacheRecord => [`x${n}`, 'h', n, '', `v${n}`]

function cacheDir() {
  const dir = mkdtempSync(join(tmpdir(), 'collectfasta-cache-'))
  dirs.push(dir)
  return dir
}

describe('the checksum cache file', () => {
  it('a save after its own save re-reads nothing; a save after another process wrote merges what that one wrote', async () => {
    const dir = cacheDir()
    const a = ChecksumCache.load(dir, 's3://a/', warn)
    a.set('one', record(1))
    await a.save()

    const parse = vi.spyOn(JSON, 'parse')
    // Parses of the cache file (the lock's retries and source maps parse JSON too).
    const cacheParses = () => parse.mock.calls.filter(([text]) => String(text).includes('s3://a/')).length
    a.set('two', record(2))
    await a.save() // nobody wrote since: the file is what this process left
    expect(cacheParses()).toBe(0)

    // Another process (another target, then the same one) writes in between.
    const b = ChecksumCache.load(dir, 's3://b/', warn)
    b.set('other', record(9))
    await b.save()
    const c = ChecksumCache.load(dir, 's3://a/', warn)
    c.set('three', record(3))
    await c.save()
    parse.mockClear()
    a.set('four', record(4))
    await a.save()
    expect(cacheParses()).toBe(1) // the stamp changed: read again and merged

    const again = ChecksumCache.load(dir, 's3://a/', warn)
    for (const [key, n] of [['one', 1], ['two', 2], ['three', 3], ['four', 4]] as const) expect(again.get(key)).toEqual(record(n))
    expect(ChecksumCache.load(dir, 's3://b/', warn).get('other')).toEqual(record(9))
  })

  it('a manifest version is dropped when another process saved the same target in between', async () => {
    const dir = cacheDir()
    const a = ChecksumCache.load(dir, 's3://a/', warn)
    const b = ChecksumCache.load(dir, 's3://a/', warn)
    a.manifestVersion = 'm1'
    await a.save()
    b.set('one', record(1))
    await b.save()
    a.set('two', record(2))
    await a.save()
    const again = ChecksumCache.load(dir, 's3://a/', warn)
    expect(again.manifestVersion).toBeUndefined()
    expect(again.get('one')).toEqual(record(1))
    expect(again.get('two')).toEqual(record(2))
  })
})
