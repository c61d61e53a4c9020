import { describe, expect, inject, it } from 'vitest'
import { gcs } from '../../src/strategies/gcs.js'
import { context, runContract, uploadFile } from './contract.js'
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
  it('lists our digests and header fingerprint from custom metadata', async () => {
    const strategy = gcs({ bucket: GCS_BUCKET, prefix: 'digests/', storage: emulatorStorage() })
    const file = await uploadFile('digests/a.css', 'a{}', { contentType: 'text/css; charset=utf-8', cacheControl: 'no-cache' })
    await strategy.upload(file, context())
    const listed = []
    for await (const object of strategy.list(context())) listed.push(object)
    expect(listed).toEqual([
      { key: 'digests/a.css', modified: expect.any(Number), size: 3, md5: file.md5(), xxh64: file.xxh64, headersFingerprint: file.headersFingerprint, version: expect.any(String) },
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
