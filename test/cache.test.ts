import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { ChecksumCache, type CacheRecord } from '../src/core/cache.js'
import { deploy } from '../src/index.js'
import { writeTree } from './helpers.js'
import { memory } from './strategies/memory.js'

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

describe('the checksum cache file, written by hand', () => {
  it('an unreadable cache is never written over by a dry run (nor by loading it)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'collectfasta-cache-dry-'))
    dirs.push(root)
    writeTree(join(root, 'dist'), { 'index.html': 'hi' })
    const dir = join(root, 'cache')
    mkdirSync(dir)
    writeFileSync(join(dir, 'checksums.json'), '{ not json')
    const warnings: string[] = []
    await deploy({ outDir: 'dist', root, strategy: memory(), cacheDir: 'cache', dryRun: true, logger: { info() {}, warn: (m) => void warnings.push(m) } })
    expect(warnings.some((w) => /checksums\.json could not be read/.test(w))).toBe(true)
    expect(readFileSync(join(dir, 'checksums.json'), 'utf8')).toBe('{ not json')
  })

  it('150 saves add no listener anywhere: no MaxListenersExceededWarning', async () => {
    const dir = cacheDir()
    const warnings: string[] = []
    const onWarning = (w: Error) => void warnings.push(w.name)
    process.on('warning', onWarning)
    try {
      const cache = ChecksumCache.load(dir, 't', warn)
      for (let i = 0; i < 150; i++) {
        cache.set(`k${i}`, record(i))
        await cache.save()
      }
      await new Promise((done) => setImmediate(done)) // warnings are emitted on the next tick
      expect(ChecksumCache.load(dir, 't', warn).size).toBe(150)
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings).toEqual([])
  })

  it('reads the file earlier versions wrote, writes the same shape, and leaves no temporary file', async () => {
    const dir = cacheDir()
    const earlier = [{ key: 'other', value: { format: 2, revision: 3, entries: { x: record(9) } } }, { key: 't', value: { format: 2, revision: 1, manifestVersion: 'm1', entries: { a: record(1) } } }]
    writeFileSync(join(dir, 'checksums.json'), JSON.stringify(earlier))
    const cache = ChecksumCache.load(dir, 't', warn)
    expect(cache.get('a')).toEqual(record(1))
    expect(cache.manifestVersion).toBe('m1')
    cache.set('b', record(2))
    await cache.save()
    const written = JSON.parse(readFileSync(join(dir, 'checksums.json'), 'utf8'))
    expect(written).toEqual([earlier[0], { key: 't', value: { format: 2, revision: 2, manifestVersion: 'm1', entries: { a: record(1), b: record(2) } } }])
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('a large cache, written a piece at a time, is the text JSON.stringify makes of the arrays', async () => {
    const dir = cacheDir()
    const cache = ChecksumCache.load(dir, 't', warn)
    const entries: Record<string, CacheRecord> = {}
    for (let i = 0; i < 5000; i++) {
      entries[`assets/fïle-${i}.js`] = record(i)
      cache.set(`assets/fïle-${i}.js`, record(i))
    }
    await cache.save()
    expect(readFileSync(join(dir, 'checksums.json'), 'utf8')).toBe(JSON.stringify([{ key: 't', value: { format: 2, revision: 1, entries } }]))
    expect(ChecksumCache.load(dir, 't', warn).get('assets/fïle-4999.js')).toEqual(record(4999))
  })

  it('flat-cache is no longer a dependency', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    expect(Object.keys(pkg.dependencies)).not.toContain('flat-cache')
  })
})
