import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { s3 } from '../../src/strategies/s3.js'
import { type S3Credentials, createTransport, encodeKey } from '../../src/strategies/s3-transport.js'
import { isConflict, isThrottle } from '../../src/strategy.js'
import { recordingProxy } from '../servers/proxy.mjs'
import { context, uploadFile } from './contract.js'
import { LOCAL_SERVERS, localS3 } from './s3-servers.js'

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void
const servers: { close(): void }[] = []
afterAll(() => {
  for (const server of servers) server.close()
})

/** A tiny S3 of the test's own on loopback, for answers the local servers never give. */
async function fakeS3(handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => handler(req, res, Buffer.concat(chunks)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push({ close: () => server.close() })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const xml = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/xml', ...headers })
  res.end(`<?xml version="1.0" encoding="UTF-8"?>${body}`)
}

const EXAMPLE = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }

/** A transport straight to `base`, signing with `credentials`. */
const transportTo = (base: string, extra: Partial<Parameters<typeof createTransport>[0]> = {}) =>
  createTransport({ baseFor: () => base, followRegionRedirects: false, region: async () => 'us-east-1', credentials: async () => EXAMPLE, maxAttempts: 3, connections: 4, connectTimeout: 2000, ...extra })

describe('SigV4 signing (the values of AWS’s published S3 signing examples)', () => {
  // AWS's "Signature Calculations for the Authorization Header (single chunk)" examples, for
  // the bucket examplebucket and the example credentials, sent through the transport itself.
  const signed = async (request: Parameters<Awaited<ReturnType<typeof createTransport>>['send']>[0]) => {
    let authorization = ''
    const base = await fakeS3((req, res) => {
      authorization = String(req.headers.authorization)
      res.end()
    })
    const transport = await transportTo(base)
    await transport.send({ ...request, headers: { host: 'examplebucket.s3.amazonaws.com', 'x-amz-date': '20130524T000000Z', ...request.headers } })
    await transport.close()
    return authorization
  }

  it('PUT Object, a key with $ in it', async () => {
    expect(encodeKey('test$file.text')).toBe('test%24file.text')
    const authorization = await signed({
      method: 'PUT',
      key: 'test$file.text',
      headers: { date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      body: Buffer.from('Welcome to Amazon S3.'),
      timeout: 5000,
    })
    expect(authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    )
  })

  it('GET Bucket lifecycle, a query parameter without a value', async () => {
    const authorization = await signed({ method: 'GET', query: { lifecycle: '' }, timeout: 5000 })
    expect(authorization).toMatch(/SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543$/)
  })

  it('GET Bucket (list objects), query parameters in order', async () => {
    const authorization = await signed({ method: 'GET', query: { prefix: 'J', 'max-keys': '2' }, timeout: 5000 })
    expect(authorization).toMatch(/Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/)
  })

  it('encodes every byte of a key but the unreserved ones, and keeps slashes', () => {
    expect(encodeKey("a b+c#d?e%f&g'h(i)*!~._-/日.txt")).toBe('a%20b%2Bc%23d%3Fe%25f%26g%27h%28i%29%2A%21~._-/%E6%97%A5.txt')
  })
})

describe('the S3 transport', () => {
  it('follows a region redirect when no endpoint is set, then stays in that region', async () => {
    const regions: string[] = []
    const base = await fakeS3((req, res) => {
      const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(String(req.headers.authorization))?.[1] ?? ''
      regions.push(region)
      if (region !== 'eu-west-1') return xml(res, 301, '<Error><Code>PermanentRedirect</Code><Message>Use the right endpoint.</Message></Error>', { 'x-amz-bucket-region': 'eu-west-1' })
      res.end()
    })
    const bases: string[] = []
    const transport = await transportTo(base, {
      followRegionRedirects: true,
      baseFor: (region) => {
        bases.push(region)
        return base
      },
    })
    expect((await transport.send({ method: 'HEAD', key: 'a', timeout: 5000 })).status).toBe(200)
    expect((await transport.send({ method: 'HEAD', key: 'b', timeout: 5000 })).status).toBe(200)
    expect(regions).toEqual(['us-east-1', 'eu-west-1', 'eu-west-1'])
    expect(bases).toEqual(['us-east-1', 'eu-west-1', 'eu-west-1'])
    await transport.close()
  })

  it('sends the session token, asks for credentials again before they expire, and refreshes on ExpiredToken', async () => {
    const tokens: string[] = []
    let expireNext = true
    const base = await fakeS3((req, res) => {
      tokens.push(String(req.headers['x-amz-security-token']))
      if (req.headers['x-amz-security-token'] === 'token-2' && expireNext) {
        expireNext = false
        return xml(res, 400, '<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>')
      }
      res.end()
    })
    let calls = 0
    const credentials = async (): Promise<S3Credentials> => {
      calls++
      // The first ones expire within the 5-minute margin: they are asked for again next time.
      return { ...EXAMPLE, sessionToken: `token-${calls}`, expiration: new Date(Date.now() + (calls === 1 ? 60_000 : 3_600_000)) }
    }
    const transport = await transportTo(base, { credentials })
    await transport.send({ method: 'HEAD', key: 'a', timeout: 5000 })
    await transport.send({ method: 'GET', key: 'a', timeout: 5000 })
    await transport.send({ method: 'HEAD', key: 'a', timeout: 5000 })
    expect(tokens).toEqual(['token-1', 'token-2', 'token-3', 'token-3'])
    expect(calls).toBe(3)
    await transport.close()
  })

  it('copy: a 200 carrying an <Error> is a failure (retried as that error), never a copy; the source header is encoded', async () => {
    const sources: string[] = []
    let copies = 0
    const base = await fakeS3((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': '3', etag: '"0123456789abcdef0123456789abcdef"', 'x-amz-meta-collectfasta-xxh64': 'abc' })
        return res.end()
      }
      copies++
      sources.push(String(req.headers['x-amz-copy-source']))
      // S3 sends the 200 before the copy ends, and the error in the body when it fails.
      if (copies <= 2) return xml(res, 200, '<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>')
      xml(res, 200, '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>')
    })
    const strategy = s3({ bucket: 'b', endpoint: base, forcePathStyle: true, region: 'us-east-1', credentials: EXAMPLE, maxAttempts: 3 })
    const ctx = context()
    const error = await strategy.copy('p/a b+ü.html', 'p/kept.html', ctx).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/^\[collectfasta\] \[s3\] AccessDenied \(HTTP 200\) for s3:\/\/b\/p\/kept\.html/)
    expect(copies).toBe(3)
    expect(ctx.counts.copy).toBe(0)
    expect(sources[0]).toBe('/b/p/a%20b%2B%C3%BC.html')
  })

  it('retries 5xx, 429 and SlowDown with backoff, then reports a throttle as one (the core halves its concurrency)', async () => {
    let n = 0
    const answers: [number, string][] = [[500, 'InternalError'], [429, 'TooManyRequests'], [503, 'SlowDown']]
    const base = await fakeS3((_req, res) => {
      const answer = answers[n++]
      if (answer) return xml(res, answer[0], `<Error><Code>${answer[1]}</Code><Message>try again</Message></Error>`)
      res.writeHead(200, { etag: '"0123456789abcdef0123456789abcdef"' })
      res.end()
    })
    const strategy = s3({ bucket: 'b', endpoint: base, forcePathStyle: true, region: 'us-east-1', credentials: EXAMPLE, maxAttempts: 4 })
    expect((await strategy.upload(await uploadFile('k.txt', 'k'), context()))?.version).toBe('0123456789abcdef0123456789abcdef')
    expect(n).toBe(4)
    const slow = await fakeS3((_req, res) => xml(res, 503, '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'))
    const throttled = s3({ bucket: 'b', endpoint: slow, forcePathStyle: true, region: 'us-east-1', credentials: EXAMPLE, maxAttempts: 2 })
    const error = await throttled.upload(await uploadFile('k.txt', 'k'), context()).catch((e: unknown) => e)
    expect(isThrottle(error)).toBe(true)
    expect((error as Error).message).toMatch(/SlowDown \(HTTP 503\).*lowers its concurrency/)
    await strategy.dispose()
    await throttled.dispose()
  })

  it('a 301 to another host names that host and says to set `endpoint`, not `region`', async () => {
    const base = await fakeS3((_req, res) =>
      xml(res, 301, '<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><Endpoint>b.storage.example.net</Endpoint></Error>'),
    )
    const strategy = s3({ bucket: 'b', endpoint: base, forcePathStyle: true, region: 'us-east-1', credentials: EXAMPLE, maxAttempts: 1 })
    const error = (await strategy.get('k', context()).catch((e: unknown) => e)) as Error
    expect(error.message).toMatch(/PermanentRedirect \(HTTP 301\).*sends this bucket's requests to b\.storage\.example\.net\. Set `endpoint` to that host \(https:\/\/b\.storage\.example\.net\)/)
    expect(error.message).not.toMatch(/`region`/)
    await strategy.dispose()
  })

  it('gives up on an endpoint that never answers within `timeout`, and says which option to raise', async () => {
    const silent = await fakeS3(() => {})
    const strategy = s3({ bucket: 'b', endpoint: silent, forcePathStyle: true, region: 'us-east-1', credentials: EXAMPLE, maxAttempts: 2, timeout: 300 })
    await expect(strategy.stat('k', context())).rejects.toThrow(/TimeoutError for s3:\/\/b\/k: no answer within 300 ms.*`timeout` without progress/)
    await strategy.dispose()
  })
})

describe('S3 answers that the local servers never give', () => {
  it('stops a listing that pages forever with the same token, with a sentence', async () => {
    let pages = 0
    const base = await fakeS3((_req, res) => {
      pages++
      xml(res, 200, `<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>again</NextContinuationToken><Contents><Key>p/a${pages}</Key><Size>1</Size><ETag>"x"</ETag></Contents></ListBucketResult>`)
    })
    const strategy = s3({ bucket: 'b', prefix: 'p', endpoint: base, forcePathStyle: true, region: 'us-east-1', credentials: EXAMPLE })
    const listed: string[] = []
    const error = await (async () => {
      for await (const object of strategy.list(context())) listed.push(object.key)
    })().catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/\[s3\] The listing of s3:\/\/b\/p\/ does not end: page 2 answered a page token it had given before/)
    expect(pages).toBe(2)
    expect(listed).toEqual(['p/a1'])
    await strategy.dispose()
  })

  it('stops a listing whose pages repeat the same keys under new tokens', async () => {
    let pages = 0
    const base = await fakeS3((_req, res) => {
      pages++
      xml(res, 200, `<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t${pages}</NextContinuationToken><Contents><Key>p/same</Key><Size>1</Size></Contents></ListBucketResult>`)
    })
    const strategy = s3({ bucket: 'b', prefix: 'p', endpoint: base, forcePathStyle: true, region: 'us-east-1', credentials: EXAMPLE })
    await expect((async () => {
      for await (const _ of strategy.list(context())) void _
    })()).rejects.toThrow(/does not end: a page started with a key of the page before/)
    expect(pages).toBe(2)
  })

  it('refuses a manifest over the size cap before reading it, and never asks for a compressed one', async () => {
    let acceptEncoding = ''
    const base = await fakeS3((req, res) => {
      acceptEncoding = String(req.headers['accept-encoding'])
      res.writeHead(200, { 'content-length': String(300 * 1024 * 1024) })
      res.write('x')
      setTimeout(() => res.destroy(), 200)
    })
    const strategy = s3({ bucket: 'b', endpoint: base, forcePathStyle: true, region: 'us-east-1', credentials: EXAMPLE })
    await expect(strategy.get('m.json', context())).rejects.toThrow(/\[s3\] Refusing to read s3:\/\/b\/m\.json: .*314572800 bytes.*256 MiB/)
    expect(acceptEncoding).toBe('identity')
  })

  it('a failed delete says which keys were deleted before it failed', async () => {
    let batches = 0
    const md5s: string[] = []
    const base = await fakeS3((req, res, body) => {
      batches++
      md5s.push(String(req.headers['content-md5']))
      // Keys named neither deleted nor failed (p/k2) are not deleted.
      const keys = [...body.toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] as string).filter((k) => k !== 'p/k1' && k !== 'p/k2')
      if (batches === 1) return xml(res, 200, `<DeleteResult>${keys.map((k) => `<Deleted><Key>${k}</Key></Deleted>`).join('')}<Error><Key>p/k1</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>`)
      xml(res, 403, '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>')
    })
    const strategy = s3({ bucket: 'b', prefix: 'p', endpoint: base, forcePathStyle: true, region: 'us-east-1', credentials: EXAMPLE, maxAttempts: 1 })
    const keys = Array.from({ length: 1002 }, (_, i) => `p/k${i}`)
    const error = (await strategy.delete(keys, context()).catch((e: unknown) => e)) as Error & { deleted?: string[] }
    expect(error.message).toMatch(/AccessDenied \(HTTP 403\)/)
    expect(error.deleted).toHaveLength(998)
    expect(error.deleted).not.toContain('p/k1')
    expect(error.deleted).not.toContain('p/k2')
    expect(error.deleted).not.toContain('p/k1000')
    expect(md5s[0]).toMatch(/^[A-Za-z0-9+/]{22}==$/)
  })

  it('never prints the credentials of an endpoint URL', async () => {
    const strategy = s3({ bucket: 'b', endpoint: 'http://KEY:SECRET@127.0.0.1:9', forcePathStyle: true, maxAttempts: 1 })
    expect(strategy.target).toBe('s3://b/ at http://127.0.0.1:9')
    const error = (await strategy.stat('k', context()).catch((e: unknown) => e)) as Error
    expect(error.message).toMatch(/Could not reach http:\/\/127\.0\.0\.1:9/)
    expect(error.message).not.toMatch(/SECRET/)
  })
})

describe('params and encryption become S3 headers', () => {
  it('maps the SDK’s parameter names to headers, and refuses names it does not know', async () => {
    const seen: Record<string, string | string[] | undefined>[] = []
    const base = await fakeS3((req, res) => {
      seen.push(req.headers)
      res.writeHead(200, { etag: '"0123456789abcdef0123456789abcdef"' })
      res.end()
    })
    const strategy = s3({
      bucket: 'b',
      endpoint: base,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: EXAMPLE,
      acl: 'public-read',
      storageClass: 'STANDARD_IA',
      serverSideEncryption: 'aws:kms',
      sseKmsKeyId: 'key-1',
      params: (file) => ({ ContentDisposition: `inline; filename="${file.key}"`, Tagging: 'team=web', Metadata: { extra: 'yes' } }),
    })
    const file = await uploadFile('a.css', 'a{}', { contentType: 'text/css', cacheControl: 'no-cache', metadata: { team: 'web' } })
    await strategy.upload(file, context())
    expect(seen[0]).toMatchObject({
      'x-amz-acl': 'public-read',
      'x-amz-storage-class': 'STANDARD_IA',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'key-1',
      'content-type': 'text/css',
      'cache-control': 'no-cache',
      'content-disposition': 'inline; filename="a.css"',
      'x-amz-tagging': 'team=web',
      'content-md5': Buffer.from(file.md5(), 'hex').toString('base64'),
      'x-amz-meta-team': 'web',
      'x-amz-meta-extra': 'yes',
      'x-amz-meta-collectfasta-md5': file.md5(),
    })
    expect(seen[0]?.['x-amz-acl']).toBe('public-read')
    expect(() => s3({ bucket: 'b', params: { Bogus: 1 } as never })).toThrow(/\[s3\] The `params` option sets `Bogus`, which the S3 strategy does not send\. Use one of ACL, CacheControl/)
    expect(() => s3({ bucket: 'b', params: { Key: 'x' } })).toThrow(/sets `Key`, which the strategy sets for every file/)
    await strategy.dispose()
  })
})

for (const server of LOCAL_SERVERS) {
  describe(`through a proxy on ${server.name}`, () => {
    it('retries connection resets and server errors; every file arrives', async () => {
      const proxy = await recordingProxy(server.endpoint(), { seed: 7, rates: { error500: 0.15, slowDown: 0.1, resetRequest: 0.1, resetResponse: 0.05 }, maxFaults: 12 })
      const strategy = localS3(proxy.url, 'faults/', { maxAttempts: 6 })
      const ctx = context()
      for (let i = 0; i < 30; i++) await strategy.upload(await uploadFile(`faults/${i}.txt`, `file ${i}`), ctx)
      expect(ctx.counts.upload).toBe(30)
      expect(proxy.faults.count).toBeGreaterThan(3)
      proxy.setFaults(false)
      const listed = []
      for await (const object of strategy.list(context())) listed.push(object.key)
      expect(listed).toHaveLength(30)
      await strategy.dispose()
      await proxy.close()
    })

    it('sends Content-MD5 with DeleteObjects', async () => {
      const proxy = await recordingProxy(server.endpoint())
      const strategy = localS3(proxy.url, 'md5-delete/')
      await strategy.upload(await uploadFile('md5-delete/a.txt', 'a'), context())
      await strategy.delete(['md5-delete/a.txt'], context())
      const deletes = proxy.requests.filter((r) => r.kind === 'DELETE')
      expect(deletes).toHaveLength(1)
      expect(deletes[0]?.headers['content-md5']).toMatch(/^[A-Za-z0-9+/]{22}==$/)
      await strategy.dispose()
      await proxy.close()
    })

    it('writes conditionally: If-None-Match on a new key, If-Match on the current ETag; a stale or existing one is a conflict', async () => {
      // The proxy emulates S3's conditional answers (the local servers ignore the headers).
      const proxy = await recordingProxy(server.endpoint(), { conditionalWrites: true })
      const prefix = `conditional-${Date.now().toString(36)}/`
      const strategy = localS3(proxy.url, prefix)
      const key = `${prefix}manifest.json`
      const first = await strategy.upload({ ...(await uploadFile(key, 'v1')), ifVersion: null }, context())
      expect(first?.version).toMatch(/^[0-9a-f]{32}$/)
      const again = await strategy.upload({ ...(await uploadFile(key, 'v1 again')), ifVersion: null }, context()).catch((e: unknown) => e)
      expect(isConflict(again)).toBe(true)
      expect((again as Error).message).toMatch(/\[s3\] s3:\/\/collectfasta-test\/.*manifest\.json changed meanwhile: the write expected no object there \(PreconditionFailed\)/)
      const second = await strategy.upload({ ...(await uploadFile(key, 'v2')), ifVersion: first?.version }, context())
      expect(second?.version).not.toBe(first?.version)
      const stale = await strategy.upload({ ...(await uploadFile(key, 'v3')), ifVersion: first?.version }, context()).catch((e: unknown) => e)
      expect(isConflict(stale)).toBe(true)
      expect(isThrottle(stale)).toBe(false)
      // Nothing was written by the refused ones, and the conditional PUTs were not retried.
      expect((await strategy.stat(key, context()))?.version).toBe(second?.version)
      expect(proxy.requests.filter((r) => r.method === 'PUT')).toHaveLength(4)
      const stat = await strategy.stat(key, context())
      expect(stat?.modified).toBeGreaterThan(Date.now() - 600_000)
      await strategy.dispose()
      await proxy.close()
    })
  })
}

describe('addressing', () => {
  it('virtual-hosted by default, path-style when asked or when the bucket name has dots, on AWS or an endpoint', async () => {
    const { bucketBase } = await import('../../src/strategies/s3-transport.js')
    expect(bucketBase('my-site', undefined, false)('eu-west-1')).toBe('https://my-site.s3.eu-west-1.amazonaws.com')
    expect(bucketBase('my-site', undefined, true)('eu-west-1')).toBe('https://s3.eu-west-1.amazonaws.com/my-site')
    expect(bucketBase('www.example.com', undefined, false)('us-east-1')).toBe('https://s3.us-east-1.amazonaws.com/www.example.com')
    expect(bucketBase('my-site', undefined, false)('cn-north-1')).toBe('https://my-site.s3.cn-north-1.amazonaws.com.cn')
    expect(bucketBase('my-site', 'https://acct.r2.cloudflarestorage.com', false)('auto')).toBe('https://my-site.acct.r2.cloudflarestorage.com')
    expect(bucketBase('my-site', 'http://127.0.0.1:9000/', true)('us-east-1')).toBe('http://127.0.0.1:9000/my-site')
    expect(bucketBase('my-site', 'https://gw.example.com/s3/', true)('us-east-1')).toBe('https://gw.example.com/s3/my-site')
  })
})

describe('credentials and region from the AWS SDK’s chain', () => {
  it('reads a profile of the shared config files: its keys sign requests a signature-checking server accepts, its region is the region', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-aws-config-'))
    writeFileSync(join(dir, 'credentials'), '[deployer]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n')
    writeFileSync(join(dir, 'config'), '[profile deployer]\nregion = eu-central-1\n')
    const saved = { ...process.env }
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION']) delete process.env[name]
    Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_CONFIG_FILE: join(dir, 'config'), AWS_PROFILE: 'deployer' })
    try {
      const { defaultRegion } = await import('../../src/strategies/s3-config.js')
      expect(await defaultRegion()).toBe('eu-central-1')
      // No `credentials`: the chain finds the profile's keys (s3rver refuses a wrong signature).
      const strategy = s3({ bucket: 'collectfasta-test', prefix: 'chain/', endpoint: LOCAL_SERVERS[0].endpoint(), forcePathStyle: true })
      expect((await strategy.upload(await uploadFile('chain/a.txt', 'a'), context()))?.version).toMatch(/^[0-9a-f]{32}$/)
      await strategy.dispose()
      // Without a region anywhere, AWS itself cannot be addressed: said before any request.
      // (A new file: the SDK's loader keeps what it read of a path for the process.)
      writeFileSync(join(dir, 'config-empty'), '[profile deployer]\n')
      process.env.AWS_CONFIG_FILE = join(dir, 'config-empty')
      const nowhere = s3({ bucket: 'b', credentials: EXAMPLE })
      await expect(nowhere.stat('k', context())).rejects.toThrow(/\[s3\] .*Region is missing.*Pass `region`, or set AWS_REGION/)
    } finally {
      process.env = saved
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
