import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { deploy } from '../src/index.js'
import { writeTree } from './helpers.js'
import { type StoredObject, memory } from './strategies/memory.js'

// Counts every compression the deploy asks zlib for, sync or async.
const compressions = vi.hoisted(() => ({ count: 0 }))
vi.mock('node:zlib', async (importOriginal) => {
  const zlib = await importOriginal<typeof import('node:zlib')>()
  const counted = <F extends (...args: never[]) => unknown>(fn: F) =>
    ((...args: Parameters<F>) => {
      compressions.count++
      return fn(...args)
    }) as unknown as F
  return {
    ...zlib,
    brotliCompress: counted(zlib.brotliCompress),
    brotliCompressSync: counted(zlib.brotliCompressSync),
    gzip: counted(zlib.gzip),
    gzipSync: counted(zlib.gzipSync),
  }
})

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('compress: work done once, only for what is uploaded', () => {
  it('one changed file compresses one file; the manifest computes no MD5 of the rest', async () => {
    const root = mkdtempSync(join(tmpdir(), 'collectfasta-compress-once-'))
    dirs.push(root)
    const tree: Record<string, string> = { 'index.html': `<h1>${'x'.repeat(2000)}</h1>` }
    for (let i = 0; i < 50; i++) tree[`assets/c-${i}.js`] = `console.log(${i});`.repeat(200)
    writeTree(join(root, 'dist'), tree)
    const objects = new Map<string, StoredObject>()
    const run = () => deploy({ outDir: 'dist', root, strategy: memory({ objects }), compress: true, logger: { info() {}, warn() {} } })
    await run()
    // Each deploy that uploads records a release, whose record is stored gzip'd: one compression of ours.
    const RECORD = 1
    expect(compressions.count).toBe(51 + RECORD) // every file once, in place: brotli

    compressions.count = 0
    writeFileSync(join(root, 'dist/assets/c-7.js'), 'console.log("changed");'.repeat(200))
    const second = await run()
    expect(second.uploaded.map((u) => u.key)).toEqual(['assets/c-7.js'])
    expect(compressions.count).toBe(1 + RECORD)

    compressions.count = 0
    const cold = await deploy({ outDir: 'dist', root, strategy: memory({ objects }), compress: true, cacheDir: 'cold', trustRemoteManifest: true, logger: { info() {}, warn() {} } })
    expect(cold.uploaded).toEqual([])
    expect(compressions.count).toBe(0) // the manifest's record decides: nothing to compress, no release
  })
})
