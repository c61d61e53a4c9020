import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { collectfasta, deploy } from '../src/index.js'
import type { DeployOptions } from '../src/index.js'
import { writeTree } from './helpers.js'
import { type StoredObject, memory } from './strategies/memory.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
afterEach(() => {
  vi.unstubAllEnvs()
})

function site(files: Record<string, string> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-deploy-'))
  dirs.push(root)
  writeTree(join(root, 'dist'), {
    'index.html': '<script src="/assets/app-1.js"></script>',
    'assets/app-1.js': 'app()',
    'assets/app-1.css': 'body{}',
    'robots.txt': 'User-agent: *',
    ...files,
  })
  const warnings: string[] = []
  const run = (options: Partial<DeployOptions> = {}) =>
    deploy({
      outDir: 'dist',
      root,
      strategy: memory(),
      logger: { info() {}, warn: (m) => void warnings.push(m) },
      ...options,
    })
  return { root, outDir: join(root, 'dist'), cacheFile: join(root, 'node_modules/.cache/vite-plugin-collectfasta/checksums.json'), warnings, run }
}

describe('deploy()', () => {
  it('returns the documented report and writes it to reportFile', async () => {
    const { root, run } = site()
    const report = await run({ reportFile: 'out/deploy.json' })
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(['target', 'dryRun', 'uploaded', 'skipped', 'failed', 'deleted', 'bytesUploaded', 'durationMs', 'requests']),
    )
    expect(report.target).toBe('memory://test/')
    expect(report.uploaded.find((u) => u.key === 'index.html')).toEqual({ key: 'index.html', size: expect.any(Number), reason: 'new' })
    // A hashed asset is stored immutable, and the report says so (CDN hooks skip it).
    expect(report.uploaded.find((u) => u.key.startsWith('assets/'))).toEqual({ key: expect.any(String), size: expect.any(Number), reason: 'new', immutable: true })
    expect(report.bytesUploaded).toBe(report.uploaded.reduce((n, u) => n + u.size, 0))
    // One stat of the deploy manifest (none yet, so no GET), one listing, the mark (the manifest
    // with this deploy pending, before the first file), four files, the manifest committed
    // conditionally (no second stat: the condition is the check), and the release's record. A
    // first deploy replaces no page: it copies none under .collectfasta/kept/.
    expect(report.requests).toEqual({ list: 1, stat: 1, get: 0, upload: 7, delete: 0, copy: 0 })
    expect(report.manifest?.key).toBe('.collectfasta/manifest.json')
    expect(JSON.parse(readFileSync(join(root, 'out/deploy.json'), 'utf8'))).toEqual(report)
  })

  it('a corrupt cache file gives a warning and a correct deploy', async () => {
    const { cacheFile, warnings, run } = site()
    const objects = new Map<string, StoredObject>()
    await run({ strategy: memory({ objects }) })
    writeFileSync(cacheFile, '{"truncated": [')
    const report = await run({ strategy: memory({ objects }) })
    expect(warnings.join('\n')).toMatch(/could not be read .*starting from an empty cache/)
    // The listing confirms every object: nothing is uploaded again, and the cache is whole again.
    expect(report.uploaded).toEqual([])
    expect(report.skipped).toHaveLength(4)
    expect(JSON.parse(readFileSync(cacheFile, 'utf8'))).toBeInstanceOf(Array)
  })

  it('a cache from another format is ignored with a warning, never trusted', async () => {
    const { cacheFile, warnings, run } = site()
    await run()
    writeFileSync(cacheFile, JSON.stringify([{ key: 'memory://test/', value: { format: 99, entries: {} } }]))
    const report = await run()
    expect(warnings.join('\n')).toMatch(/format 99/)
    expect(report.uploaded).toHaveLength(4)
  })

  it('keeps no temporary file next to the cache', async () => {
    const { cacheFile, run } = site()
    await run()
    expect(readdirSync(join(cacheFile, '..'))).toEqual(['checksums.json'])
  })

  it('namespaces the cache by target: a second target is not skipped', async () => {
    const { run } = site()
    const objects = new Map<string, StoredObject>()
    await run({ strategy: memory({ prefix: 'a/', objects }) })
    const other = await run({ strategy: memory({ prefix: 'b/', objects }) })
    expect(other.uploaded).toHaveLength(4)
    const again = await run({ strategy: memory({ prefix: 'a/', objects }) })
    expect(again.requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })
  })

  it('a warm cache never vouches for a storage that lost its objects', async () => {
    const { run } = site()
    await run({ strategy: memory({ prefix: 'a/' }) })
    // Another, empty storage under the same target name: the cache must not skip a thing.
    const fresh = await run({ strategy: memory({ prefix: 'a/' }) })
    expect(fresh.uploaded.map((u) => u.reason)).toEqual(['new', 'new', 'new', 'new'])
  })

  it('forgets files that are no longer deployed', async () => {
    const { outDir, cacheFile, run } = site({ 'assets/old-1.js': 'old' })
    await run()
    expect(readFileSync(cacheFile, 'utf8')).toContain('assets/old-1.js')
    rmSync(join(outDir, 'assets/old-1.js'))
    await run()
    expect(readFileSync(cacheFile, 'utf8')).not.toContain('assets/old-1.js')
  })

  it('force uploads everything; include and exclude filter by path', async () => {
    const { run } = site()
    await run()
    const forced = await run({ force: true })
    expect(forced.uploaded.map((u) => u.reason)).toEqual(['forced', 'forced', 'forced', 'forced'])
    const some = await run({ force: true, include: 'assets/**', exclude: '**/*.css' })
    expect(some.uploaded.map((u) => u.key)).toEqual(['assets/app-1.js'])
  })

  it('COLLECTFASTA_DRY_RUN=1 makes a dry run that writes nothing', async () => {
    vi.stubEnv('COLLECTFASTA_DRY_RUN', '1')
    const { cacheFile, run } = site()
    const strategy = memory()
    const report = await run({ strategy })
    expect(report.dryRun).toBe(true)
    expect(report.uploaded).toHaveLength(4)
    expect(strategy.objects.size).toBe(0)
    expect(existsSync(cacheFile)).toBe(false)
  })

  it('asks stat() only for objects the listing cannot decide', async () => {
    const { run } = site()
    const objects = new Map<string, StoredObject>()
    await run({ strategy: memory({ objects }) })
    const strategy = memory({ objects })
    const list = strategy.list.bind(strategy)
    strategy.list = async function* (ctx) {
      for await (const object of list(ctx)) {
        // Like an S3 multipart ETag: no usable digest in the listing.
        yield object.key.endsWith('.js') ? { key: object.key, needsStat: true } : object
      }
    }
    const report = await run({ strategy, cacheDir: 'cold-cache', manifest: false })
    expect(report.uploaded).toEqual([])
    expect(report.requests).toEqual({ list: 1, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })
    expect(strategy.calls).toEqual(['list', 'stat:assets/app-1.js'])
  })

  it('a cache that cannot vouch starts the listing while the scan still hashes', async () => {
    // The scan hashes the files in path order; zzz.txt comes last. The listing rewrites it: if
    // the listing began only after the scan (one round trip per page after it), the file
    // changed after hashing and its upload fails; begun during the scan, the new bytes deploy.
    const files: Record<string, string> = {}
    for (let i = 0; i < 3000; i++) files[`public/file-${String(i).padStart(4, '0')}.txt`] = `file ${i} `.repeat(100)
    files['zzz.txt'] = 'before'
    const { outDir, run } = site(files)
    const strategy = memory()
    const list = strategy.list.bind(strategy)
    let listed = 0
    strategy.list = (ctx) => {
      listed++
      writeFileSync(join(outDir, 'zzz.txt'), 'after the listing began')
      return list(ctx)
    }
    const report = await run({ strategy })
    expect(listed).toBe(1)
    expect(report.failed).toEqual([])
    expect(new TextDecoder().decode(strategy.objects.get('zzz.txt')?.bytes)).toBe('after the listing began')
  })

  it('does not follow a symbolic link out of outDir', async () => {
    const { root, outDir, warnings, run } = site()
    writeFileSync(join(root, 'secret.env'), 'TOKEN=1')
    symlinkSync(join(root, 'secret.env'), join(outDir, 'leak.env'))
    symlinkSync(join(outDir, 'robots.txt'), join(outDir, 'robots-copy.txt'))
    const report = await run()
    expect(report.uploaded.map((u) => u.key)).not.toContain('leak.env')
    expect(report.uploaded.map((u) => u.key)).toContain('robots-copy.txt')
    expect(warnings.join('\n')).toMatch(/leak\.env.*links outside outDir/)
  })

  it('says clearly when outDir is missing', async () => {
    const { run } = site()
    await expect(run({ outDir: 'nope' })).rejects.toThrow(/output directory .*nope does not exist/)
  })
})

describe('options', () => {
  const strategy = memory()
  it.each([
    [undefined, /Expected `options` to be an object/],
    [{}, /Expected `strategy` to be a strategy such as `filesystem\(\{ dir \}\)`.*got undefined/],
    [{ strategy: { name: 'x', target: 't' } }, /Expected `strategy.upload` to be a function, got undefined/],
    [{ strategy, concurrency: 0 }, /Expected `concurrency` to be an integer ≥ 1, got number 0/],
    [{ strategy, concurrency: 2.5 }, /Expected `concurrency` to be an integer ≥ 1, got number 2.5/],
    [{ strategy, dryRun: 'yes' }, /Expected `dryRun` to be a boolean, got the string "yes"/],
    [{ strategy, source: 'disk' }, /Expected `source` to be 'bundle' or 'outDir', got the string "disk"/],
    [{ strategy, include: [] }, /Expected `include` to be a glob or a non-empty array of globs/],
    [{ strategy, headers: [{ cacheControl: 'x' }] }, /Expected `headers\[0\].match` to be a glob/],
    [{ strategy, headers: [{ match: '*', metadata: { n: 1 } }] }, /Expected `headers\[0\].metadata` to be an object of string values/],
    [{ strategy, cacheDir: '' }, /Expected `cacheDir` to be a non-empty string/],
  ])('collectfasta(%j) throws a TypeError naming the option', (options, message) => {
    expect(() => collectfasta(options as never)).toThrow(TypeError)
    expect(() => collectfasta(options as never)).toThrow(message)
  })

  it('COLLECTFASTA_ENABLED=false turns the plugin off', () => {
    vi.stubEnv('COLLECTFASTA_ENABLED', 'false')
    const off = collectfasta({ strategy })
    expect(Object.keys(off)).toEqual(['name', 'api']) // no hook: only its name and its options for the CLI
    vi.stubEnv('COLLECTFASTA_ENABLED', '0')
    expect(collectfasta({ strategy }).writeBundle).toBeUndefined()
    vi.stubEnv('COLLECTFASTA_ENABLED', '1')
    expect(collectfasta({ strategy }).writeBundle).toBeDefined()
    expect(collectfasta({ strategy, enabled: false }).writeBundle).toBeUndefined()
  })
})

describe('a long upload', () => {
  it('saves the cache while it runs (every 500 confirmations), so a kill keeps what was confirmed', async () => {
    const tree: Record<string, string> = {}
    for (let i = 0; i < 700; i++) tree[`assets/f-${String(i).padStart(3, '0')}.js`] = `f(${i})`
    const { cacheFile, run } = site(tree)
    const strategy = memory()
    const upload = strategy.upload.bind(strategy)
    let onDiskMidway = 0
    strategy.upload = async (file, ctx) => {
      // The 650th upload: the process could be killed now. What does the cache file hold?
      if (strategy.calls.filter((c) => c.startsWith('upload:')).length === 650) {
        await new Promise((resolve) => setTimeout(resolve, 50)) // let the checkpoint's save finish
        const [target] = JSON.parse(readFileSync(cacheFile, 'utf8')) as { value: { entries: Record<string, unknown> } }[]
        onDiskMidway = Object.keys(target?.value.entries ?? {}).length
      }
      return upload(file, ctx)
    }
    await run({ strategy, concurrency: 1 })
    expect(onDiskMidway).toBeGreaterThanOrEqual(500)
  })
})
