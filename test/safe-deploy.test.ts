import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { join, relative, sep } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DeployReport } from '../src/index.js'
import { type Backend, backends, project } from './backends.js'
import { writeTree } from './helpers.js'

describe.each(backends)('remote deploy manifest on $name', (backend) => {
  it('a cold cache with the manifest catches header changes and drift, and uploads nothing else', async () => {
    const p = project(backend)
    p.version(1)
    await p.run()
    expect(await backend.keys(p.manifest)).toEqual([p.manifest])

    // Drift: an object deleted behind our back. A header rule changed. A fresh CI machine (cold cache).
    await backend.remove(`${p.prefix}robots.txt`)
    const report = await p.run({ cacheDir: 'cold-1', headers: [{ match: 'assets/vendor-*.js', cacheControl: 'public, max-age=60' }] })
    expect(report.plan).toHaveLength(2)
    expect(report.plan).toEqual(
      expect.arrayContaining([
        { key: `${p.prefix}assets/vendor-1.js`, action: 'upload', reason: 'headers' },
        { key: `${p.prefix}robots.txt`, action: 'upload', reason: 'missing' },
      ]),
    )
    // No HEAD per file: the one stat is the deploy manifest's, at the start (its rewrites are
    // conditional). vendor-1.js's live content is copied to .collectfasta/kept/ before it is
    // replaced under other headers (for rollback; robots.txt was missing: nothing to keep); on S3
    // and Azure that copy HEADs its source.
    const headsPerCopy = backend.name.startsWith('s3') || backend.name.startsWith('azure') ? 1 : 0
    expect(report.requests).toMatchObject({ list: 1, get: 1, copy: 1, stat: 1 + headsPerCopy })
    expect(await p.stored()).toContain('robots.txt')
    if (backend.name !== 'filesystem') expect(await backend.cacheControl(`${p.prefix}assets/vendor-1.js`)).toBe('public, max-age=60')
  })

  it('trustRemoteManifest decides from the manifest alone: one GET, no listing', async () => {
    const p = project(backend)
    p.version(1)
    await p.run()
    const report = await p.run({ cacheDir: 'cold-2', trustRemoteManifest: true })
    expect(report.uploaded).toEqual([])
    expect(report.requests).toEqual({ list: 0, stat: 1, get: 1, upload: 0, delete: 0, copy: 0 })
    // The manifest records each file's header fingerprint: a changed rule is seen without a listing.
    const rules = await p.run({ cacheDir: 'cold-3', trustRemoteManifest: true, headers: [{ match: 'robots.txt', cacheControl: 'public, max-age=60' }] })
    expect(rules.plan).toEqual([{ key: `${p.prefix}robots.txt`, action: 'upload', reason: 'headers' }])
    expect(rules.requests.list).toBe(0)
  })

  it('a no-change deploy writes nothing, not even the manifest', async () => {
    const p = project(backend)
    p.version(1)
    await p.run()
    const report = await p.run()
    // The one cheap question: is the deploy manifest still the one this cache wrote?
    expect(report.requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })
    expect(report.manifest).toBeUndefined()
  })

  it('an unreadable manifest falls back to the listing with a warning', async () => {
    const p = project(backend)
    p.version(1)
    await p.run()
    await backend.put(p.manifest, '{ not json')
    const report = await p.run({ cacheDir: 'cold-3' })
    expect(p.warnings.join('\n')).toMatch(/The deploy manifest .*manifest\.json cannot be used: .*Checking the storage by listing it instead/)
    expect(report.uploaded).toEqual([])
    expect(report.requests.list).toBe(1)
  })

  it('manifest: false writes none', async () => {
    const p = project(backend)
    p.version(1)
    const report = await p.run({ manifest: false })
    expect(await backend.keys(p.manifest)).toEqual([])
    expect(report.requests.get).toBe(0)
  })
})

describe.each(backends)('prune on $name', (backend) => {
  it('keeps the files of the last keepDeploys deploys and deletes older ones', async () => {
    const p = project(backend)
    for (const v of [1, 2, 3]) {
      p.version(v)
      expect((await p.run({ prune: { keepDeploys: 3 } })).deleted).toEqual([])
    }
    expect(await p.stored()).toEqual(['assets/app-v1.js', 'assets/app-v2.js', 'assets/app-v3.js', 'assets/vendor-1.js', 'index.html', 'robots.txt'])
    p.version(4)
    const fourth = await p.run({ prune: { keepDeploys: 3 } })
    expect(fourth.deleted).toEqual([`${p.prefix}assets/app-v1.js`])
    expect(fourth.plan).toContainEqual({ key: `${p.prefix}assets/app-v1.js`, action: 'delete', reason: 'stale' })
    expect(await p.stored()).toEqual(['assets/app-v2.js', 'assets/app-v3.js', 'assets/app-v4.js', 'assets/vendor-1.js', 'index.html', 'robots.txt'])
  })

  it('a dry run reports what it would delete, and deletes nothing', async () => {
    const p = project(backend)
    for (const v of [1, 2]) {
      p.version(v)
      await p.run({ prune: { keepDeploys: 1 } })
    }
    p.version(3)
    const before = await p.stored()
    const dry = await p.run({ prune: { keepDeploys: 1 }, dryRun: true })
    expect(dry.deleted).toEqual([`${p.prefix}assets/app-v2.js`])
    expect(dry.plan).toHaveLength(3)
    expect(dry.plan).toEqual(
      expect.arrayContaining([
        { key: `${p.prefix}assets/app-v3.js`, action: 'upload', reason: 'new' },
        { key: `${p.prefix}index.html`, action: 'upload', reason: 'changed' },
        { key: `${p.prefix}assets/app-v2.js`, action: 'delete', reason: 'stale' },
      ]),
    )
    expect(p.infos.join('\n')).toMatch(/would delete .*assets\/app-v2\.js \(not in the recent deploys/)
    expect(p.infos.join('\n')).toMatch(/would upload .*index\.html \(content changed\)/)
    expect(await p.stored()).toEqual(before)
  })

  it('refuses above maxDeletes, explains, and forgets nothing', async () => {
    const p = project(backend)
    p.version(1, { 'assets/a-1.js': 'a', 'assets/b-1.js': 'b' })
    await p.run({ prune: { keepDeploys: 1 } })
    p.version(2)
    const refused = await p.run({ prune: { keepDeploys: 1, maxDeletes: 2 } })
    expect(refused.deleted).toEqual([])
    expect(refused.pruneRefused).toMatch(/3 stale objects exceed prune.maxDeletes \(2\)/)
    expect(p.warnings.join('\n')).toMatch(/raise maxDeletes/)
    p.version(3)
    const allowed = await p.run({ prune: { keepDeploys: 1, maxDeletes: 10 } })
    expect(allowed.deleted.sort()).toEqual(['assets/a-1.js', 'assets/app-v1.js', 'assets/app-v2.js', 'assets/b-1.js'].map((k) => p.prefix + k))
    expect(await p.stored()).toEqual(['assets/app-v3.js', 'assets/vendor-1.js', 'index.html', 'robots.txt'])
  })

  it('refuses to prune after a build that looks broken; the deploy itself goes through', async () => {
    const p = project(backend)
    const pages = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`page-${i}.html`, `<p>${i}</p>`]))
    p.version(1, pages)
    await p.run({ prune: { keepDeploys: 1 } })
    p.version(2) // a failed step left 4 of the 16 files
    const broken = await p.run({ prune: { keepDeploys: 1 } })
    expect(broken.uploaded.length).toBeGreaterThan(0)
    expect(broken.pruneRefused).toMatch(/^this deploy has 4 file\(s\), fewer than 50% of the 16 of the largest full deploy kept: .* nothing was deleted \(13 stale object\(s\) kept\)/)
    expect(broken.deleted).toEqual([])
    expect(await p.stored()).toEqual(expect.arrayContaining(['assets/app-v1.js', 'page-0.html', 'page-11.html']))
  })

  it('deletes nothing when an upload failed', async () => {
    const p = project(backend)
    p.version(1)
    await p.run({ prune: { keepDeploys: 1 } })
    p.version(2)
    const failing = p.failingStrategy((key) => key.endsWith('app-v2.js'))
    await expect(p.run({ prune: { keepDeploys: 1 }, strategy: failing.strategy })).rejects.toThrow(/app-v2\.js/)
    expect(failing.deletes).toEqual([])
    expect(await p.stored()).toContain('assets/app-v1.js')
    expect(await p.stored()).not.toContain('assets/app-v2.js')
  })

  it('leaves objects no deploy wrote, unless prune.unknown; never touches keys outside the prefix', async () => {
    const p = project(backend)
    const outside = `${p.prefix.slice(0, -1)}-other/app.js`
    await backend.put(`${p.prefix}uploads/user.png`, 'u')
    await backend.put(outside, 'o')
    p.version(1)
    await p.run({ prune: true })
    p.version(2)
    await p.run({ prune: true })
    expect(await p.stored()).toContain('uploads/user.png')
    p.version(3)
    const report = await p.run({ prune: { unknown: true } })
    expect(report.plan).toContainEqual({ key: `${p.prefix}uploads/user.png`, action: 'delete', reason: 'unknown' })
    expect(await p.stored()).not.toContain('uploads/user.png')
    expect(await backend.keys(outside)).toEqual([outside])
    expect(await backend.keys(p.manifest)).toEqual([p.manifest])
  })
})

describe.each(backends)('compress on $name', (backend) => {
  const decode = (bytes: Uint8Array, encoding: string | undefined) =>
    encoding === 'br' ? brotliDecompressSync(bytes) : encoding === 'gzip' ? gunzipSync(bytes) : Buffer.from(bytes)

  it('stores compressed bytes that decode to the original, and a second deploy uploads nothing', async () => {
    const p = project(backend)
    const big = `${'export const table = ['.padEnd(40, ' ')}${Array.from({ length: 400 }, (_, i) => i * 7).join(',')}]\n`
    p.version(1, { 'assets/big-1.js': big, 'assets/logo-1.png': 'x'.repeat(4000) })
    const first = await p.run({ compress: true })
    const siblings = backend.name === 'filesystem'
    const js = await backend.read(`${p.prefix}assets/big-1.js`)
    if (siblings) {
      // Web-server directory: the original stays, .br and .gz siblings beside it.
      expect(Buffer.from(js!.bytes).toString()).toBe(big)
      expect(decode((await backend.read(`${p.prefix}assets/big-1.js.br`))!.bytes, 'br').toString()).toBe(big)
      expect(decode((await backend.read(`${p.prefix}assets/big-1.js.gz`))!.bytes, 'gzip').toString()).toBe(big)
    } else {
      // In place, gzip: the encoding every client reads (brotli in place only when asked for).
      expect(js?.contentEncoding).toBe('gzip')
      expect(js!.bytes.byteLength).toBeLessThan(big.length / 2)
      expect(decode(js!.bytes, js?.contentEncoding).toString()).toBe(big)
    }
    // Not compressed: small files (below minSize) and formats that are compressed already.
    expect((await backend.read(`${p.prefix}robots.txt`))?.contentEncoding).toBeUndefined()
    expect((await backend.read(`${p.prefix}assets/logo-1.png`))?.contentEncoding).toBeUndefined()
    expect(await p.stored()).not.toContain('assets/logo-1.png.br')
    const reported = first.uploaded.find((u) => u.key.endsWith(siblings ? 'big-1.js.br' : 'big-1.js'))
    expect(reported!.size).toBeLessThan(big.length / 2) // the report counts the bytes actually sent

    const second = await p.run({ compress: true })
    expect(second.uploaded).toEqual([])
    expect(second.requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })

    // Compression is deterministic: a cold cache finds the same compressed bytes stored.
    const cold = await p.run({ compress: true, cacheDir: 'cold-compress', manifest: false })
    expect(cold.uploaded).toEqual([]) // siblings too: a cold no-change deploy to a directory writes nothing
    expect(cold.requests.stat).toBe(0)

    // Turning compression off re-uploads exactly the compressed files, plainly (on a filesystem
    // the originals were plain already; the siblings are left for prune).
    const plain = await p.run()
    expect(plain.uploaded.map((u) => u.key)).toEqual(siblings ? [] : [`${p.prefix}assets/big-1.js`])
  })
})

describe('onDeployed', () => {
  const backend = backends[0]!
  it('runs after a successful deploy with the report, never on a dry run', async () => {
    const p = project(backend)
    p.version(1)
    const seen: DeployReport[] = []
    await p.run({ dryRun: true, onDeployed: (r) => void seen.push(r) })
    expect(seen).toEqual([])
    const report = await p.run({ onDeployed: (r) => void seen.push(r) })
    expect(seen).toEqual([report])
    await expect(p.run({ force: true, onDeployed: () => Promise.reject(new Error('CDN down')) })).rejects.toThrow(
      /The deploy succeeded, but `onDeployed` failed: CDN down/,
    )
  })
})

/** Paths of `dist` whose stored bytes differ from the local ones, read by a separate client. */
async function differing(backend: Backend, prefix: string, dist: string): Promise<string[]> {
  const wrong: string[] = []
  const local = readdirSync(dist, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())
  expect(local.length).toBeGreaterThan(0)
  for (const dirent of local) {
    const path = relative(dist, join(dirent.parentPath, dirent.name)).split(sep).join('/')
    const stored = await backend.read(prefix + path)
    if (!stored || !Buffer.from(stored.bytes).equals(readFileSync(join(dist, path)))) wrong.push(path)
  }
  return wrong.sort()
}

describe.each(backends)('the storage is the truth, not the cache, on $name', (backend) => {
  it('a rollback with an older runner’s cache uploads exactly what differs, then one question', async () => {
    const p = project(backend)
    p.version(1, { 'robots.txt': 'site A' })
    await p.run({ cacheDir: 'runner-1' })
    p.version(2, { 'robots.txt': 'site B' }) // same names, other bytes, from another runner
    await p.run({ cacheDir: 'runner-2' })
    p.version(1, { 'robots.txt': 'site A' })
    const back = await p.run({ cacheDir: 'runner-1' })
    expect(back.uploaded.map((u) => u.key.slice(p.prefix.length)).sort()).toEqual(['index.html', 'robots.txt'])
    expect(await differing(backend, p.prefix, join(p.root, 'dist'))).toEqual([])
    const again = await p.run({ cacheDir: 'runner-1' })
    expect(again.requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })
  })

  it('objects another deployer pruned are uploaded again, never reported unchanged', async () => {
    const p = project(backend)
    p.version(1)
    await p.run({ cacheDir: 'runner-1' })
    p.version(2)
    rmSync(join(p.root, 'dist/robots.txt'))
    const other = await p.run({ cacheDir: 'runner-2', prune: { keepDeploys: 1 } })
    expect(other.deleted.map((k) => k.slice(p.prefix.length)).sort()).toEqual(['assets/app-v1.js', 'robots.txt'])
    p.version(1)
    const back = await p.run({ cacheDir: 'runner-1' })
    expect(back.uploaded.map((u) => u.key.slice(p.prefix.length)).sort()).toEqual(['assets/app-v1.js', 'index.html', 'robots.txt'])
    expect(await differing(backend, p.prefix, join(p.root, 'dist'))).toEqual([])
  })

  it('a file deleted behind a trusted cache is uploaded again when the storage is listed anyway', async () => {
    const p = project(backend)
    p.version(1)
    await p.run()
    await backend.remove(`${p.prefix}robots.txt`) // no deploy: the manifest is unchanged
    p.version(1, { 'new.txt': 'a new file makes the deploy list the storage' })
    const report = await p.run()
    expect(report.requests.list).toBe(1)
    expect(report.plan).toEqual(
      expect.arrayContaining([
        { key: `${p.prefix}robots.txt`, action: 'upload', reason: 'missing' },
        { key: `${p.prefix}new.txt`, action: 'upload', reason: 'new' },
      ]),
    )
    expect(await differing(backend, p.prefix, join(p.root, 'dist'))).toEqual([])
  })

  it('two deploys at once with one cacheDir: the next deploy converges, the one after uploads nothing', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const p = project(backend)
      const files = (site: string) => {
        const tree: Record<string, string> = { 'index.html': `<h1>${site}</h1>` }
        for (let i = 0; i < 30; i++) tree[`shared/${i}.txt`] = `${site} ${i}`
        return tree
      }
      writeTree(join(p.root, 'dist-a'), files('A'))
      writeTree(join(p.root, 'dist-b'), files('B'))
      await Promise.all([p.run({ outDir: 'dist-a' }), p.run({ outDir: 'dist-b' })])
      const next = await p.run({ outDir: 'dist-a' })
      expect(next.failed).toEqual([])
      expect(await differing(backend, p.prefix, join(p.root, 'dist-a'))).toEqual([])
      const after = await p.run({ outDir: 'dist-a' })
      expect(after.uploaded).toEqual([])
    }
  })

  it('two targets sharing one cacheDir in one process keep each other’s entries', async () => {
    const p = project(backend)
    p.version(1)
    const [x, y] = [`${p.prefix}x/`, `${p.prefix}y/`]
    await Promise.all([p.run({ strategy: backend.strategy(x) }), p.run({ strategy: backend.strategy(y) })])
    for (const prefix of [x, y]) {
      const warm = await p.run({ strategy: backend.strategy(prefix) })
      expect(warm.requests, prefix).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })
    }
  })

  it('hotfix deploys with include and prune never delete what the live page uses', async () => {
    const p = project(backend)
    p.version(1)
    await p.run({ prune: true })
    for (let hotfix = 1; hotfix <= 3; hotfix++) {
      writeFileSync(join(p.root, 'dist/index.html'), `<script src="/assets/app-v1.js"></script><!-- hotfix ${hotfix} -->`)
      const report = await p.run({ include: 'index.html', prune: true })
      expect(report.uploaded.map((u) => u.key)).toEqual([`${p.prefix}index.html`])
      expect(report.deleted).toEqual([])
    }
    expect(await p.stored()).toEqual(['assets/app-v1.js', 'assets/vendor-1.js', 'index.html', 'robots.txt'])
    // A full deploy later still prunes as usual: the grace period counts the partial deploys.
    p.version(2)
    const full = await p.run({ prune: { keepDeploys: 1 } })
    expect(full.deleted).toEqual([`${p.prefix}assets/app-v1.js`])
  })

  it('prune refuses, in one sentence, where another site deploys under the same prefix', async () => {
    const p = project(backend)
    p.version(1)
    await p.run({ site: 'docs' })
    p.version(2)
    const report = await p.run({ site: 'shop', prune: { keepDeploys: 1 } })
    expect(report.pruneRefused).toMatch(/records deploys of another site \("docs"\) under this prefix.*nothing was deleted\. Give each site its own prefix/)
    expect(report.deleted).toEqual([])
    expect(await p.stored()).toContain('assets/app-v1.js')
    expect(p.warnings.join('\n')).toMatch(/Prune refused: /)
  })

  it('a dry run refuses the maxDeletes the real run refuses', async () => {
    const p = project(backend)
    for (let v = 1; v <= 3; v++) {
      p.version(v)
      await p.run()
    }
    p.version(4)
    const dry = await p.run({ prune: { keepDeploys: 1, maxDeletes: 1 }, dryRun: true })
    const real = await p.run({ prune: { keepDeploys: 1, maxDeletes: 1 } })
    expect(real.pruneRefused).toMatch(/3 stale objects exceed prune\.maxDeletes \(1\)/)
    expect(dry.pruneRefused).toBe(real.pruneRefused)
    expect(dry.deleted).toEqual([])
    expect(real.deleted).toEqual([])
  })

  it('a manifest off the schema is ignored with a warning naming where; its paths never become deletes', async () => {
    const p = project(backend)
    p.version(1)
    await p.run()
    const manifest = (deploys: unknown) => JSON.stringify({ format: 1, tool: 'vite-plugin-collectfasta', deploys, files: {} })
    await backend.put(p.manifest, manifest([null]))
    p.version(2)
    const report = await p.run({ cacheDir: 'cold-null', prune: { keepDeploys: 1 } })
    expect(p.warnings.join('\n')).toMatch(/does not match the manifest schema at deploys\.0/)
    expect(report.failed).toEqual([])
    expect(report.deleted).toEqual([])

    await backend.put(p.manifest, manifest([{ at: 'x', paths: 'abc' }]))
    p.version(3)
    const letters = await p.run({ cacheDir: 'cold-letters', prune: { keepDeploys: 1 } })
    expect(p.warnings.join('\n')).toMatch(/at deploys\.0\.paths/)
    expect(letters.deleted).toEqual([])

    await backend.put(p.manifest, manifest([{ at: 'x', paths: ['../outside.txt', '/etc/passwd', 'assets/app-v1.js'] }, { at: 'y', paths: [] }]))
    p.version(4)
    const odd = await p.run({ cacheDir: 'cold-odd', prune: { keepDeploys: 1 } })
    expect(p.warnings.join('\n')).toMatch(/Ignored 2 path\(s\) in the deploy manifest that are not plain relative paths/)
    // Exactly the one plain path no kept deploy uses (an `every` would also pass on no delete at all).
    expect(odd.deleted).toEqual([`${p.prefix}assets/app-v1.js`])
  })
})
