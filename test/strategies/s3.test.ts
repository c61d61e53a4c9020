import { S3Client } from '@aws-sdk/client-s3'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { s3 } from '../../src/strategies/s3.js'
import { type RecordingProxy, recordingProxy } from '../servers/proxy.mjs'
import { S3_BUCKET } from '../setup/servers.js'
import { context, runContract, uploadFile } from './contract.js'
import { LOCAL_SERVERS, SERVER_CREDENTIALS, headS3, localS3, readBackS3 } from './s3-servers.js'

const proxies: Promise<RecordingProxy>[] = []
afterAll(async () => {
  for (const proxy of proxies) await (await proxy).close()
})

for (const server of LOCAL_SERVERS) {
  // The servers ignore If-Match / If-None-Match: the contract runs through the test proxy's
  // emulation of S3's conditional answers (test/servers/proxy.mjs), as S3 answers.
  let conditional: Promise<RecordingProxy> | undefined
  const throughProxy = () => {
    if (!conditional) {
      conditional = recordingProxy(server.endpoint(), { conditionalWrites: true })
      proxies.push(conditional)
    }
    return conditional
  }
  runContract({
    name: `s3 on ${server.name} (conditional writes emulated)`,
    create: async (prefix) => localS3((await throughProxy()).url, prefix),
    storesHeaders: true,
    honoursConditions: true,
    copySourceAsUri: server.name === 's3rver',
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

    it('stat shows the stored headers, without those `params` sets (the build does not decide them)', async () => {
      const strategy = localS3(server.endpoint(), 'params-headers/', { params: { CacheControl: 'max-age=5', Metadata: { Team: 'ops' } } })
      const file = await uploadFile('params-headers/a.css', 'a{}', { contentType: 'text/css', cacheControl: 'no-cache', metadata: { team: 'web', build: '7' } })
      await strategy.upload(file, context())
      expect((await headS3(server.endpoint(), 'params-headers/a.css')).CacheControl).toBe('max-age=5')
      const stat = await strategy.stat('params-headers/a.css', context())
      expect(stat?.headers).toEqual({ contentType: 'text/css', contentEncoding: null, redirect: null, metadata: expect.objectContaining({ build: '7', 'collectfasta-headers': file.headersFingerprint }) })
      expect(stat?.headers?.metadata).not.toHaveProperty('team')
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

describe('s3 strategy with a user’s own client (the SDK path)', () => {
  // The contract once more, through an S3Client the user built: its middleware sends every request.
  const client = new S3Client({ endpoint: inject('s3rverEndpoint'), forcePathStyle: true, region: 'us-east-1', credentials: SERVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' })
  afterAll(() => client.destroy())
  runContract({
    name: 's3 with a client on s3rver',
    create: (prefix) => localS3(inject('s3rverEndpoint'), prefix, { client }),
    storesHeaders: true,
    copySourceAsUri: true,
    readBack: (_strategy, key) => readBackS3(inject('s3rverEndpoint'), key),
  })
})

describe('what others read back', () => {
  const AWS = '/usr/bin/aws'
  const { AWS_CA_BUNDLE: _bundle, ...inherited } = process.env
  const awsEnv = { ...inherited, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' }
  // Skipped where /usr/bin/aws is not installed (apt-get install -y awscli).
  it.skipIf(!existsSync(AWS))('the AWS CLI reads back the bytes and headers of an upload', async () => {
    const endpoint = inject('s3rverEndpoint')
    const prefix = `aws-cli-${Date.now().toString(36)}/`
    const strategy = localS3(endpoint, prefix)
    const bytes = Buffer.from('body { color: red }\n')
    await strategy.upload(await uploadFile(`${prefix}odd name+1.css`, bytes, { contentType: 'text/css; charset=utf-8', cacheControl: 'public, max-age=60', metadata: { team: 'web' } }), context())
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-aws-'))
    const out = join(dir, 'object')
    const head = JSON.parse(
      execFileSync(AWS, ['s3api', 'get-object', '--endpoint-url', endpoint, '--bucket', S3_BUCKET, '--key', `${prefix}odd name+1.css`, out], { env: awsEnv, encoding: 'utf8' }),
    )
    expect(readFileSync(out).equals(bytes)).toBe(true)
    expect(head).toMatchObject({ ContentType: 'text/css; charset=utf-8', CacheControl: 'public, max-age=60', Metadata: { team: 'web' } })
    rmSync(dir, { recursive: true, force: true })
    await strategy.dispose()
  })

  it('the CLI deploys to S3 with no AWS SDK warning in its output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-quiet-'))
    mkdirSync(join(dir, 'dist'))
    writeFileSync(join(dir, 'dist/index.html'), '<h1>hi</h1>')
    const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
    const env = { ...process.env, CI: '1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }
    const run = (args: string[]) =>
      new Promise<{ code: number; output: string }>((resolve) => {
        execFile(process.execPath, [cli, 'deploy', 'dist', '--to', `s3://${S3_BUCKET}/quiet-${Date.now().toString(36)}/`, '--endpoint', inject('s3rverEndpoint'), ...args], { cwd: dir, env }, (error, stdout, stderr) =>
          resolve({ code: error ? 1 : 0, output: stdout + stderr }),
        )
      })
    for (const args of [[], ['--quiet']]) {
      const { code, output } = await run(args)
      expect(code, output).toBe(0)
      expect(output).not.toMatch(/Warning|AWS SDK|node >=22/)
    }
    rmSync(dir, { recursive: true, force: true })
  })
})
