import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'vite'
import { afterAll, describe, expect, it } from 'vitest'
import { collectfasta } from '../src/index.js'
import type { DeployReport } from '../src/index.js'
import { runPool } from '../src/pool.js'
import { changedPaths, copyApp, removeApps, snapshot } from './app.js'
import { writeTree } from './helpers.js'
import { LOCAL_SERVERS, countingProxy, localS3, readBackS3 } from './strategies/s3-servers.js'

afterAll(removeApps)

const MANY = 1100
const BIG = 12 * 1024 * 1024

/** The fixture app plus 1,100 public files and one 12 MB file (above the 8 MiB multipart threshold). */
function bigApp(): string {
  const root = copyApp()
  const files: Record<string, string | Uint8Array> = {}
  for (let i = 0; i < MANY; i++) files[`public/many/${String(i).padStart(4, '0')}.txt`] = `file ${i}\n`
  const big = new Uint8Array(BIG)
  for (let i = 0; i < BIG; i += 512) big[i] = (i >> 9) & 0xff
  files['public/media/big.bin'] = big
  writeTree(root, files)
  return root
}

describe.each(LOCAL_SERVERS)('vite build deploying to S3 on $name', (server) => {
  it('first build uploads all; second makes one HEAD; cold cache lists once per 1,000 keys and uploads nothing; one change uploads one file', async () => {
    const endpoint = server.endpoint()
    const root = bigApp()
    const prefix = `site-${Date.now().toString(36)}/`
    // Requests are counted by a proxy: what is counted is the strategy's own transport.
    const counter = await countingProxy(endpoint)
    const { counts, reset } = counter
    const cacheDir = join(root, '.cache')
    const run = async (extra: { manifest?: false } = {}) => {
      reset()
      const plugin = collectfasta({
        ...extra,
        strategy: localS3(counter.url, prefix),
        cacheDir,
        headers: [{ match: 'many/**', cacheControl: 'public, max-age=600', metadata: { origin: 'public-dir' } }],
      })
      await build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [plugin] })
      return (plugin.api as { report: DeployReport }).report
    }

    const first = await run()
    const dist = snapshot(join(root, 'dist'))
    const n = dist.size
    expect(n).toBeGreaterThan(MANY)
    expect(first.uploaded).toHaveLength(n)
    // Every single-part file, the deploy manifest twice (the mark before them, the commit after),
    // and the release record. A first deploy replaces nothing: no kept copy.
    expect(first.requests.copy).toBe(0)
    expect(counts.PutObject).toBe(n - 1 + 2 + 1)
    expect(first.manifest?.key).toBe(`${prefix}.collectfasta/manifest.json`)
    expect(counts.CreateMultipartUpload).toBe(1)
    expect(counts.UploadPart).toBe(2)
    // A listing pages through our folder too (the release record, the manifest).
    const pages = Math.ceil((n + 2) / 1000)

    // Every object, read back by a separate client: the bytes on disk, the headers we set.
    await runPool([...dist], async ([path, bytes]) => {
      const object = await readBackS3(endpoint, prefix + path)
      expect(object && Buffer.from(object.bytes).equals(bytes), path).toBe(true)
    }, { limit: 16 })
    const html = await readBackS3(endpoint, `${prefix}index.html`)
    expect(html?.headers).toMatchObject({ contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache' })
    const css = [...dist.keys()].find((k) => k.endsWith('.css'))!
    expect((await readBackS3(endpoint, prefix + css))?.headers).toMatchObject({
      contentType: 'text/css; charset=utf-8',
      cacheControl: 'public, max-age=31536000, immutable',
    })
    const txt = await readBackS3(endpoint, `${prefix}many/0007.txt`)
    expect(txt?.headers).toMatchObject({ contentType: 'text/plain; charset=utf-8', cacheControl: 'public, max-age=600' })
    expect(txt?.headers?.metadata).toMatchObject({ origin: 'public-dir' })

    const second = await run()
    expect(second.uploaded).toEqual([])
    // The one cheap question: a HEAD of the deploy manifest, still the version this cache wrote.
    expect(counts).toEqual({ HeadObject: 1 })
    expect(second.requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })

    // Cold cache: the deploy manifest (one GET) says what each listed ETag holds, so not even
    // the multipart object needs a HEAD.
    rmSync(cacheDir, { recursive: true })
    const cold = await run()
    expect(cold.uploaded).toEqual([])
    expect(counts).toEqual({ HeadObject: 1, GetObject: 1, ListObjectsV2: pages })
    expect(cold.requests).toEqual({ list: pages, stat: 1, get: 1, upload: 0, delete: 0, copy: 0 })

    // Without the manifest, the listing alone: real S3 (and fauxqs) give the multipart object an
    // `md5-N` ETag, so one HEAD reads our digest; s3rver gives it a plain MD5 ETag.
    rmSync(cacheDir, { recursive: true })
    const bare = await run({ manifest: false })
    const heads = server.name === 's3rver' ? 0 : 1
    expect(bare.uploaded).toEqual([])
    expect(counts.ListObjectsV2).toBe(pages)
    expect(counts.HeadObject ?? 0).toBe(heads)
    expect(counts.PutObject ?? 0).toBe(0)
    expect(bare.requests).toEqual({ list: pages, stat: heads, get: 0, upload: 0, delete: 0, copy: 0 })

    // A deploy without the manifest cannot vouch for the storage: the next one checks it, and
    // having found everything stored, vouches again.
    const checked = await run()
    expect(checked.uploaded).toEqual([])
    expect(counts.ListObjectsV2).toBe(pages)

    writeFileSync(join(root, 'public/many/0042.txt'), 'changed\n')
    const one = await run()
    expect(one.uploaded.map((u) => u.key)).toEqual([`${prefix}many/0042.txt`])
    // The manifest's HEAD; the manifest read for its history and marked (this deploy pending); the
    // file's live content kept before it is replaced (CopyObject, after a HEAD of its source); the
    // release record; the file; the manifest committed (If-Match the mark).
    expect(counts).toEqual({ HeadObject: 2, PutObject: 5, GetObject: 1 })

    const before = snapshot(join(root, 'dist'))
    writeFileSync(join(root, 'src/lazy-b.js'), "export function run() {\n  console.log('lazy B, version 2')\n}\n")
    const chunk = await run()
    const changed = changedPaths(before, snapshot(join(root, 'dist')))
    expect(chunk.uploaded.map((u) => u.key).sort()).toEqual(changed.map((p) => prefix + p))
    expect(chunk.uploaded.at(-1)?.key).toBe(`${prefix}index.html`)
    // And the manifest (the mark and the commit), the kept copies of the replaced files without a
    // content hash in their name (each was stored before), the release record.
    expect(counts.PutObject).toBe(changed.length + 2 + chunk.uploaded.filter((u) => !u.immutable).length + 1)

    await counter.close()
  })
})
