import { describe, expect, inject, it } from 'vitest'
import { s3 } from '../../src/strategies/s3.js'
import { context, runContract, uploadFile } from './contract.js'
import { LOCAL_SERVERS, headS3, localS3, readBackS3 } from './s3-servers.js'

for (const server of LOCAL_SERVERS) {
  runContract({
    name: `s3 on ${server.name}`,
    create: (prefix) => localS3(server.endpoint(), prefix),
    storesHeaders: true,
    readBack: (_strategy, key) => readBackS3(server.endpoint(), key),
  })

  describe(`s3 strategy on ${server.name}`, () => {
    it('uploads a multipart-sized file in parts, stores its digests, and stat() finds them', async () => {
      const strategy = localS3(server.endpoint(), 'multipart/', { multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 })
      const bytes = new Uint8Array(12 * 1024 * 1024)
      for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i / 4096) & 0xff
      const file = await uploadFile('multipart/big.bin', bytes, { contentType: 'application/octet-stream', cacheControl: 'no-cache' })
      const ctx = context()
      await strategy.upload(file, ctx)
      expect(ctx.counts.upload).toBe(2 + 3) // create + 3 parts + complete
      expect(Buffer.from((await readBackS3(server.endpoint(), 'multipart/big.bin'))!.bytes).equals(bytes)).toBe(true)
      const head = await headS3(server.endpoint(), 'multipart/big.bin')
      expect(head.CacheControl).toBe('no-cache')
      const stat = await strategy.stat('multipart/big.bin', context())
      expect(stat).toMatchObject({ md5: file.md5(), xxh64: file.xxh64, size: bytes.length })
      await strategy.dispose?.()
    })

    it('pages the listing 1,000 keys at a time', async () => {
      const strategy = localS3(server.endpoint(), 'paging/')
      const keys = Array.from({ length: 1005 }, (_, i) => `paging/${String(i).padStart(4, '0')}.txt`)
      const ctx = context()
      const { runPool } = await import('../../src/pool.js')
      await runPool(keys, async (key) => void (await strategy.upload(await uploadFile(key, key), ctx)), { limit: 16 })
      const listCtx = context()
      const listed: string[] = []
      for await (const object of strategy.list(listCtx)) listed.push(object.key)
      expect(listed.sort()).toEqual(keys)
      expect(listCtx.counts.list).toBe(2)
      await strategy.dispose?.()
    })

    it('explains a missing bucket', async () => {
      const strategy = s3({ ...{ bucket: 'no-such-bucket-here' }, endpoint: server.endpoint(), forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
      const error = (await strategy.upload(await uploadFile('a.txt', 'a'), context()).catch((e: unknown) => e)) as Error
      expect(error.message).toMatch(/\[collectfasta\] \[s3\] NoSuchBucket .*s3:\/\/no-such-bucket-here\/a\.txt.*does not exist.*Check `bucket`/)
      expect(error.message.match(/does not exist/g)).toHaveLength(1) // said once, not twice
    })
  })
}

describe('s3 strategy errors', () => {
  it('explains refused credentials (s3rver checks signatures)', async () => {
    const strategy = s3({
      bucket: 'collectfasta-test',
      endpoint: inject('s3rverEndpoint'),
      forcePathStyle: true,
      credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' },
    })
    await expect(strategy.upload(await uploadFile('a.txt', 'a'), context())).rejects.toThrow(
      /\[s3\] InvalidAccessKeyId .*s3:\/\/collectfasta-test\/a\.txt.*Check AWS_ACCESS_KEY_ID/,
    )
  })

  // A local server cannot answer like AWS does for these: a client that fails the way AWS does.
  const failing = (error: object) =>
    s3({ bucket: 'site', client: { send: async () => Promise.reject(Object.assign(new Error('AWS said no'), error)), destroy() {} } as never })
  it.each([
    [{ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, /AccessDenied \(HTTP 403\) for s3:\/\/site\/k.*s3:PutObject/],
    [
      { name: 'PermanentRedirect', $metadata: { httpStatusCode: 301 }, $response: { headers: { 'x-amz-bucket-region': 'eu-west-1' } } },
      /another region \(eu-west-1\)\. Set `region`: 'eu-west-1'/,
    ],
    [{ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }, /The bucket `site` does not exist/],
  ])('explains %o', async (error, message) => {
    await expect(failing(error).upload(await uploadFile('k', 'k'), context())).rejects.toThrow(message)
  })
})

describe('s3 strategy without a server', () => {
  it('requires a bucket, and says how to give one', () => {
    expect(() => s3({} as never)).toThrow(/\[collectfasta\] \[s3\] Missing required option `bucket`/)
    expect(() => s3({ bucket: 'a/b' })).toThrow(/put the folder in `prefix`/)
    expect(() => s3({ bucket: 'b', partSize: 1024 })).toThrow(/at least 5 MiB/)
    expect(() => s3({ bucket: 'b', endpoint: 'localhost:9000' })).toThrow(/Expected `endpoint` to be a URL/)
  })

  it('treats prefixes with or without slashes alike', () => {
    expect(s3({ bucket: 'b', prefix: 'static' }).prefix).toBe('static/')
    expect(s3({ bucket: 'b', prefix: '/static/' }).prefix).toBe('static/')
    expect(s3({ bucket: 'b' }).target).toBe('s3://b/')
    expect(() => s3({ bucket: 'b', prefix: '..' })).toThrow(/not a plain path/)
  })

  it('explains a refused connection', async () => {
    const strategy = s3({ bucket: 'b', endpoint: 'http://127.0.0.1:9', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } })
    await expect(strategy.upload(await uploadFile('a.txt', 'a'), context())).rejects.toThrow(/Could not reach http:\/\/127\.0\.0\.1:9/)
  })
})

describe('s3 strategy request parameters', () => {
  it('sends ACL, storage class, encryption, extra params and our digests with every object', async () => {
    const sent: { name: string; input: Record<string, unknown> }[] = []
    const client = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ name: command.constructor.name, input: command.input })
        return { ETag: '"0123456789abcdef0123456789abcdef"' }
      },
      destroy() {},
    }
    const strategy = s3({
      bucket: 'site',
      client: client as never,
      acl: 'public-read',
      storageClass: 'STANDARD_IA',
      serverSideEncryption: 'aws:kms',
      sseKmsKeyId: 'key-1',
      params: (file) => ({ ContentDisposition: `inline; filename="${file.key}"` }),
    })
    const file = await uploadFile('a.css', 'a{}', { contentType: 'text/css', cacheControl: 'no-cache', metadata: { team: 'web' } })
    const stored = await strategy.upload(file, context())
    expect(sent).toHaveLength(1)
    expect(sent[0]!.name).toBe('PutObjectCommand')
    expect(sent[0]!.input).toMatchObject({
      Bucket: 'site',
      Key: 'a.css',
      ACL: 'public-read',
      StorageClass: 'STANDARD_IA',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'key-1',
      ContentType: 'text/css',
      CacheControl: 'no-cache',
      ContentDisposition: 'inline; filename="a.css"',
      ContentMD5: Buffer.from(file.md5(), 'hex').toString('base64'),
      Metadata: { team: 'web', 'collectfasta-md5': file.md5(), 'collectfasta-xxh64': file.xxh64, 'collectfasta-headers': file.headersFingerprint },
    })
    expect(stored?.version).toBe('0123456789abcdef0123456789abcdef')
    // No ACL unless asked: objects stay private.
    sent.length = 0
    await s3({ bucket: 'site', client: client as never }).upload(file, context())
    expect(sent[0]!.input.ACL).toBeUndefined()
  })

  it('treats every ETag as unknown under SSE-KMS, and asks HEAD for the stored digest', async () => {
    const client = {
      send: async () => ({ Contents: [{ Key: 'a.js', Size: 3, ETag: '"0123456789abcdef0123456789abcdef"' }], IsTruncated: false }),
      destroy() {},
    }
    const strategy = s3({ bucket: 'site', client: client as never, serverSideEncryption: 'aws:kms' })
    const listed = []
    for await (const object of strategy.list(context())) listed.push(object)
    expect(listed[0]).toMatchObject({ key: 'a.js', md5: undefined, needsStat: true })
  })
})

describe('s3 listing with EncodingType=url (real S3; the local servers send raw keys)', () => {
  it('decodes keys as S3 encodes them: percent-escapes, and + for a space', async () => {
    const { decodeListedKey } = await import('../../src/strategies/s3.js')
    expect(decodeListedKey('a%0Db')).toBe('a\rb') // raw XML would have given "a\nb"
    expect(decodeListedKey('sp+ace%2Bplus')).toBe('sp ace+plus')
    expect(decodeListedKey('%E6%97%A5%E6%9C%AC/e%CC%81')).toBe('日本/e\u0301')
  })
})
