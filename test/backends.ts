import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import { DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, inject } from 'vitest'
import { deploy } from '../src/index.js'
import type { DeployOptions, DeployReport, Strategy } from '../src/index.js'
import { filesystem } from '../src/strategies/filesystem.js'
import { gcs } from '../src/strategies/gcs.js'
import { S3_BUCKET } from './setup/servers.js'
import { writeTree } from './helpers.js'
import { GCS_BUCKET, emulatorStorage, readBackGcs } from './strategies/gcs-emulator.js'
import { AZURITE_KEY, azuriteContainer, azuriteStrategy, readBackAzure } from './strategies/azurite.js'
import { type StoredObject, memory } from './strategies/memory.js'
import { countingClient, localS3, readBackS3 } from './strategies/s3-servers.js'

// The storages the deploy's safety is tested on, each with an independent way to look into it,
// and a project that deploys successive versions of a site to one of them.

export const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A storage to run these tests against, with an independent way to look into it. */
export interface Backend {
  name: string
  strategy(prefix: string): Strategy
  /** Every key under `prefix`, read without the strategy. */
  keys(prefix: string): Promise<string[]>
  put(key: string, body: string): Promise<void>
  remove(key: string): Promise<void>
  cacheControl(key: string): Promise<string | undefined>
  /** The stored bytes and Content-Encoding, as a separate client reads them. */
  read(key: string): Promise<{ bytes: Uint8Array; contentEncoding?: string } | undefined>
  /** The same storage for a child process (test/fixtures/deploy-child.mjs); none for memory. */
  child?(): ChildTarget
  /** Whether its conditional writes hold (through the test servers' emulations where the server ignores them). */
  conditional: boolean
  /** Keeps what is stored under `prefix` now; the function returned puts it back, exactly (local storages only). */
  snapshot?(prefix: string): () => void
}

/** A storage as a child process that deploys (and is killed) reaches it. */
export type ChildTarget = { kind: 'fs'; dir: string } | { kind: 's3'; endpoint: string } | { kind: 'gcs'; endpoint: string } | { kind: 'azure'; endpoint: string; accountKey: string }

const memoryObjects = new Map<string, StoredObject>()
const fsRoot = mkdtempSync(join(tmpdir(), 'collectfasta-safe-fs-'))
dirs.push(fsRoot)

export const backends: Backend[] = [
  {
    name: 'memory',
    conditional: true,
    snapshot: (prefix) => {
      const kept = [...memoryObjects].filter(([key]) => key.startsWith(prefix))
      return () => {
        for (const key of [...memoryObjects.keys()]) if (key.startsWith(prefix)) memoryObjects.delete(key)
        for (const [key, object] of kept) memoryObjects.set(key, { ...object })
      }
    },
    strategy: (prefix) => memory({ prefix, objects: memoryObjects }),
    keys: async (prefix) => [...memoryObjects.keys()].filter((k) => k.startsWith(prefix)),
    put: async (key, body) => void memoryObjects.set(key, { bytes: Buffer.from(body), headers: { contentType: 'text/plain' } }),
    remove: async (key) => void memoryObjects.delete(key),
    cacheControl: async (key) => memoryObjects.get(key)?.headers.cacheControl,
    read: async (key) => {
      const object = memoryObjects.get(key)
      return object && { bytes: object.bytes, contentEncoding: object.headers.contentEncoding }
    },
  },
  {
    name: 'filesystem',
    conditional: true,
    snapshot: (prefix) => {
      const kept = mkdtempSync(join(tmpdir(), 'collectfasta-snapshot-'))
      dirs.push(kept)
      cpSync(join(fsRoot, prefix), kept, { recursive: true })
      return () => {
        rmSync(join(fsRoot, prefix), { recursive: true, force: true })
        cpSync(kept, join(fsRoot, prefix), { recursive: true })
      }
    },
    strategy: (prefix) => filesystem({ dir: fsRoot, prefix }),
    child: () => ({ kind: 'fs', dir: fsRoot }),
    keys: async (prefix) =>
      readdirSync(fsRoot, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => relative(fsRoot, join(d.parentPath, d.name)).split(sep).join('/'))
        .filter((key) => key.startsWith(prefix)),
    put: async (key, body) => {
      mkdirSync(dirname(join(fsRoot, key)), { recursive: true })
      writeFileSync(join(fsRoot, key), body)
    },
    remove: async (key) => rmSync(join(fsRoot, key)),
    cacheControl: async () => undefined,
    read: async (key) => (existsSync(join(fsRoot, key)) ? { bytes: readFileSync(join(fsRoot, key)) } : undefined),
  },
  {
    name: 's3 (fauxqs)',
    conditional: true,
    // Through the test proxy's emulation of S3's conditional writes, which fauxqs ignores.
    strategy: (prefix) => localS3(inject('fauxqsConditionalEndpoint'), prefix),
    child: () => ({ kind: 's3', endpoint: inject('fauxqsConditionalEndpoint') }),
    keys: async (prefix) => {
      const { client } = countingClient(inject('fauxqsEndpoint'))
      const page = await client.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: prefix }))
      client.destroy()
      return (page.Contents ?? []).map((o) => o.Key!)
    },
    put: async (key, body) => {
      const { client } = countingClient(inject('fauxqsEndpoint'))
      await client.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: key, Body: body }))
      client.destroy()
    },
    remove: async (key) => {
      const { client } = countingClient(inject('fauxqsEndpoint'))
      await client.send(new DeleteObjectCommand({ Bucket: S3_BUCKET, Key: key }))
      client.destroy()
    },
    cacheControl: async (key) => {
      const { client } = countingClient(inject('fauxqsEndpoint'))
      const head = await client.send(new HeadObjectCommand({ Bucket: S3_BUCKET, Key: key }))
      client.destroy()
      return head.CacheControl
    },
    read: async (key) => {
      const object = await readBackS3(inject('fauxqsEndpoint'), key)
      return object && { bytes: object.bytes, contentEncoding: object.headers?.contentEncoding }
    },
  },
  {
    name: 'gcs (emulator)',
    conditional: true,
    // Through the emulation of generation preconditions, which the emulator lacks.
    strategy: (prefix) => gcs({ bucket: GCS_BUCKET, prefix, storage: emulatorStorage(inject('gcsConditionalEndpoint')) }),
    child: () => ({ kind: 'gcs', endpoint: inject('gcsConditionalEndpoint') }),
    keys: async (prefix) => (await emulatorStorage().bucket(GCS_BUCKET).getFiles({ prefix }))[0].map((f) => f.name),
    put: async (key, body) => emulatorStorage().bucket(GCS_BUCKET).file(key).save(body, { resumable: false }),
    remove: async (key) => void (await emulatorStorage().bucket(GCS_BUCKET).file(key).delete()),
    cacheControl: async (key) => (await emulatorStorage().bucket(GCS_BUCKET).file(key).getMetadata())[0].cacheControl,
    read: async (key) => {
      const object = await readBackGcs(key)
      return object && { bytes: object.bytes, contentEncoding: object.headers?.contentEncoding }
    },
  },
  {
    name: 'azure (Azurite)',
    // Azurite honours If-Match and If-None-Match itself: no emulation in front.
    conditional: true,
    strategy: (prefix) => azuriteStrategy(prefix),
    child: () => ({ kind: 'azure', endpoint: inject('azuriteEndpoint'), accountKey: AZURITE_KEY }),
    keys: async (prefix) => {
      const keys: string[] = []
      for await (const blob of (await azuriteContainer()).listBlobsFlat({ prefix })) keys.push(blob.name)
      return keys
    },
    put: async (key, body) => void (await (await azuriteContainer()).getBlockBlobClient(key).upload(body, Buffer.byteLength(body))),
    remove: async (key) => void (await (await azuriteContainer()).getBlockBlobClient(key).delete()),
    cacheControl: async (key) => (await (await azuriteContainer()).getBlockBlobClient(key).getProperties()).cacheControl,
    read: async (key) => {
      const object = await readBackAzure(key)
      return object && { bytes: object.bytes, contentEncoding: object.headers?.contentEncoding }
    },
  },
]

let sites = 0

/** A project that deploys successive versions of a site under a fresh prefix of `backend`. */
export function project(backend: Backend) {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-safe-'))
  dirs.push(root)
  sites += 1
  const prefix = `safe-${process.pid}-${Date.now().toString(36)}-${sites}/`
  const warnings: string[] = []
  const infos: string[] = []
  /** Replaces dist/ with version `v` of the site: its own hashed chunk, shared files. */
  const version = (v: number, extra: Record<string, string> = {}) => {
    rmSync(join(root, 'dist'), { recursive: true, force: true })
    writeTree(join(root, 'dist'), {
      'index.html': `<script src="/assets/app-v${v}.js"></script>`,
      [`assets/app-v${v}.js`]: `app(${v})`,
      'assets/vendor-1.js': 'vendor()',
      'robots.txt': 'User-agent: *',
      ...extra,
    })
  }
  const run = (options: Partial<DeployOptions> = {}): Promise<DeployReport> =>
    deploy({
      outDir: 'dist',
      root,
      strategy: backend.strategy(prefix),
      logger: { info: (m) => void infos.push(m), warn: (m) => void warnings.push(m) },
      ...options,
    })
  const manifest = `${prefix}.collectfasta/manifest.json`
  /** The site's keys in the storage, relative to the prefix, without our own folder (the manifest, release records, kept copies). */
  const stored = async () =>
    (await backend.keys(prefix))
      .filter((k) => !k.startsWith(`${prefix}.collectfasta/`))
      .map((k) => k.slice(prefix.length))
      .sort()
  /** The strategy, with uploads of matching keys failing and deletes recorded. */
  const failingStrategy = (fail: (key: string) => boolean) => {
    const strategy = backend.strategy(prefix)
    const deletes: string[][] = []
    return {
      deletes,
      strategy: {
        ...strategy,
        upload: (file, ctx) => (fail(file.key) ? Promise.reject(new Error('simulated 503')) : strategy.upload(file, ctx)),
        delete: async (keys, ctx) => {
          deletes.push(keys)
          await strategy.delete?.(keys, ctx)
        },
      } satisfies Strategy,
    }
  }
  return { root, prefix, manifest, warnings, infos, version, run, stored, failingStrategy }
}

