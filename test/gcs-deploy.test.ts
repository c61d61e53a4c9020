import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'vite'
import { afterAll, expect, inject, it } from 'vitest'
import { collectfasta } from '../src/index.js'
import type { DeployReport, HeaderRule } from '../src/index.js'
import { runPool } from '../src/pool.js'
import { gcs } from '../src/strategies/gcs.js'
import { copyApp, removeApps, snapshot } from './app.js'
import { writeTree } from './helpers.js'
import { recordingProxy } from './servers/proxy.mjs'
import { GCS_BUCKET, emulatorStorage, readBackGcs } from './strategies/gcs-emulator.js'

afterAll(removeApps)

it('vite build deploying to the Cloud Storage emulator: all, then one metadata request, then a cold cache that lists and uploads nothing', async () => {
  const root = copyApp()
  const files: Record<string, string> = {}
  for (let i = 0; i < 1100; i++) files[`public/many/${String(i).padStart(4, '0')}.txt`] = `file ${i}\n`
  writeTree(root, files)
  const proxy = await recordingProxy(inject('gcsEndpoint'))
  const storage = emulatorStorage(proxy.url)
  const prefix = `site-${Date.now().toString(36)}/`
  const cacheDir = join(root, '.cache')
  const count = (pattern: RegExp) => proxy.requests.filter((r) => pattern.test(`${r.method} ${r.path}`)).length
  // The SDK drops the /storage/v1 path segment when it talks to an emulator.
  const LIST = new RegExp(`^GET (/storage/v1)?/b/${GCS_BUCKET}/o$`)
  // A release keeps a copy of each file without a content hash in its name that a deploy replaces:
  // server-side where the strategy copies, else uploaded again (either way one request each).
  const WRITES = new RegExp(`^POST (/upload/storage/v1/b/${GCS_BUCKET}/o$|(/storage/v1)?/b/${GCS_BUCKET}/o/.*/(copyTo|rewriteTo)/)`)
  const run = async (headers: HeaderRule[] = []) => {
    proxy.reset()
    const plugin = collectfasta({ strategy: gcs({ bucket: GCS_BUCKET, prefix, storage }), cacheDir, headers })
    await build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [plugin] })
    return (plugin.api as { report: DeployReport }).report
  }

  try {
    const first = await run()
    const dist = snapshot(join(root, 'dist'))
    expect(first.uploaded).toHaveLength(dist.size)
    // And the deploy manifest, twice (the mark before the first file, the commit after the last),
    // and the release record. A first deploy replaces nothing: no kept copy.
    expect(count(WRITES)).toBe(dist.size + 2 + 1)
    await runPool([...dist], async ([path, bytes]) => {
      const object = await readBackGcs(prefix + path)
      expect(object && Buffer.from(object.bytes).equals(bytes), path).toBe(true)
    }, { limit: 16 })
    expect((await readBackGcs(`${prefix}index.html`))?.headers).toMatchObject({ contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache' })
    expect((await readBackGcs(`${prefix}many/0001.txt`))?.headers).toMatchObject({
      contentType: 'text/plain; charset=utf-8',
      cacheControl: 'public, max-age=0, must-revalidate',
    })

    const second = await run()
    expect(second.uploaded).toEqual([])
    // The one cheap question: the deploy manifest's metadata (its generation), no body.
    expect(proxy.requests.map((r) => `${r.method} ${decodeURIComponent(r.path).replace(/\?.*/, '')}`)).toEqual([
      `GET /b/${GCS_BUCKET}/o/${prefix}.collectfasta/manifest.json`,
    ])

    rmSync(cacheDir, { recursive: true })
    const cold = await run()
    expect(cold.uploaded).toEqual([])
    // A listing pages through our folder too (the release record, the manifest).
    const pages = Math.ceil((dist.size + 2) / 1000)
    expect(count(LIST)).toBe(pages)
    expect(proxy.requests).toHaveLength(pages + 2) // + the manifest's metadata and its GET

    // The listing carries our header fingerprint: a rule change is seen even on a cold cache.
    rmSync(cacheDir, { recursive: true })
    const rules = await run([{ match: 'favicon.svg', cacheControl: 'public, max-age=86400' }])
    expect(rules.uploaded).toEqual([{ key: `${prefix}favicon.svg`, size: expect.any(Number), reason: 'headers' }])
    expect((await readBackGcs(`${prefix}favicon.svg`))?.headers?.cacheControl).toBe('public, max-age=86400')

    writeFileSync(join(root, 'public/many/0500.txt'), 'changed\n')
    const one = await run([{ match: 'favicon.svg', cacheControl: 'public, max-age=86400' }])
    expect(one.uploaded.map((u) => u.key)).toEqual([`${prefix}many/0500.txt`])
    expect(count(WRITES)).toBe(5) // the file, its live content kept before it is replaced, the release record, and the manifest twice: the mark before it, the commit after
    expect(count(LIST)).toBe(0)
  } finally {
    await proxy.close()
  }
})
