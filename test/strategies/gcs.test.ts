import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync, gzipSync } from 'node:zlib'
import { describe, expect, inject, it } from 'vitest'
import { DEFAULTS } from '../../src/defaults.js'
import { Storage } from '@google-cloud/storage'
import { OAuth2Client } from 'google-auth-library'
import { isThrottle } from '../../src/strategy.js'
import { gcs } from '../../src/strategies/gcs.js'
import { METADATA_MD5 } from '../../src/strategies/utils.js'
import { recordingProxy } from '../servers/proxy.mjs'
import { context, runContract, uploadFile } from './contract.js'
import { bodyWithoutEnd } from '../helpers.js'
import { GCS_BUCKET, emulatorStorage, readBackGcs } from './gcs-emulator.js'

// The emulator ignores generation preconditions: the contract runs through the test server's
// emulation of them (test/servers/gcs-preconditions.mjs), as Cloud Storage answers.
runContract({
  name: 'gcs on the Cloud Storage emulator (generation preconditions emulated)',
  create: (prefix) => gcs({ bucket: GCS_BUCKET, prefix, storage: emulatorStorage(inject('gcsConditionalEndpoint')) }),
  storesHeaders: true,
  honoursConditions: true,
  readBack: (_strategy, key) => readBackGcs(key),
})

describe('gcs strategy on the emulator', () => {
  it('lists our digests and header fingerprint from custom metadata, and the stored headers', async () => {
    const strategy = gcs({ bucket: GCS_BUCKET, prefix: 'digests/', storage: emulatorStorage() })
    const file = await uploadFile('digests/a.css', 'a{}', { contentType: 'text/css; charset=utf-8', cacheControl: 'no-cache' })
    await strategy.upload(file, context())
    const listed = []
    for await (const object of strategy.list(context())) listed.push(object)
    expect(listed).toEqual([
      {
        key: 'digests/a.css',
        modified: expect.any(Number),
        size: 3,
        md5: file.md5(),
        xxh64: file.xxh64,
        headersFingerprint: file.headersFingerprint,
        // The listing carries them: check and verify compare headers without a request per object.
        headers: {
          contentType: 'text/css; charset=utf-8',
          cacheControl: 'no-cache',
          contentEncoding: null,
          metadata: { 'collectfasta-md5': file.md5(), 'collectfasta-xxh64': file.xxh64, 'collectfasta-headers': file.headersFingerprint },
        },
        version: expect.any(String),
      },
    ])
  })

  it('uploads a large file with a resumable upload', async () => {
    const strategy = gcs({ bucket: GCS_BUCKET, prefix: 'resumable/', storage: emulatorStorage(), resumableThreshold: 1024 * 1024 })
    const bytes = new Uint8Array(3 * 1024 * 1024)
    for (let i = 0; i < bytes.length; i += 777) bytes[i] = i & 0xff
    await strategy.upload(await uploadFile('resumable/big.bin', bytes), context())
    expect(Buffer.from((await readBackGcs('resumable/big.bin'))!.bytes).equals(bytes)).toBe(true)
  })

  it('pages the listing 1,000 objects at a time', async () => {
    const strategy = gcs({ bucket: GCS_BUCKET, prefix: 'paging/', storage: emulatorStorage() })
    const { runPool } = await import('../../src/pool.js')
    const keys = Array.from({ length: 1003 }, (_, i) => `paging/${String(i).padStart(4, '0')}.txt`)
    await runPool(keys, async (key) => void (await strategy.upload(await uploadFile(key, key), context())), { limit: 16 })
    const ctx = context()
    const listed: string[] = []
    for await (const object of strategy.list(ctx)) listed.push(object.key)
    expect(listed.sort()).toEqual(keys)
    expect(ctx.counts.list).toBe(2)
  })
})

describe('gcs simple uploads on the lean JSON API path', () => {
  it('one multipart POST of ours (not the SDK), carrying the name, the metadata and md5Hash; a conditional one carries ifGenerationMatch', async () => {
    const proxy = await recordingProxy(inject('gcsEndpoint'))
    try {
      const key = `lean-${Date.now().toString(36)}/a.css`
      const strategy = gcs({ bucket: GCS_BUCKET, storage: emulatorStorage(proxy.url) })
      const file = await uploadFile(key, 'a{}', { contentType: 'text/css; charset=utf-8', cacheControl: 'no-cache', metadata: { owner: 'me' } })
      const stored = await strategy.upload(file, context())
      const uploads = proxy.requests.filter((r) => r.kind === 'PUT')
      expect(uploads).toHaveLength(1)
      expect(uploads[0]).toMatchObject({ method: 'POST', path: `/upload/storage/v1/b/${GCS_BUCKET}/o` })
      expect(uploads[0]!.headers['user-agent']).toBe('collectfasta-gcs')
      expect(uploads[0]!.headers['content-type']).toMatch(/^multipart\/related; boundary=/)
      expect(new URLSearchParams(uploads[0]!.query).get('uploadType')).toBe('multipart')
      expect(new URLSearchParams(uploads[0]!.query).get('name')).toBe(key)
      expect(stored).toMatchObject({ key, version: expect.stringMatching(/^\d+$/), modified: expect.any(Number) })
      const back = await readBackGcs(key)
      expect(back?.headers).toMatchObject({ contentType: 'text/css; charset=utf-8', cacheControl: 'no-cache', metadata: { owner: 'me', [METADATA_MD5]: file.md5() } })

      proxy.reset()
      const again = await uploadFile(key, 'b{}', { contentType: 'text/css; charset=utf-8' })
      again.ifVersion = stored!.version
      await strategy.upload(again, context())
      const conditional = proxy.requests.filter((r) => r.kind === 'PUT')
      expect(conditional).toHaveLength(1)
      expect(new URLSearchParams(conditional[0]!.query).get('ifGenerationMatch')).toBe(stored!.version)
      expect(conditional[0]!.headers['user-agent']).toBe('collectfasta-gcs')
    } finally {
      await proxy.close()
    }
  })

  it('a plain upload that meets a newer generation (412) is sent again once, under the generation there now', async () => {
    const proxy = await recordingProxy(inject('gcsConditionalEndpoint'))
    try {
      const prefix = `reread-${Date.now().toString(36)}/`
      const strategy = gcs({ bucket: GCS_BUCKET, prefix, storage: emulatorStorage(proxy.url) })
      for await (const _ of strategy.list(context())) throw new Error('the prefix should be empty')
      // Written by someone else after the listing: this deploy still believes the key is free (generation 0).
      await emulatorStorage().bucket(GCS_BUCKET).file(`${prefix}a.txt`).save('theirs')
      proxy.reset()
      const stored = await strategy.upload(await uploadFile(`${prefix}a.txt`, 'ours'), context())
      const uploads = proxy.requests.filter((r) => r.kind === 'PUT')
      expect(uploads.map((r) => new URLSearchParams(r.query).get('ifGenerationMatch'))).toEqual(['0', expect.stringMatching(/^[1-9]\d*$/)])
      expect(uploads.map((r) => r.headers['user-agent'])).toEqual(['collectfasta-gcs', 'collectfasta-gcs'])
      expect(stored?.version).not.toBe(new URLSearchParams(uploads[1]!.query).get('ifGenerationMatch'))
      expect(Buffer.from((await readBackGcs(`${prefix}a.txt`))!.bytes).toString()).toBe('ours')
    } finally {
      await proxy.close()
    }
  })

  it('a 503 is a throttle for the core to slow down for: not sent again here', async () => {
    const proxy = await recordingProxy(inject('gcsEndpoint'), { rates: { slowDown: 1 }, maxFaults: 1 })
    try {
      const strategy = gcs({ bucket: GCS_BUCKET, storage: emulatorStorage(proxy.url) })
      const error = await strategy.upload(await uploadFile(`throttle-${Date.now().toString(36)}/a.txt`, 'x'), context()).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).message).toMatch(/^\[collectfasta\] \[gcs\] Request failed \(503\) .*asked to slow down/)
      expect(isThrottle(error)).toBe(true)
      expect(proxy.requests.filter((r) => r.kind === 'PUT')).toHaveLength(1)
    } finally {
      await proxy.close()
    }
  })

  it("a user's own Storage that authenticates keeps the SDK for uploads", async () => {
    const proxy = await recordingProxy(inject('gcsEndpoint'))
    try {
      // A token that needs no network: the emulator ignores it, the SDK sends it.
      const authClient = new OAuth2Client()
      authClient.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 3_600_000 })
      const storage = new Storage({ apiEndpoint: proxy.url, useAuthWithCustomEndpoint: true, authClient, projectId: 'collectfasta-test' })
      const key = `sdk-${Date.now().toString(36)}/a.txt`
      await gcs({ bucket: GCS_BUCKET, storage }).upload(await uploadFile(key, 'sdk bytes'), context())
      const uploads = proxy.requests.filter((r) => r.kind === 'PUT')
      expect(uploads).toHaveLength(1)
      expect(uploads[0]!.headers['user-agent']).not.toBe('collectfasta-gcs')
      expect(uploads[0]!.headers.authorization).toBe('Bearer test-token')
      expect(Buffer.from((await readBackGcs(key))!.bytes).toString()).toBe('sdk bytes')
    } finally {
      await proxy.close()
    }
  })
})

describe('gcs strategy errors', () => {
  it('requires a bucket, and says how to give one', () => {
    expect(() => gcs({} as never)).toThrow(/\[collectfasta\] \[gcs\] Missing required option `bucket`/)
    expect(() => gcs({ bucket: 'a/b' })).toThrow(/put the folder in `prefix`/)
    expect(() => gcs({ bucket: 'b', maxAttempts: 0 })).toThrow(/Expected `maxAttempts` to be an integer ≥ 1/)
    expect(gcs({ bucket: 'b', prefix: 'static' }).target).toBe('gs://b/static/')
  })

  // The emulator creates buckets on first write and checks no credentials: a storage that
  // fails the way Cloud Storage does stands in for these.
  const failing = (error: object) => {
    const reject = async () => Promise.reject(Object.assign(new Error('Cloud Storage said no'), error))
    const file = () => ({ save: reject, getMetadata: reject, delete: reject, metadata: {} })
    const storage = { bucket: () => ({ file, getFiles: reject }) }
    return gcs({ bucket: 'site', storage: storage as never })
  }
  it.each([
    [{ code: 404, message: 'The specified bucket does not exist.' }, /gs:\/\/site\/k: The specified bucket does not exist\. Check `bucket` and `projectId`\.$/],
    [{ code: 403, message: 'x does not have storage.objects.create access' }, /Permission denied\. .*storage\.objects\.create/],
    [{ message: 'Could not load the default credentials.' }, /No usable credentials\. Run `gcloud auth application-default login`/],
  ])('explains %o', async (error, message) => {
    await expect(failing(error).upload(await uploadFile('k', 'k'), context())).rejects.toThrow(message)
  })
})

describe('gcs strategy against servers that misbehave', () => {
  /** A loopback server speaking just enough of the JSON API: `answer` decides each reply. */
  const fakeGcs = async (answer: (req: IncomingMessage, res: ServerResponse, n: number) => void) => {
    let n = 0
    const server = createServer((req, res) => answer(req, res, n++))
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    const { port } = server.address() as AddressInfo
    return {
      strategy: gcs({ bucket: GCS_BUCKET, prefix: 'p/', storage: emulatorStorage(`http://127.0.0.1:${port}`), maxAttempts: 1 }),
      requests: () => n,
      close: () => new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
    }
  }
  const json = (res: ServerResponse, body: object) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const drain = async (strategy: ReturnType<typeof gcs>) => {
    const keys: string[] = []
    for await (const object of strategy.list(context())) keys.push(object.key)
    return keys
  }

  it('a listing that answers the same page token again fails at once, with a sentence', async () => {
    const fake = await fakeGcs((_req, res, n) => json(res, { items: [{ name: `p/a${n}.txt`, size: '1', generation: '1' }], nextPageToken: 'same' }))
    try {
      await expect(drain(fake.strategy)).rejects.toThrow(/\[gcs\] The listing of gs:\/\/collectfasta-test\/p\/ does not end: page 2 answered a page token it had given before/)
      expect(fake.requests()).toBe(2)
    } finally {
      await fake.close()
    }
  })

  it('a listing of empty pages that each hand out a new token stops after 100 of them, with a sentence', async () => {
    const fake = await fakeGcs((_req, res, n) => json(res, { nextPageToken: `t${n}` }))
    try {
      await expect(drain(fake.strategy)).rejects.toThrow(/does not end: it gave 100 empty pages in a row, each saying there is more/)
      expect(fake.requests()).toBe(101)
    } finally {
      await fake.close()
    }
  })

  it('a listing that hands out new pages without end stops at the page cap, with a sentence', async () => {
    const fake = await fakeGcs((_req, res, n) => json(res, { items: [{ name: `p/k${n}`, size: '1', generation: '1' }], nextPageToken: `t${n}` }))
    const limits = DEFAULTS as { maxListPages: number }
    const cap = limits.maxListPages
    limits.maxListPages = 500 // the same code path as 100,000 pages, in a fraction of the time
    try {
      await expect(drain(fake.strategy)).rejects.toThrow(/does not end: it gave over 500 pages of 1,000 keys/)
      expect(fake.requests()).toBe(501)
    } finally {
      limits.maxListPages = cap
      await fake.close()
    }
  })

  it('the manifest read stops at maxManifestBytes: a body without end is refused, not held', async () => {
    const fake = await fakeGcs((_req, res) => bodyWithoutEnd(res))
    const limits = DEFAULTS as { maxManifestBytes: number }
    const cap = limits.maxManifestBytes
    limits.maxManifestBytes = 1024 * 1024 // the same code path as 256 MiB, in a fraction of the time
    try {
      await expect(fake.strategy.get('p/.collectfasta/manifest.json', context())).rejects.toThrow(
        /\[gcs\] gs:\/\/collectfasta-test\/p\/\.collectfasta\/manifest\.json is larger than 1048576 bytes, more than a deploy manifest may hold: it was not read/,
      )
    } finally {
      limits.maxManifestBytes = cap
      await fake.close()
    }
  })

  it('the manifest read never un-gzips: a gzip-encoded object comes back as its stored bytes', async () => {
    const key = `gzip-${Date.now().toString(36)}/manifest.json`
    const json = JSON.stringify({ hello: 'x'.repeat(1000) })
    await emulatorStorage().bucket(GCS_BUCKET).file(key).save(gzipSync(json), { metadata: { contentType: 'application/json', contentEncoding: 'gzip' } })
    const bytes = await gcs({ bucket: GCS_BUCKET, storage: emulatorStorage() }).get(key, context())
    expect(Buffer.from(bytes!).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    expect(gunzipSync(bytes!).toString()).toBe(json)
  })

  it.each([
    ['a 500', 'error500'],
    ['a dropped connection (ECONNRESET)', 'resetRequest'],
  ] as const)('an upload on a warm cache (no generation known) is sent again after %s', async (_name, fault) => {
    const proxy = await recordingProxy(inject('gcsEndpoint'), { rates: { [fault]: 1 }, maxFaults: 1 })
    try {
      const key = `retry-${fault}-${Date.now().toString(36)}/a.txt`
      const strategy = gcs({ bucket: GCS_BUCKET, storage: emulatorStorage(proxy.url) })
      await strategy.upload(await uploadFile(key, 'same bytes'), context())
      expect(proxy.faults.count).toBe(1)
      const uploads = proxy.requests.filter((r) => r.kind === 'PUT')
      expect(uploads).toHaveLength(2)
      expect(uploads.map((r) => r.headers['user-agent'])).toEqual(['collectfasta-gcs', 'collectfasta-gcs'])
      expect(Buffer.from((await readBackGcs(key))!.bytes).toString()).toBe('same bytes')
    } finally {
      await proxy.close()
    }
  })
})
