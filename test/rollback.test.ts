import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { type DeployReport, RollbackRefusal, listReleases, rollback } from '../src/index.js'
import type { RemoteManifest } from '../src/core/deploy-manifest.js'
import { keptKey, makeRecord, recordUpload } from '../src/core/release.js'
import type { Strategy } from '../src/strategy.js'
import { type Backend, backends, project } from './backends.js'

// Releases and rollback on the real storages: after each step the storage holds exactly the
// bytes and headers that the deploy of that build stored, read back by an independent client.

const ON = backends.filter((b) => ['memory', 'filesystem', 's3 (fauxqs)', 'gcs (emulator)'].includes(b.name))

/** Version `v` of the site: a hashed chunk, a page and a text file that change, a page only v3 has. */
const build = (v: number) => ({
  'about.html': `<h1>about v${v}</h1>`,
  'robots.txt': `User-agent: * # v${v}`,
  ...(v === 3 ? { 'new.html': '<p>only in v3</p>' } : {}),
})

type Stored = Map<string, { bytes: string; encoding?: string; cacheControl?: string }>

/** What the storage holds under the site's prefix (our folder aside), read without the strategy. */
async function storedNow(backend: Backend, prefix: string, keys: string[]): Promise<Stored> {
  const out: Stored = new Map()
  for (const path of keys) {
    const object = await backend.read(prefix + path)
    if (!object) continue
    out.set(path, { bytes: Buffer.from(object.bytes).toString('base64'), encoding: object.contentEncoding, cacheControl: await backend.cacheControl(prefix + path) })
  }
  return out
}

/** The site's files in the build directory `dist` of `root`, as text. */
function builtFiles(root: string, paths: string[]): Map<string, string> {
  return new Map(paths.map((path) => [path, readFileSync(join(root, 'dist', path), 'utf8')]))
}

async function readManifest(backend: Backend, key: string): Promise<RemoteManifest> {
  const object = await backend.read(key)
  return JSON.parse(Buffer.from(object?.bytes ?? []).toString('utf8'))
}

describe.each(ON)('releases and rollback on $name', (backend) => {
  /** Deploys v1, v2, v3 and keeps, for each, what its deploy stored and its build's files. */
  async function threeReleases() {
    const p = project(backend)
    const states: { ids: string; stored: Stored; built: Map<string, string> }[] = []
    for (const v of [1, 2, 3]) {
      p.version(v, build(v))
      await p.run()
      const keys = await p.stored()
      const manifest = await readManifest(backend, p.manifest)
      states[v] = { ids: manifest.deploys[0]?.id ?? '', stored: await storedNow(backend, p.prefix, keys), built: builtFiles(p.root, keys.filter((k) => !k.startsWith('assets/app-v') || k === `assets/app-v${v}.js`)) }
    }
    return { p, states }
  }

  /** The storage holds exactly release `v`: its keys with the bytes and headers its deploy stored; besides them only hashed files of kept releases. */
  async function expectRelease(p: ReturnType<typeof project>, state: { stored: Stored; built: Map<string, string> }) {
    const keys = await p.stored()
    const now = await storedNow(backend, p.prefix, keys)
    expect(state.stored.size).toBeGreaterThan(0)
    for (const [path, object] of state.stored) expect(now.get(path), path).toEqual(object)
    for (const [path, text] of state.built) {
      const object = now.get(path)
      const bytes = Buffer.from(object?.bytes ?? '', 'base64')
      expect((object?.encoding === 'gzip' ? gunzipSync(bytes) : bytes).toString('utf8'), path).toBe(text)
    }
    const extra = keys.filter((k) => !state.stored.has(k))
    for (const key of extra) expect(key, 'only hashed files of other kept releases stay').toMatch(/^assets\/app-v\d\.js$/)
  }

  it('deploy v1, v2, v3; roll back to v2, then to v1: each time the storage is that build; a warm deploy of v3 makes it v3 again', async () => {
    const { p, states } = await threeReleases()
    const [, v1, v2, v3] = states
    if (!v1 || !v2 || !v3) throw new Error('three releases')
    const strategy = backend.strategy(p.prefix)

    const dry = await rollback({ strategy: backend.strategy(p.prefix), dryRun: true, logger: { info() {}, warn() {} } })
    expect(dry.plan.map((item) => item.key).sort()).toEqual([`${p.prefix}about.html`, `${p.prefix}index.html`, `${p.prefix}robots.txt`])
    expect(dry.deleted).toEqual([`${p.prefix}new.html`])
    await expectRelease(p, v3) // a dry run changes nothing

    const seen: DeployReport[] = []
    const back = await rollback({ strategy, logger: { info() {}, warn() {} }, onDeployed: (r) => void seen.push(r) })
    expect(back.rollback).toMatchObject({ from: v3.ids, to: v2.ids })
    expect(seen).toHaveLength(1)
    expect(back.deleted).toEqual([`${p.prefix}new.html`])
    await expectRelease(p, v2)

    await rollback({ strategy: backend.strategy(p.prefix), release: v1.ids, logger: { info() {}, warn() {} } })
    await expectRelease(p, v1)
    const releases = await listReleases({ strategy: backend.strategy(p.prefix) })
    expect(releases.map((r) => [r.rollbackOf, r.live])).toEqual([
      [v1.ids, true],
      [v2.ids, false],
      [undefined, false],
      [undefined, false],
      [undefined, false],
    ])
    expect(releases.every((r) => r.canRollBack)).toBe(true)

    p.version(3, build(3))
    const warm = await p.run()
    expect(warm.uploaded.length).toBeGreaterThan(0) // the rollback changed the manifest: the cache did not vouch
    await expectRelease(p, v3)
  })

  it('a first deploy copies nothing; the next copies each page it replaces, before replacing it, after its record, and HTML stays its last page', async () => {
    const p = project(backend)
    const folder = `${p.prefix}.collectfasta/`
    p.version(1, build(1))
    const first = await p.run()
    expect(first.requests.copy).toBe(0)
    expect(await backend.keys(`${folder}kept/`)).toEqual([])

    p.version(2, build(2))
    const inner = backend.strategy(p.prefix)
    const copy = inner.copy?.bind(inner)
    if (!copy) throw new Error(`${backend.name} copies`)
    const writes: string[] = []
    const name = (key: string) => key.slice(p.prefix.length)
    const watched: Strategy = {
      ...inner,
      upload: (file, ctx) => {
        writes.push(name(file.key))
        return inner.upload(file, ctx)
      },
      copy: (from, to, ctx, o) => {
        writes.push(`${name(from)} > ${name(to)}`)
        return copy(from, to, ctx, o)
      },
    }
    const second = await p.run({ strategy: watched })
    // v2 changes three pages (index.html, about.html, robots.txt): one copy each; its new hashed chunk needs none.
    expect(second.requests.copy).toBe(3)
    const kept = await backend.keys(`${folder}kept/`)
    const keptTexts = await Promise.all(kept.map(async (k) => Buffer.from((await backend.read(k))?.bytes ?? []).toString('utf8')))
    expect(keptTexts.sort()).toEqual([build(1)['about.html'], build(1)['robots.txt'], '<script src="/assets/app-v1.js"></script>'].sort())
    // The order of the writes: copies, the record, the site's files (HTML last), the manifest.
    const site = writes.filter((w) => !w.includes('.collectfasta/'))
    const at = (w: string) => writes.indexOf(w)
    expect(site.length).toBeGreaterThan(0)
    const record = writes.findIndex((w) => w.startsWith('.collectfasta/releases/'))
    expect(record).toBeGreaterThan(Math.max(...writes.filter((w) => w.includes(' > ')).map(at)))
    expect(record).toBeLessThan(Math.min(...site.map(at)))
    const pages = site.filter((w) => w.endsWith('.html'))
    expect(Math.min(...pages.map(at))).toBeGreaterThan(Math.max(...site.filter((w) => !w.endsWith('.html')).map(at)))
    expect(writes.at(-1)).toBe('.collectfasta/manifest.json')
  })

  it('a page the next release dropped was never copied: it is found under its own key, and a rollback keeps it there', async () => {
    const p = project(backend)
    p.version(1, { ...build(1), 'old.html': '<p>only in v1</p>' })
    await p.run()
    p.version(2, build(2))
    await p.run()
    const folder = `${p.prefix}.collectfasta/`
    const keptTexts = await Promise.all((await backend.keys(`${folder}kept/`)).map(async (k) => Buffer.from((await backend.read(k))?.bytes ?? []).toString('utf8')))
    expect(keptTexts).not.toContain('<p>only in v1</p>')
    const [live, v1] = await listReleases({ strategy: backend.strategy(p.prefix) })
    expect([live?.live, v1?.canRollBack, v1?.why]).toEqual([true, true, undefined])
    const back = await rollback({ strategy: backend.strategy(p.prefix), logger: { info() {}, warn() {} } })
    expect(back.uploaded.map((u) => u.key)).not.toContain(`${p.prefix}old.html`)
    expect(Buffer.from((await backend.read(`${p.prefix}old.html`))?.bytes ?? []).toString('utf8')).toBe('<p>only in v1</p>')
    expect(Buffer.from((await backend.read(`${p.prefix}about.html`))?.bytes ?? []).toString('utf8')).toBe(build(1)['about.html'])
  })

  it('refuses, before any write, a release whose kept copies are gone, naming the files', async () => {
    const { p, states } = await threeReleases()
    const manifest = await readManifest(backend, p.manifest)
    // v2's about.html, as kept: remove it behind the tool's back.
    expect(manifest.deploys[1]?.id).toBe(states[2]?.ids)
    const folder = `${p.prefix}.collectfasta/`
    const before = await storedNow(backend, p.prefix, await p.stored())
    expect((await backend.keys(`${folder}kept/`)).length).toBeGreaterThan(0)
    const aboutV2 = await findKept(backend, folder, '<h1>about v2</h1>')
    await backend.remove(aboutV2)
    const error = await rollback({ strategy: backend.strategy(p.prefix), logger: { info() {}, warn() {} } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RollbackRefusal)
    expect((error as Error).message).toMatch(/cannot be rolled back to: 1 of its file\(s\) are no longer kept \(about\.html\)\. Nothing was written\./)
    expect(await storedNow(backend, p.prefix, await p.stored())).toEqual(before)
    expect((await readManifest(backend, p.manifest)).pending).toBeUndefined()
    const releases = await listReleases({ strategy: backend.strategy(p.prefix) })
    expect(releases[1]).toMatchObject({ canRollBack: false, why: '1 of its files are no longer kept' })
  })
})

/** The kept copy holding `text`. */
async function findKept(backend: Backend, folder: string, text: string): Promise<string> {
  for (const key of await backend.keys(`${folder}kept/`)) {
    const object = await backend.read(key)
    if (object && Buffer.from(object.bytes).toString('utf8') === text) return key
  }
  throw new Error(`no kept copy holds ${text}`)
}

describe('rollback and the protocol (memory and a directory)', () => {
  const local = backends.filter((b) => b.name === 'memory' || b.name === 'filesystem')

  it.each(local)('a rollback racing a deploy on $name: the deploy wins, the rollback fails with the conflict sentence, and the next deploy makes the storage right', async (backend) => {
    const p = project(backend)
    for (const v of [1, 2]) {
      p.version(v, build(v))
      await p.run()
    }
    const other = project(backend)
    const racing: Strategy = { ...backend.strategy(p.prefix) }
    const inner = backend.strategy(p.prefix)
    let raced = false
    // Hold the rollback's first write after its mark: a deploy of v4 runs meanwhile, on another machine.
    const hold = async () => {
      if (raced) return
      raced = true
      other.version(4, build(4))
      await (await import('../src/index.js')).deploy({ outDir: 'dist', root: other.root, strategy: backend.strategy(p.prefix), logger: { info() {}, warn() {} } })
    }
    racing.upload = async (file, ctx) => {
      if (!file.key.endsWith('manifest.json') && !file.key.includes('/.collectfasta/')) await hold()
      return inner.upload(file, ctx)
    }
    if (inner.copy) {
      const copy = inner.copy.bind(inner)
      racing.copy = async (from, to, ctx, o) => {
        await hold()
        return copy(from, to, ctx, o)
      }
    }
    const error = await rollback({ strategy: racing, logger: { info() {}, warn() {} } }).catch((e: unknown) => e)
    expect(raced).toBe(true)
    expect((error as Error).message).toMatch(/kept changing under this rollback \(another deploy or rollback is running\): it was not committed/)
    // The deploy of v4 is in the history; the next deploy of v4 lists, repairs and leaves exactly v4.
    const manifest = await readManifest(backend, p.manifest)
    expect(manifest.deploys.length).toBeGreaterThanOrEqual(3)
    await (await import('../src/index.js')).deploy({ outDir: 'dist', root: other.root, strategy: backend.strategy(p.prefix), logger: { info() {}, warn() {} } })
    const keys = await p.stored()
    for (const [path, text] of Object.entries({ 'about.html': '<h1>about v4</h1>', 'robots.txt': 'User-agent: * # v4', 'index.html': '<script src="/assets/app-v4.js"></script>', 'assets/app-v4.js': 'app(4)' })) {
      expect(keys).toContain(path)
      expect(Buffer.from((await backend.read(p.prefix + path))?.bytes ?? []).toString('utf8'), path).toBe(text)
    }
  })

  it.each(local)('a rollback stopped part-way on $name (a copy fails) leaves the manifest pending; run again, it restores the release', async (backend) => {
    const p = project(backend)
    const stored: Map<string, string>[] = []
    for (const v of [1, 2, 3]) {
      p.version(v, build(v))
      await p.run()
      const keys = await p.stored()
      stored[v] = new Map(await Promise.all(keys.map(async (k) => [k, Buffer.from((await backend.read(p.prefix + k))?.bytes ?? []).toString('utf8')] as [string, string])))
    }
    const inner = backend.strategy(p.prefix)
    const failing: Strategy = { ...inner, upload: (file, ctx) => (file.key.endsWith('robots.txt') ? Promise.reject(new Error('simulated 503')) : inner.upload(file, ctx)) }
    if (inner.copy) failing.copy = (from, to, ctx, o) => (to.endsWith('robots.txt') ? Promise.reject(new Error('simulated 503')) : (inner.copy as NonNullable<Strategy['copy']>)(from, to, ctx, o))
    const error = await rollback({ strategy: failing, logger: { info() {}, warn() {} } }).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/The rollback stopped: 1 copy\(ies\) failed/)
    const report = (error as { report: DeployReport }).report
    expect(report.pending.sort()).toEqual([`${p.prefix}about.html`, `${p.prefix}index.html`]) // HTML last: not written after a failure
    expect((await readManifest(backend, p.manifest)).pending).toBeDefined()
    const v2 = (await readManifest(backend, p.manifest)).deploys[1]?.id
    await rollback({ strategy: backend.strategy(p.prefix), release: v2, logger: { info() {}, warn() {} } })
    const want = stored[2]
    if (!want) throw new Error('v2')
    expect(want.size).toBeGreaterThan(0)
    for (const [key, text] of want) expect(Buffer.from((await backend.read(p.prefix + key))?.bytes ?? []).toString('utf8'), key).toBe(text)
    expect(await p.stored()).not.toContain('new.html')
  })

  it.each(local)("a manifest of today's format on $name is read and upgraded without loss; its deploys cannot be rolled back to, and say why", async (backend) => {
    const p = project(backend)
    p.version(1, build(1))
    await p.run()
    // As the version before releases wrote it: no `release` on its deploys.
    const old = await readManifest(backend, p.manifest)
    for (const deploy of old.deploys) delete deploy.release
    await backend.put(p.manifest, `${JSON.stringify(old)}\n`)
    const oldLine = old.deploys[0]
    p.version(2, build(2))
    await p.run()
    const upgraded = await readManifest(backend, p.manifest)
    expect(upgraded.deploys[1]).toEqual(oldLine)
    expect(upgraded.deploys[0]?.release).toMatchObject({ files: 5, kept: true })
    const error = await rollback({ strategy: backend.strategy(p.prefix), logger: { info() {}, warn() {} } }).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/deployed by a version of vite-plugin-collectfasta without releases/)
    const releases = await listReleases({ strategy: backend.strategy(p.prefix) })
    expect(releases.map((r) => [r.live, r.canRollBack, r.why])).toEqual([
      [true, true, undefined],
      [false, false, 'deployed by a version without releases'],
    ])
  })

  it.each(local)('a page changed behind the tool\'s back on $name is not kept under the content its release recorded: that release is refused, naming it', async (backend) => {
    const p = project(backend)
    p.version(1, build(1))
    await p.run()
    await backend.put(`${p.prefix}about.html`, '<h1>edited by hand</h1>')
    p.version(2, build(2))
    await p.run()
    expect(p.warnings.join('\n')).toMatch(/Could not keep a copy of 1 file\(s\) before replacing them \(.*about\.html\): the releases that hold their current content can no longer be rolled back to\./)
    const folder = `${p.prefix}.collectfasta/`
    const keptTexts = await Promise.all((await backend.keys(`${folder}kept/`)).map(async (k) => Buffer.from((await backend.read(k))?.bytes ?? []).toString('utf8')))
    expect(keptTexts).toHaveLength(2) // index.html and robots.txt of v1
    expect(keptTexts).not.toContain('<h1>edited by hand</h1>')
    const error = await rollback({ strategy: backend.strategy(p.prefix), logger: { info() {}, warn() {} } }).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/cannot be rolled back to: 1 of its file\(s\) are no longer kept \(about\.html\)\. Nothing was written\./)
  })

  // A run that never committed stays in the history as an open line (a day, while it may be
  // writing): it is no release. The rollback's steps skip it; `releases` says why it is none.
  it('a line that never committed is no release: the rollback steps over it, and releases says why', async () => {
    const backend = local[0]!
    const p = project(backend)
    for (const v of [1, 2, 3]) {
      p.version(v, build(v))
      await p.run()
    }
    const manifest = await readManifest(backend, p.manifest)
    const stopped = { id: 'a'.repeat(16), at: new Date().toISOString(), paths: ['about.html'], open: true }
    manifest.deploys.splice(1, 0, stopped)
    await backend.put(p.manifest, JSON.stringify(manifest))
    const releases = await listReleases({ strategy: backend.strategy(p.prefix) })
    expect(releases.find((r) => r.id === stopped.id)?.why).toMatch(/never committed/)
    const report = await rollback({ strategy: backend.strategy(p.prefix), logger: { info() {}, warn() {} } })
    expect(report.rollback.to).toBe(manifest.deploys[2]?.id)
    expect(Buffer.from((await backend.read(`${p.prefix}about.html`))?.bytes ?? []).toString('utf8')).toBe('<h1>about v2</h1>')
  })

  it('prune deletes the records and kept copies of releases leaving the window, and never those a kept release needs', async () => {
    const backend = local[0] as Backend
    const p = project(backend)
    const folder = `${p.prefix}.collectfasta/`
    for (const v of [1, 2, 3, 4]) {
      p.version(v, { ...build(v), 'same.html': 'unchanged page' })
      await p.run({ prune: { keepDeploys: 2 } })
    }
    const manifest = await readManifest(backend, p.manifest)
    expect(manifest.deploys.map((d) => d.id)).toHaveLength(2)
    const records = (await backend.keys(`${folder}releases/`)).sort()
    expect(records).toEqual(manifest.deploys.map((d) => `${folder}releases/${d.id}.json`).sort())
    const keptTexts = await Promise.all((await backend.keys(`${folder}kept/`)).map(async (k) => Buffer.from((await backend.read(k))?.bytes ?? []).toString('utf8')))
    expect(keptTexts).not.toContain('unchanged page') // never replaced: still under its own key, never copied
    expect(keptTexts).toContain('<h1>about v3</h1>') // copied before v4 replaced it, needed by v3
    expect(keptTexts).not.toContain('<h1>about v1</h1>')
    expect(keptTexts).not.toContain('<h1>about v2</h1>')
    expect(keptKey(folder, 'a', 'b')).toBe(`${folder}kept/a-b`)
    // v3 is whole: its replaced pages from kept/, the unchanged one from its own key.
    await rollback({ strategy: backend.strategy(p.prefix), logger: { info() {}, warn() {} } })
    for (const [path, text] of Object.entries({ 'about.html': '<h1>about v3</h1>', 'same.html': 'unchanged page', 'new.html': '<p>only in v3</p>' })) {
      expect(Buffer.from((await backend.read(p.prefix + path))?.bytes ?? []).toString('utf8'), path).toBe(text)
    }
  })
})

describe('the release record', () => {
  it('stays small for 100,000 files: about 29 bytes a file stored (docs/releases.md gives the figure)', async () => {
    const hex = (i: number, salt: number) => ((i * 2654435761 + salt) >>> 0).toString(16).padStart(8, '0').repeat(2)
    const headers = [
      { contentType: 'text/html; charset=utf-8', cacheControl: 'public, max-age=0, must-revalidate' },
      { contentType: 'text/javascript; charset=utf-8', cacheControl: 'public, max-age=31536000, immutable' },
    ]
    const files = Array.from({ length: 100_000 }, (_, i) => {
      const page = i % 10 < 7
      return { path: page ? `docs/section-${i % 97}/page-${i}/index.html` : `assets/chunk-${hex(i, 7).slice(0, 8)}.js`, xxh64: hex(i, 1), headersFingerprint: hex(i, 2), size: 1000 + (i % 50_000), headers: headers[page ? 0 : 1], kept: page }
    })
    const file = await recordUpload('r.json', makeRecord('0123456789abcdef', new Date().toISOString(), files))
    expect(file.size).toBeGreaterThan(1_000_000)
    expect(file.size).toBeLessThan(4_000_000)
    expect(JSON.parse(gunzipSync(file.body).toString('utf8')).files).toHaveLength(100_000)
  })
})
