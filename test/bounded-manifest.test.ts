import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type ManifestDeploy, historyOf, parseManifest } from '../src/core/deploy-manifest.js'
import { type DeployOptions, deploy } from '../src/index.js'
import { S3_BUCKET } from './setup/servers.js'
import { writeTree } from './helpers.js'
import { countingClient, countingProxy, localS3, readBackS3 } from './strategies/s3-servers.js'

// A deploy manifest is read from a bucket others can write: whatever it lists, it costs bounded
// work (a refusal, one listing), never a request per path, and never blocks later deploys.

const dirs: string[] = []
const proxies: { close(): Promise<void> }[] = []
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  for (const proxy of proxies) await proxy.close()
})

/** Far more folders than maxDeletes (256) and than one listing page (1,000). */
const FOLDERS = 3000
let sites = 0

/** A site on fauxqs, deployed through a proxy that counts every request. */
async function site() {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-bounded-'))
  dirs.push(root)
  const endpoint = inject('fauxqsEndpoint')
  const counter = await countingProxy(endpoint)
  proxies.push(counter)
  const prefix = `bounded-${process.pid}-${Date.now().toString(36)}-${++sites}/`
  const warnings: string[] = []
  const version = (v: number) => {
    rmSync(join(root, 'dist'), { recursive: true, force: true })
    writeTree(join(root, 'dist'), { 'index.html': `<script src="/assets/app-v${v}.js"></script>`, [`assets/app-v${v}.js`]: `app(${v})` })
  }
  const run = (options: Partial<DeployOptions> = {}) => {
    counter.reset()
    return deploy({ outDir: 'dist', root, strategy: localS3(counter.url, prefix), logger: { info() {}, warn: (m) => void warnings.push(m) }, ...options })
  }
  const manifestKey = `${prefix}.collectfasta/manifest.json`
  const put = async (key: string, body: string) => {
    const { client } = countingClient(endpoint)
    await client.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: key, Body: body }))
    client.destroy()
  }
  /** The stored manifest with `deploy` appended as its oldest deploy, written behind the plugin's back. */
  const appendDeploy = async (deploy: ManifestDeploy) => {
    const stored = JSON.parse(Buffer.from((await readBackS3(endpoint, manifestKey))?.bytes ?? []).toString())
    stored.deploys.push(deploy)
    await put(manifestKey, JSON.stringify(stored))
  }
  return { prefix, version, run, counts: counter.counts, requests: counter.proxy.requests, warnings, put, appendDeploy, manifestKey, endpoint }
}

const oneFileFolders = (n: number) => Array.from({ length: n }, (_, i) => `old-${i}/x.js`)

describe('a manifest of thousands of one-file folders', () => {
  it('maxDeletes refuses before any per-folder request; the nested-site check is one listing', async () => {
    const s = await site()
    s.version(1)
    await s.run()
    // An old deploy (never a reference of the shrink guard) of 3,000 one-file folders, and one of
    // those folders holding another site.
    await s.appendDeploy({ at: '2020-01-01T00:00:00.000Z', paths: oneFileFolders(FOLDERS), shrunk: true })
    await s.put(`${s.prefix}old-7/.collectfasta/manifest.json`, '{}')

    s.version(2)
    const refused = await s.run({ dryRun: true, prune: { keepDeploys: 1 } })
    expect(refused.pruneRefused).toMatch(/^3000 stale objects exceed prune\.maxDeletes \(256\); nothing was deleted\./)
    // The manifest's version and body, and one listing page: no HEAD per folder (there were 3,001).
    expect(s.counts).toEqual({ HeadObject: 1, GetObject: 1, ListObjectsV2: 1 })

    const allowed = await s.run({ dryRun: true, prune: { keepDeploys: 1, maxDeletes: 100_000 } })
    expect(allowed.pruneRefused).toBeUndefined()
    // v1's chunk and every old folder but the one holding another site.
    expect(allowed.deleted).toHaveLength(1 + FOLDERS - 1)
    expect(allowed.deleted).not.toContain(`${s.prefix}old-7/x.js`)
    // And v1's release record: v1 leaves the kept window, its kept copies may go.
    expect(s.counts).toEqual({ HeadObject: 1, GetObject: 2, ListObjectsV2: 1 })

    // Where the plan did not list (the cache decides), the check lists once, not 3,000 HEADs.
    const trusted = await s.run({ dryRun: true, trustCache: true, prune: { keepDeploys: 1, maxDeletes: 100_000 } })
    expect(trusted.deleted).toHaveLength(FOLDERS)
    expect(trusted.deleted).not.toContain(`${s.prefix}old-7/x.js`)
    expect(s.counts.ListObjectsV2).toBe(1)
    expect(s.counts.HeadObject ?? 0).toBeLessThanOrEqual(1)
  })

  it('a build the shrink guard refuses costs no per-folder request', async () => {
    const s = await site()
    s.version(1)
    await s.run()
    // The old deploy is the largest full one kept: a 2-file build is far smaller.
    await s.appendDeploy({ at: '2020-01-01T00:00:00.000Z', paths: oneFileFolders(FOLDERS) })
    s.version(2)
    const report = await s.run({ dryRun: true, prune: { keepDeploys: 1, maxDeletes: 100_000 } })
    expect(report.pruneRefused).toMatch(/^this deploy has 2 file\(s\), fewer than 50% of the 3000 of the largest full deploy kept/)
    expect(s.counts).toEqual({ HeadObject: 1, GetObject: 1, ListObjectsV2: 1 })
  })
})

describe('a manifest path over the key limit', () => {
  it('is dropped with a warning: prune deploys go on, the next manifest no longer holds it', async () => {
    const s = await site()
    s.version(1)
    await s.run()
    const long = `${'a/'.repeat(100_000)}x.js`
    await s.appendDeploy({ at: '2020-01-01T00:00:00.000Z', paths: [long], shrunk: true })

    s.version(2)
    const pruned = await s.run({ prune: { keepDeploys: 1 } })
    expect(pruned.failed).toEqual([])
    expect(pruned.pruneFailed).toBeUndefined()
    expect(pruned.deleted).toEqual([`${s.prefix}assets/app-v1.js`])
    expect(s.warnings.join('\n')).toMatch(/Ignored 1 path\(s\) in the deploy manifest longer than the storage's key limit \(\d+ bytes under this prefix\): no deploy wrote them\./)
    // No request carried it (it made a 431 of 689,050 characters).
    expect(s.requests.length).toBeGreaterThan(0)
    expect(s.requests.filter((r) => r.path.length > 2000)).toEqual([])
    const stored = Buffer.from((await readBackS3(s.endpoint, s.manifestKey))?.bytes ?? []).toString()
    expect(stored.length).toBeLessThan(10_000)
    expect(stored).not.toContain('a/a/a/')

    s.version(3)
    const next = await s.run({ prune: { keepDeploys: 1 } })
    expect(next.deleted).toEqual([`${s.prefix}assets/app-v2.js`])
  })

  it('the limit is the key limit less the prefix, in UTF-8 bytes', () => {
    const manifest = (paths: string[]) =>
      Buffer.from(JSON.stringify({ format: 1, tool: 'vite-plugin-collectfasta', deploys: [{ at: 'x', paths }], files: { [paths[0] as string]: { xxh64: '0', headers: '', size: 0, md5: '', version: '' } } }))
    const warnings: string[] = []
    const fits = `${'é'.repeat(500)}.js` // 1,003 bytes
    const over = `${'é'.repeat(511)}.js` // 1,025 bytes
    const parsed = parseManifest(manifest([over, fits]), (m) => void warnings.push(m))
    expect(parsed.deploys[0]?.paths).toEqual([fits])
    expect(Object.keys(parsed.files)).toEqual([])
    expect(warnings).toEqual([expect.stringMatching(/Ignored 2 path\(s\) .* longer than the storage's key limit \(1024 bytes/)])
    // Under a prefix of 30 bytes, 1,003 bytes is too long too.
    expect(parseManifest(manifest([fits]), () => {}, 1024 - 30).deploys[0]?.paths).toEqual([])
  })
})

describe('a manifest that cannot be used', () => {
  it('is replaced by the next full deploy (its history is lost), and prune works again after it', async () => {
    const s = await site()
    s.version(1)
    await s.run()
    await s.put(s.manifestKey, '{ not json')
    s.version(2)
    const replacing = await s.run({ cacheDir: '.cold', prune: { keepDeploys: 1 } })
    expect(replacing.pruneRefused).toMatch(/exists but cannot be read/)
    expect(replacing.manifest?.key).toBe(s.manifestKey)
    s.version(3)
    const next = await s.run({ prune: { keepDeploys: 1 } })
    expect(next.pruneRefused).toBeUndefined()
    // v1's file is forgotten with the old history (prune.unknown would find it); v2's is pruned.
    expect(next.deleted).toEqual([`${s.prefix}assets/app-v2.js`])
  })
})

describe('historyOf: one line per deploy id', () => {
  const line = (id: string | undefined, at = id ?? 'x'): ManifestDeploy => ({ at, paths: [], ...(id === undefined ? {} : { id }) })
  it.each([
    ['[A, B, A] (a mark kept as a deploy, then its commit)', ['A', 'B', 'A'], ['A', 'B']],
    ['[B, A, B, A]', ['B', 'A', 'B', 'A'], ['B', 'A']],
    ['distinct ids', ['C', 'B', 'A'], ['C', 'B', 'A']],
    ['lines without an id (older versions) are all kept', [undefined, 'A', undefined, 'A'], [undefined, 'A', undefined]],
    ['empty', [], []],
  ])('%s', (_, ids, kept) => {
    expect(historyOf(ids.map((id) => line(id))).map((d) => d.id)).toEqual(kept)
  })

  it('keeps the newest line of an id', () => {
    expect(historyOf([line('A', 'new'), line('B'), line('A', 'old')]).map((d) => d.at)).toEqual(['new', 'B'])
  })
})
