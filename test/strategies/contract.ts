import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { deploy } from '../../src/core/deploy.js'
import { loadHasher, md5Hex } from '../../src/hash.js'
import { fingerprintHeaders } from '../../src/core/headers.js'
import { type ObjectHeaders, type RemoteObject, type RequestKind, type Strategy, type StrategyContext, type UploadFile, isConflict } from '../../src/strategy.js'
import { writeTree } from '../helpers.js'

export interface ReadBack {
  bytes: Uint8Array
  /** Present when the storage keeps headers. */
  headers?: Partial<ObjectHeaders>
}

export interface ContractHarness {
  name: string
  /** A strategy writing under a fresh, unique prefix. */
  create(prefix: string): Strategy | Promise<Strategy>
  /** Reads an object back with an independent client. */
  readBack(strategy: Strategy, key: string): Promise<ReadBack | undefined>
  /** Whether the storage keeps Content-Type, Cache-Control and metadata. */
  storesHeaders: boolean
  /**
   * Whether the storage itself honours conditional writes. The local S3 servers and the GCS
   * emulator ignore them (the deploy tests put an emulation in front); real S3 and GCS honour them.
   */
  honoursConditions?: boolean
  /**
   * The server reads a copy's source as `decodeURI` does, leaving `+`, `#`, `&`… percent-encoded
   * (s3rver 3.7.1, `putObjectCopy`); S3 decodes it whole. Copies of such names are not tested there.
   */
  copySourceAsUri?: boolean
}

export function context(): StrategyContext & { counts: Record<RequestKind, number> } {
  const counts: Record<RequestKind, number> = { list: 0, stat: 0, get: 0, upload: 0, delete: 0, copy: 0 }
  return {
    counts,
    signal: new AbortController().signal,
    count(kind, n = 1) {
      counts[kind] += n
    },
  }
}

export async function uploadFile(key: string, body: Uint8Array | string, headers?: Partial<ObjectHeaders>): Promise<UploadFile> {
  const hash = await loadHasher()
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  const full: ObjectHeaders = { contentType: 'application/octet-stream', ...headers }
  return {
    key,
    body: bytes,
    size: bytes.byteLength,
    xxh64: hash(bytes),
    md5: () => md5Hex(bytes),
    headers: full,
    headersFingerprint: hash(Buffer.from(fingerprintHeaders(full))),
  }
}

async function listAll(strategy: Strategy): Promise<Map<string, RemoteObject>> {
  const found = new Map<string, RemoteObject>()
  if (!strategy.list) return found
  for await (const object of strategy.list(context())) found.set(object.key, object)
  return found
}

/** Whether what the storage reports matches these bytes (the way the core compares). */
async function sameDigest(object: RemoteObject, bytes: Uint8Array): Promise<boolean> {
  if (object.xxh64) return object.xxh64 === (await loadHasher())(bytes)
  if (object.md5) return object.md5 === md5Hex(bytes)
  return false
}

let counter = 0
function freshPrefix(): string {
  counter += 1
  return `contract-${process.pid}-${Date.now().toString(36)}-${counter}/`
}

const ODD_KEYS = ['with space.txt', 'ünïcödé/файл.js', 'a+b.css', 'hash#1.txt', 'per%cent&amp=1.txt', "quote'd (1).txt"]

/** The shared contract every strategy must keep, run against a real storage. */
export function runContract(harness: ContractHarness): void {
  describe(`strategy contract: ${harness.name}`, () => {
    const tmpDirs: string[] = []
    afterAll(() => {
      for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true })
    })

    it('uploads, then lists the object under its prefix with a matching digest', async () => {
      const prefix = freshPrefix()
      const strategy = await harness.create(prefix)
      expect(strategy.prefix).toBe(prefix)
      expect(await listAll(strategy)).toEqual(new Map())
      const file = await uploadFile(`${prefix}index.html`, '<h1>hello</h1>', { contentType: 'text/html; charset=utf-8' })
      await strategy.upload(file, context())
      const listed = await listAll(strategy)
      expect([...listed.keys()]).toEqual([`${prefix}index.html`])
      const object = listed.get(`${prefix}index.html`)!
      if (object.needsStat) expect(strategy.stat).toBeTypeOf('function')
      else expect(await sameDigest(object, file.body)).toBe(true)
      expect(Buffer.from((await harness.readBack(strategy, file.key))!.bytes).equals(file.body)).toBe(true)
      await strategy.dispose?.()
    })

    it('overwrites an object with new bytes', async () => {
      const prefix = freshPrefix()
      const strategy = await harness.create(prefix)
      await strategy.upload(await uploadFile(`${prefix}app.js`, 'old'), context())
      await strategy.upload(await uploadFile(`${prefix}app.js`, 'new content'), context())
      expect(Buffer.from((await harness.readBack(strategy, `${prefix}app.js`))!.bytes).toString()).toBe('new content')
      const object = (await listAll(strategy)).get(`${prefix}app.js`)!
      expect(object.size).toBe(11)
      if (!object.needsStat) expect(await sameDigest(object, Buffer.from('new content'))).toBe(true)
      await strategy.dispose?.()
    })

    it('round-trips binary bytes exactly', async () => {
      const prefix = freshPrefix()
      const strategy = await harness.create(prefix)
      const bytes = new Uint8Array(70_000)
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + (i >> 8)) & 0xff
      await strategy.upload(await uploadFile(`${prefix}blob.bin`, bytes), context())
      expect(Buffer.from((await harness.readBack(strategy, `${prefix}blob.bin`))!.bytes).equals(bytes)).toBe(true)
      await strategy.dispose?.()
    })

    it.runIf(harness.storesHeaders)('keeps Content-Type, Cache-Control and metadata', async () => {
      const prefix = freshPrefix()
      const strategy = await harness.create(prefix)
      const headers = {
        contentType: 'text/css; charset=utf-8',
        cacheControl: 'public, max-age=31536000, immutable',
        metadata: { team: 'web', build: '42' },
      }
      await strategy.upload(await uploadFile(`${prefix}style.css`, 'body{}', headers), context())
      const back = await harness.readBack(strategy, `${prefix}style.css`)
      expect(back?.headers?.contentType).toBe(headers.contentType)
      expect(back?.headers?.cacheControl).toBe(headers.cacheControl)
      expect(back?.headers?.metadata).toMatchObject(headers.metadata)
      // What `stat` says is stored is what check and verify compare: when it says, it is right.
      const stated = await strategy.stat?.(`${prefix}style.css`, context())
      if (stated?.headers) {
        expect(stated.headers).toMatchObject({ contentType: headers.contentType, cacheControl: headers.cacheControl, contentEncoding: null, metadata: expect.objectContaining(headers.metadata) })
      }
      await strategy.dispose?.()
    })

    it('round-trips odd key names (spaces, unicode, +, #, %, &, quotes)', async () => {
      const prefix = freshPrefix()
      const strategy = await harness.create(prefix)
      for (const name of ODD_KEYS) await strategy.upload(await uploadFile(prefix + name, name), context())
      const listed = await listAll(strategy)
      expect([...listed.keys()].sort()).toEqual(ODD_KEYS.map((k) => prefix + k).sort())
      for (const name of ODD_KEYS) {
        expect(Buffer.from((await harness.readBack(strategy, prefix + name))!.bytes).toString()).toBe(name)
      }
      await strategy.dispose?.()
    })

    it('stats one object, and answers undefined for a missing one', async () => {
      const prefix = freshPrefix()
      const strategy = await harness.create(prefix)
      if (!strategy.stat) return expect(strategy.list).toBeTypeOf('function')
      await strategy.upload(await uploadFile(`${prefix}a.txt`, 'abc'), context())
      const object = await strategy.stat(`${prefix}a.txt`, context())
      expect(object?.key).toBe(`${prefix}a.txt`)
      expect(object && (await sameDigest(object, Buffer.from('abc')))).toBe(true)
      expect(await strategy.stat(`${prefix}missing.txt`, context())).toBeUndefined()
      await strategy.dispose?.()
    })

    it('lists only its own prefix', async () => {
      const prefix = freshPrefix()
      const mine = await harness.create(`${prefix}site/`)
      const sibling = await harness.create(`${prefix}site-old/`)
      await mine.upload(await uploadFile(`${prefix}site/a.txt`, 'a'), context())
      await sibling.upload(await uploadFile(`${prefix}site-old/b.txt`, 'b'), context())
      expect([...(await listAll(mine)).keys()]).toEqual([`${prefix}site/a.txt`])
      await mine.dispose?.()
      await sibling.dispose?.()
    })

    it('deletes keys, and tolerates keys that are already gone', async (ctx) => {
      const prefix = freshPrefix()
      const strategy = await harness.create(prefix)
      // Declared skipped, with why: returning early would pass without asserting anything.
      if (!strategy.delete) return ctx.skip(`${harness.name} has no \`delete\` (prune is refused for it at validation)`)
      await strategy.upload(await uploadFile(`${prefix}keep.txt`, 'k'), context())
      await strategy.upload(await uploadFile(`${prefix}old/drop.txt`, 'd'), context())
      await strategy.delete([`${prefix}old/drop.txt`, `${prefix}never-there.txt`], context())
      expect([...(await listAll(strategy)).keys()]).toEqual([`${prefix}keep.txt`])
      expect(await harness.readBack(strategy, `${prefix}old/drop.txt`)).toBeUndefined()
      await strategy.dispose?.()
    })

    it('deploys hostile file names; a cold cache finds them all, prune.unknown deletes none', async () => {
      const names = ['constructor', '__proto__', 'toString', 'a.constructor', 'assets/__proto__.js', 'sp ace.txt', 'plus+x.txt', 'pct%20x.txt']
      // Control characters are refused by the scan (see test/hostile.test.ts), so none here.
      names.push('hash#x.txt', 'q?x.txt', 'e\u0301.txt', '\u00e9.txt', '日本.txt')
      const outDir = mkdtempSync(join(tmpdir(), 'collectfasta-names-'))
      tmpDirs.push(outDir)
      writeTree(outDir, Object.fromEntries(names.map((name, i) => [name, `file ${i}`])))
      const prefix = freshPrefix()
      const run = async (cacheDir: string, extra = {}) => {
        tmpDirs.push(join(outDir, '..', cacheDir))
        return deploy({ outDir, strategy: await harness.create(prefix), cacheDir: join(outDir, '..', cacheDir), logger: { info() {}, warn() {} }, ...extra })
      }
      const first = await run(`${prefix.slice(0, -1)}-names-a`)
      expect(first.uploaded).toHaveLength(names.length)
      for (const name of names) {
        const stored = await harness.readBack(await harness.create(prefix), prefix + name)
        expect(stored && Buffer.from(stored.bytes).toString(), JSON.stringify(name)).toBe(`file ${names.indexOf(name)}`)
      }
      // The cache kept every name (a `__proto__` key on a plain object would be lost): one question.
      const warm = await run(`${prefix.slice(0, -1)}-names-a`)
      expect(warm.requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })
      const cold = await run(`${prefix.slice(0, -1)}-names-b`, { manifest: false, prune: false })
      expect(cold.uploaded).toEqual([])
      // A forced deploy runs prune: every listed key must be one of ours, or nothing is left to delete.
      const pruned = await run(`${prefix.slice(0, -1)}-names-c`, { prune: { unknown: true }, force: true })
      expect(pruned.uploaded).toHaveLength(names.length)
      expect(pruned.deleted).toEqual([])
    })

    it('refuses a build path with a backslash before anything is written', async () => {
      // Azure stores `a\b.js` as `a/b.js`, another file's key; a directory would make it a folder.
      const outDir = mkdtempSync(join(tmpdir(), 'collectfasta-backslash-'))
      tmpDirs.push(outDir)
      writeTree(outDir, { 'index.html': '<h1>hi</h1>', 'a\\b.js': 'the backslash', 'a/b.js': 'the folder' })
      const prefix = freshPrefix()
      const cacheDir = join(outDir, '..', `${prefix.slice(0, -1)}-backslash`)
      tmpDirs.push(cacheDir)
      const deployed = deploy({ outDir, strategy: await harness.create(prefix), cacheDir, logger: { info() {}, warn() {} } })
      await expect(deployed).rejects.toThrow('[collectfasta] Cannot deploy `a\\b.js`: it contains a backslash, which storages treat differently. Rename it or exclude it.')
      expect([...(await listAll(await harness.create(prefix))).keys()]).toEqual([])
      expect(await harness.readBack(await harness.create(prefix), `${prefix}a/b.js`)).toBeUndefined()
    })

    it('deploys a directory: warm no-change run makes one request; cold cache uploads nothing', async () => {
      const prefix = freshPrefix()
      const outDir = mkdtempSync(join(tmpdir(), 'collectfasta-contract-'))
      tmpDirs.push(outDir)
      writeTree(outDir, {
        'index.html': '<script src="/assets/app-abc123.js"></script>',
        'assets/app-abc123.js': 'console.log(1)',
        'assets/logo-def456.svg': '<svg/>',
        'robots.txt': 'User-agent: *',
      })
      const cacheDir = join(outDir, '..', `${prefix.slice(0, -1)}-cache`)
      tmpDirs.push(cacheDir)
      const run = async (cache = cacheDir) =>
        deploy({ outDir, strategy: await harness.create(prefix), cacheDir: cache, logger: { info() {}, warn() {} } })

      const first = await run()
      expect(first.uploaded.map((u) => u.key).sort()).toEqual(
        ['assets/app-abc123.js', 'assets/logo-def456.svg', 'index.html', 'robots.txt'].map((k) => prefix + k),
      )
      expect(first.uploaded.at(-1)?.key).toBe(`${prefix}index.html`)

      const warm = await run()
      expect(warm.uploaded).toEqual([])
      // One cheap question (a stat of the deploy manifest, no body), and nothing else.
      expect(warm.requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })

      const coldCache = `${cacheDir}-cold`
      tmpDirs.push(coldCache)
      const cold = await run(coldCache)
      expect(cold.uploaded).toEqual([])
      expect(cold.skipped).toHaveLength(4)
      expect(cold.requests.list).toBeGreaterThanOrEqual(1)
      expect(cold.requests.upload).toBe(0)

      const stored = await harness.readBack(await harness.create(prefix), `${prefix}assets/app-abc123.js`)
      expect(Buffer.from(stored!.bytes).toString()).toBe('console.log(1)')
      if (harness.storesHeaders) {
        expect(stored?.headers?.contentType).toBe('text/javascript; charset=utf-8')
        expect(stored?.headers?.cacheControl).toBe('public, max-age=31536000, immutable')
      }
    })

    describe('copy (server-side)', () => {
      const withCopy = async (prefix: string) => {
        const strategy = await harness.create(prefix)
        // Every built-in strategy has it; a harness without it fails here rather than passing empty.
        expect(strategy.copy).toBeTypeOf('function')
        return strategy as Strategy & Required<Pick<Strategy, 'copy'>>
      }
      const source = { contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache', metadata: { team: 'web' } }

      it('copies bytes, headers and metadata over an existing object, counted as a copy', async () => {
        const prefix = freshPrefix()
        const strategy = await withCopy(prefix)
        // Spaces and Unicode on both ends: the source travels in a header (S3, Azure) or a URL path (GCS).
        const from = `${prefix}ünï cöde.html`
        const to = `${prefix}.collectfasta/kept/a b.html`
        const file = await uploadFile(from, '<h1>v1</h1>', source)
        await strategy.upload(file, context())
        await strategy.upload(await uploadFile(to, 'older bytes, longer than the copy'), context())
        const ctx = context()
        const copied = await strategy.copy(from, to, ctx)
        expect(ctx.counts.copy).toBeGreaterThanOrEqual(1)
        expect(ctx.counts.upload).toBe(0)
        expect(copied?.key).toBe(to)
        const back = await harness.readBack(strategy, to)
        expect(Buffer.from(back!.bytes).toString()).toBe('<h1>v1</h1>')
        if (harness.storesHeaders) {
          expect(back?.headers).toMatchObject({ contentType: source.contentType, cacheControl: source.cacheControl, metadata: expect.objectContaining(source.metadata) })
        }
        // What the copy and a later stat say is stored: the source's digest and fingerprint, a new version.
        const stated = await strategy.stat?.(to, context())
        for (const object of [copied!, ...(stated ? [stated] : [])]) {
          if (!object.needsStat && (object.xxh64 || object.md5)) expect(await sameDigest(object, file.body)).toBe(true)
          if (object.headersFingerprint !== undefined) expect(object.headersFingerprint).toBe(file.headersFingerprint)
        }
        if (stated?.version && copied?.version) expect(copied.version).toBe(stated.version)
        expect(Buffer.from((await harness.readBack(strategy, from))!.bytes).toString()).toBe('<h1>v1</h1>')
        await strategy.dispose?.()
      })

      it('copies with new headers: they replace the source\'s, with the fingerprint given', async () => {
        const prefix = freshPrefix()
        const strategy = await withCopy(prefix)
        const file = await uploadFile(`${prefix}page.html`, '<h1>v2</h1>', { ...source, contentEncoding: 'identity' })
        await strategy.upload(file, context())
        const headers = { contentType: 'text/plain; charset=utf-8', cacheControl: 'public, max-age=60', metadata: { build: '9' } }
        const wanted = await uploadFile(`${prefix}copy.html`, '<h1>v2</h1>', headers)
        const ctx = context()
        const copied = await strategy.copy(`${prefix}page.html`, `${prefix}copy.html`, ctx, { headers, headersFingerprint: wanted.headersFingerprint })
        expect(ctx.counts.copy).toBeGreaterThanOrEqual(1)
        const back = await harness.readBack(strategy, `${prefix}copy.html`)
        expect(Buffer.from(back!.bytes).toString()).toBe('<h1>v2</h1>')
        if (harness.storesHeaders) {
          expect(back?.headers).toMatchObject({ contentType: headers.contentType, cacheControl: headers.cacheControl, metadata: expect.objectContaining(headers.metadata) })
          expect(back?.headers?.contentEncoding || undefined).toBeUndefined()
          expect(back?.headers?.metadata).not.toHaveProperty('team')
        }
        const stated = await strategy.stat?.(`${prefix}copy.html`, context())
        if (harness.storesHeaders) expect(copied?.headersFingerprint ?? stated?.headersFingerprint).toBe(wanted.headersFingerprint)
        if (stated?.headers) expect(stated.headers).toMatchObject({ contentType: headers.contentType, cacheControl: headers.cacheControl, contentEncoding: null })
        if (stated && !stated.needsStat) expect(await sameDigest(stated, file.body)).toBe(true)
        // The source keeps its own.
        if (harness.storesHeaders) expect((await harness.readBack(strategy, `${prefix}page.html`))?.headers?.cacheControl).toBe('no-cache')
        await strategy.dispose?.()
      })

      it.skipIf(harness.copySourceAsUri)('copies odd key names (+, #, %, &, quotes)', async () => {
        const prefix = freshPrefix()
        const strategy = await withCopy(prefix)
        for (const name of ODD_KEYS) {
          await strategy.upload(await uploadFile(prefix + name, name), context())
          await strategy.copy(prefix + name, `${prefix}kept/${name}`, context())
          expect(Buffer.from((await harness.readBack(strategy, `${prefix}kept/${name}`))!.bytes).toString(), name).toBe(name)
        }
        await strategy.dispose?.()
      })

      it('rejects the copy of a missing key, naming it, and stores nothing', async () => {
        const prefix = freshPrefix()
        const strategy = await withCopy(prefix)
        await expect(strategy.copy(`${prefix}never-there.html`, `${prefix}to.html`, context())).rejects.toThrow(/^\[collectfasta\] \[[\w-]+\] .*never-there\.html/)
        expect(await harness.readBack(strategy, `${prefix}to.html`)).toBeUndefined()
        await strategy.dispose?.()
      })
    })

    it.runIf(harness.honoursConditions)('conditional writes: stored only over the version named (or none), else a conflict that stores nothing', async () => {
      const prefix = freshPrefix()
      const strategy = await harness.create(prefix)
      expect(strategy.conditionalWrites).toBe(true)
      const key = `${prefix}.collectfasta/manifest.json`
      const write = async (body: string, ifVersion: string | null) => strategy.upload({ ...(await uploadFile(key, body)), ifVersion }, context())
      const first = await write('one', null)
      expect(first?.version).toBeTruthy()
      await expect(write('two', null)).rejects.toSatisfy(isConflict) // it exists now
      const second = await write('two', first!.version!)
      expect(second?.version).toBeTruthy()
      expect(second?.version).not.toBe(first?.version)
      await expect(write('three', first!.version!)).rejects.toSatisfy(isConflict) // a stale version
      expect(Buffer.from((await harness.readBack(strategy, key))!.bytes).toString()).toBe('two')
      expect((await strategy.stat?.(key, context()))?.version).toBe(second?.version)
    })
  })
}
