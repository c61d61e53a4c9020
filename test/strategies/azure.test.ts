import { createHash } from 'node:crypto'
import { type IncomingMessage, type ServerResponse, createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync, gzipSync } from 'node:zlib'
import { describe, expect, inject, it } from 'vitest'
import { DEFAULTS } from '../../src/defaults.js'
import { azure } from '../../src/strategies/azure.js'
import { parseConnectionString } from '../../src/strategies/azure-auth.js'
import { isConflict, isThrottle } from '../../src/strategy.js'
import { recordingProxy } from '../servers/proxy.mjs'
import { AZURE_CONTAINER, AZURITE_KEY, azuriteContainer, azuriteStrategy, readBackAzure } from './azurite.js'
import { context, runContract, uploadFile } from './contract.js'
import { bodyWithoutEnd } from '../helpers.js'

// Azurite honours conditional writes itself (409 on If-None-Match: *, 412 on a stale If-Match):
// no emulation in front.
runContract({
  name: 'azure on Azurite (lean REST path, Shared Key)',
  create: (prefix) => azuriteStrategy(prefix),
  storesHeaders: true,
  honoursConditions: true,
  readBack: (_strategy, key) => readBackAzure(key),
})

runContract({
  name: "azure on Azurite through a user's own ContainerClient",
  create: async (prefix) => azure({ client: await azuriteContainer(), container: AZURE_CONTAINER, prefix }),
  storesHeaders: true,
  honoursConditions: true,
  readBack: (_strategy, key) => readBackAzure(key),
})

const listAll = async (strategy: ReturnType<typeof azure>, ctx = context()) => {
  const listed = []
  for await (const object of strategy.list(ctx)) listed.push(object)
  return listed
}

describe('azure strategy on Azurite', () => {
  it('lists our digests and header fingerprint from blob metadata, and stores the headers as blob properties', async () => {
    const prefix = `digests-${Date.now().toString(36)}/`
    const strategy = azuriteStrategy(prefix)
    const file = await uploadFile(`${prefix}a.css`, 'a{}', { contentType: 'text/css; charset=utf-8', cacheControl: 'no-cache', contentEncoding: 'identity' })
    const stored = await strategy.upload(file, context())
    expect(await listAll(strategy)).toEqual([
      {
        key: `${prefix}a.css`,
        modified: expect.any(Number),
        size: 3,
        md5: file.md5(),
        xxh64: file.xxh64,
        headersFingerprint: file.headersFingerprint,
        headers: { contentType: 'text/css; charset=utf-8', cacheControl: 'no-cache', contentEncoding: 'identity', metadata: expect.objectContaining({ collectfasta_md5: file.md5() }) },
        version: stored?.version,
      },
    ])
    const back = await readBackAzure(`${prefix}a.css`)
    expect(back?.headers).toMatchObject({ contentType: 'text/css; charset=utf-8', cacheControl: 'no-cache', contentEncoding: 'identity', metadata: { collectfasta_md5: file.md5() } })
    await strategy.dispose()
  })

  it('uploads a large file in blocks (Put Block, Put Block List), read in ranges, each block checked by its MD5', async () => {
    const prefix = `blocks-${Date.now().toString(36)}/`
    const strategy = azuriteStrategy(prefix, { blockThreshold: 1024 * 1024, blockSize: 1024 * 1024 })
    const bytes = new Uint8Array(3 * 1024 * 1024 + 5)
    for (let i = 0; i < bytes.length; i += 777) bytes[i] = i & 0xff
    const file = await uploadFile(`${prefix}big.bin`, bytes)
    const ranges: [number, number][] = []
    file.read = async (start, end) => {
      ranges.push([start, end])
      return bytes.subarray(start, end)
    }
    const ctx = context()
    const stored = await strategy.upload(file, ctx)
    expect(ranges.sort((a, b) => a[0] - b[0])).toEqual([[0, 1048576], [1048576, 2097152], [2097152, 3145728], [3145728, 3145733]])
    expect(ctx.counts.upload).toBe(5) // four blocks and the block list
    expect(Buffer.from((await readBackAzure(`${prefix}big.bin`))!.bytes).equals(bytes)).toBe(true)
    expect((await strategy.stat(`${prefix}big.bin`, context()))).toMatchObject({ md5: file.md5(), xxh64: file.xxh64, version: stored?.version })
    // The block list is a conditional write too.
    await expect(strategy.upload({ ...file, ifVersion: null }, context())).rejects.toSatisfy(isConflict)
    await strategy.dispose()
  })

  it('the service checks the bytes: a Put Blob whose MD5 is not its bytes is refused, nothing stored; each block carries its own Content-MD5', async () => {
    const prefix = `md5-${Date.now().toString(36)}/`
    const strategy = azuriteStrategy(prefix, { maxAttempts: 1 })
    const lying = { ...(await uploadFile(`${prefix}x.txt`, 'these bytes')), md5: () => '0'.repeat(32) }
    await expect(strategy.upload(lying, context())).rejects.toThrow(/\[azure\] azblob:\/\/devstoreaccount1\/collectfasta-test\/md5-.*\/x\.txt: Md5Mismatch: The MD5 value specified in the request did not match with the MD5 value calculated by the server\.$/)
    expect(await readBackAzure(`${prefix}x.txt`)).toBeUndefined()

    const proxy = await recordingProxy(inject('azuriteEndpoint').replace(/\/devstoreaccount1$/, ''))
    try {
      const blocks = azuriteStrategy(prefix, { blockThreshold: 1024, blockSize: 1024 }, `${proxy.url}/devstoreaccount1`)
      const bytes = Buffer.from(Array.from({ length: 2500 }, (_, i) => i % 251))
      await blocks.upload(await uploadFile(`${prefix}b.bin`, bytes), context())
      const puts = proxy.requests.filter((r) => r.method === 'PUT' && r.query.includes('comp=block&'))
      const expected = [bytes.subarray(0, 1024), bytes.subarray(1024, 2048), bytes.subarray(2048)].map((b) => createHash('md5').update(b).digest('base64'))
      expect(puts.map((r) => r.headers['content-md5']).sort()).toEqual(expected.sort())
      await blocks.dispose()
    } finally {
      await proxy.close()
    }
    await strategy.dispose()
  })

  it('pages the listing 5,000 blobs at a time', async () => {
    const prefix = `paging-${Date.now().toString(36)}/`
    const strategy = azuriteStrategy(prefix)
    const { runPool } = await import('../../src/pool.js')
    const keys = Array.from({ length: 5003 }, (_, i) => `${prefix}${String(i).padStart(4, '0')}.txt`)
    await runPool(keys, async (key) => void (await strategy.upload(await uploadFile(key, key), context())), { limit: 32 })
    const ctx = context()
    expect((await listAll(strategy, ctx)).map((o) => o.key).sort()).toEqual(keys)
    expect(ctx.counts.list).toBe(2)
    await strategy.dispose()
  }, 60_000)

  it("names its target from a user's own ContainerClient, and goes through it", async () => {
    const strategy = azure({ client: await azuriteContainer(), container: AZURE_CONTAINER, prefix: 'own/' })
    expect(strategy.target).toBe(`azblob://devstoreaccount1/${AZURE_CONTAINER}/own/`)
  })

  it('deploys to `$web`, the static website container', async () => {
    const prefix = `web-${Date.now().toString(36)}/`
    const strategy = azuriteStrategy(prefix, { container: '$web' })
    expect(strategy.target).toBe(`azblob://devstoreaccount1/$web/${prefix} at ${inject('azuriteEndpoint')}`)
    await strategy.upload(await uploadFile(`${prefix}index.html`, '<h1>hi</h1>', { contentType: 'text/html' }), context())
    expect(Buffer.from((await readBackAzure(`${prefix}index.html`, '$web'))!.bytes).toString()).toBe('<h1>hi</h1>')
    expect((await listAll(strategy)).map((o) => o.key)).toEqual([`${prefix}index.html`])
    await strategy.delete([`${prefix}index.html`], context())
    expect(await listAll(strategy)).toEqual([])
  })

  it('the manifest read never un-gzips: a gzip-encoded blob comes back as its stored bytes', async () => {
    const key = `gzip-${Date.now().toString(36)}/manifest.json`
    const json = JSON.stringify({ hello: 'x'.repeat(1000) })
    const body = gzipSync(json)
    await (await azuriteContainer()).getBlockBlobClient(key).upload(body, body.byteLength, { blobHTTPHeaders: { blobContentType: 'application/json', blobContentEncoding: 'gzip' } })
    const bytes = await azuriteStrategy('').get(key, context())
    expect(gunzipSync(bytes!).toString()).toBe(json)
  })

  it('a connection string (AZURE_STORAGE_CONNECTION_STRING) names the endpoint, the account and its key', async () => {
    const prefix = `conn-${Date.now().toString(36)}/`
    const connectionString = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=${inject('azuriteEndpoint')};`
    const strategy = azure({ connectionString, container: AZURE_CONTAINER, prefix })
    await strategy.upload(await uploadFile(`${prefix}a.txt`, 'a'), context())
    expect(Buffer.from((await readBackAzure(`${prefix}a.txt`))!.bytes).toString()).toBe('a')
    expect(strategy.target).not.toContain(AZURITE_KEY.slice(0, 10))
    expect(parseConnectionString(connectionString)).toMatchObject({ accountname: 'devstoreaccount1', accountkey: AZURITE_KEY })
  })

  it('a SAS token in `url` authorises the requests and is never shown: not in the target, not in an error', async () => {
    const { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } = await import('../servers/azurite/sdk.mjs')
    const sas = generateBlobSASQueryParameters(
      { containerName: AZURE_CONTAINER, permissions: ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3_600_000) },
      new StorageSharedKeyCredential('devstoreaccount1', AZURITE_KEY),
    ).toString()
    const prefix = `sas-${Date.now().toString(36)}/`
    const strategy = azure({ url: `${inject('azuriteEndpoint')}?${sas}`, container: AZURE_CONTAINER, prefix })
    await strategy.upload(await uploadFile(`${prefix}a.txt`, 'sas'), context())
    expect((await listAll(strategy)).map((o) => o.key)).toEqual([`${prefix}a.txt`])
    expect(strategy.target).not.toContain('sig=')
    const wrong = azure({ url: `${inject('azuriteEndpoint')}?${sas.replace(/sig=[^&]*/, 'sig=AAAA')}`, container: AZURE_CONTAINER, prefix, maxAttempts: 1 })
    const error = await wrong.upload(await uploadFile(`${prefix}b.txt`, 'b'), context()).then(() => undefined, (e: Error) => e)
    expect(error?.message).toMatch(/\[azure\] azblob:\/\/devstoreaccount1\/collectfasta-test\/sas-.*\/b\.txt was refused \((AuthenticationFailed|AuthorizationFailure).*Storage Blob Data Contributor/)
    expect(error?.message).not.toMatch(/sig=(?!\*\*\*)/)
  })

  it('a wrong account key is refused with a sentence naming the role to grant', async () => {
    const strategy = azuriteStrategy('wrongkey/', { accountKey: Buffer.alloc(64, 7).toString('base64'), maxAttempts: 1 })
    await expect(strategy.upload(await uploadFile('wrongkey/a.txt', 'a'), context())).rejects.toThrow(/was refused \((AuthenticationFailed|AuthorizationFailure).*"Storage Blob Data Contributor"/)
  })

  it('a container that does not exist is named, with how to create it', async () => {
    const strategy = azure({ url: inject('azuriteEndpoint'), accountKey: AZURITE_KEY, container: 'never-created', maxAttempts: 1 })
    await expect(listAll(strategy)).rejects.toThrow("[collectfasta] [azure] The container `never-created` does not exist in the account `devstoreaccount1`")
  })

  it('one Put Blob of ours per small upload, Shared Key signed, with Content-MD5 and the properties as x-ms-blob-* headers', async () => {
    const proxy = await recordingProxy(inject('azuriteEndpoint').replace(/\/devstoreaccount1$/, ''))
    try {
      const prefix = `lean-${Date.now().toString(36)}/`
      await azuriteContainer()
      const strategy = azure({ url: `${proxy.url}/devstoreaccount1`, accountKey: AZURITE_KEY, container: AZURE_CONTAINER, prefix })
      const file = await uploadFile(`${prefix}a b+c.css`, 'a{}', { contentType: 'text/css', cacheControl: 'no-cache' })
      await strategy.upload(file, context())
      const puts = proxy.requests.filter((r) => r.method === 'PUT')
      expect(puts).toHaveLength(1)
      expect(puts[0]!.headers).toMatchObject({
        'user-agent': 'collectfasta-azure',
        'x-ms-blob-type': 'BlockBlob',
        'content-md5': Buffer.from(file.md5(), 'hex').toString('base64'),
        'x-ms-blob-content-type': 'text/css',
        'x-ms-blob-cache-control': 'no-cache',
        authorization: expect.stringMatching(/^SharedKey devstoreaccount1:/),
      })
      await strategy.dispose()
    } finally {
      await proxy.close()
    }
  })
})

describe('a cancelled deploy', () => {
  // A read waits for Azure (the proxy never answers): the deploy's signal aborts it at once,
  // where the request's own deadlines (10 s, three attempts) would keep the deploy waiting.
  it.each([
    ['the lean path', (endpoint: string, prefix: string) => azuriteStrategy(prefix, {}, endpoint)],
    ["a user's own ContainerClient", async (endpoint: string, prefix: string) => azure({ client: await azuriteContainer(AZURE_CONTAINER, endpoint), container: AZURE_CONTAINER, prefix })],
  ])('abandons the listing, a HEAD and the manifest GET waiting for an answer (%s)', async (_name, make) => {
    const proxy = await recordingProxy(inject('azuriteEndpoint').replace(/\/devstoreaccount1$/, ''), { stallMs: 60_000, faultFor: () => 'stall' })
    try {
      const prefix = `cancel-${Date.now().toString(36)}/`
      const strategy = await make(`${proxy.url}/devstoreaccount1`, prefix)
      const reads = [
        (ctx: ReturnType<typeof context>) => listAll(strategy, ctx),
        (ctx: ReturnType<typeof context>) => strategy.stat(`${prefix}a.txt`, ctx),
        (ctx: ReturnType<typeof context>) => strategy.get(`${prefix}.collectfasta/manifest.json`, ctx),
      ]
      for (const read of reads) {
        const controller = new AbortController()
        const ctx = { ...context(), signal: controller.signal }
        const before = proxy.requests.length
        setTimeout(() => controller.abort(), 200)
        const started = performance.now()
        const error = await read(ctx).then(() => undefined, (e: Error) => e)
        expect(proxy.requests.length).toBeGreaterThan(before) // it was waiting for the service
        expect(error?.message).toMatch(/^\[collectfasta\] \[azure\] azblob:\/\/devstoreaccount1\/collectfasta-test\/cancel-.*: the deploy was cancelled while waiting for the answer\./)
        expect(performance.now() - started).toBeLessThan(1500)
      }
      await strategy.dispose()
    } finally {
      await proxy.close()
    }
  })
})

describe('azure options', () => {
  it.each([
    [{ container: 'site' }, /Missing required option `account` \(or `url`\)/],
    [{ account: 'mysite' }, /Missing required option `container`/],
    [{ account: 'My_Site', container: 'web' }, /The account name "My_Site" is not one Azure allows/],
    [{ account: 'mysite', container: 'site/www' }, /The container name "site\/www" is not one Azure allows: .* Put a folder in `prefix`\./],
    [{ account: 'mysite', container: 'web', blockSize: 0 }, /Expected `blockSize` to be an integer ≥ 1, got 0\./],
  ])('refuses %o with a sentence', (options, message) => {
    const saved = process.env.AZURE_STORAGE_CONNECTION_STRING
    delete process.env.AZURE_STORAGE_CONNECTION_STRING
    try {
      expect(() => azure(options as never)).toThrow(message)
    } finally {
      if (saved !== undefined) process.env.AZURE_STORAGE_CONNECTION_STRING = saved
    }
  })

  it('a connection string for another account than `account` is refused', () => {
    expect(() => azure({ account: 'other', container: 'web', connectionString: `AccountName=mine;AccountKey=${AZURITE_KEY}` })).toThrow(/is for the account `mine`, not `other`/)
  })

  it('with no key, SAS or connection string, the token credential is asked for a Blob Storage token, sent as a bearer token', async () => {
    const scopes: unknown[] = []
    const proxy = await recordingProxy(inject('azuriteEndpoint').replace(/\/devstoreaccount1$/, ''))
    try {
      const credential = {
        getToken: async (scope: string | string[]) => {
          scopes.push(scope)
          return { token: 'tok-123', expiresOnTimestamp: Date.now() + 3_600_000 }
        },
      }
      const strategy = azure({ url: `${proxy.url}/devstoreaccount1`, container: AZURE_CONTAINER, credential, maxAttempts: 1 })
      // Azurite takes bearer tokens only over HTTPS: the request is refused, but it was sent as Azure expects.
      await strategy.stat('a.txt', context()).catch(() => undefined)
      await strategy.stat('b.txt', context()).catch(() => undefined)
      expect(scopes).toEqual(['https://storage.azure.com/.default']) // cached: asked once
      expect(proxy.requests.map((r) => r.headers.authorization)).toEqual(['Bearer tok-123', 'Bearer tok-123'])
    } finally {
      await proxy.close()
    }
  })
})

describe('azure strategy against servers that misbehave', () => {
  /** A loopback server speaking just enough of the Blob service: `answer` decides each reply. */
  const fakeAzure = async (answer: (req: IncomingMessage, res: ServerResponse, n: number) => void) => {
    let n = 0
    const server = createServer((req, res) => answer(req, res, n++))
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    const { port } = server.address() as AddressInfo
    return {
      strategy: azure({ url: `http://127.0.0.1:${port}/devstoreaccount1`, accountKey: AZURITE_KEY, container: 'c0ntainer', prefix: 'p/', maxAttempts: 1 }),
      requests: () => n,
      close: () =>
        new Promise<void>((done) => {
          server.closeAllConnections()
          server.close(() => done())
        }),
    }
  }
  const page = (res: ServerResponse, names: string[], marker?: string) => {
    res.writeHead(200, { 'content-type': 'application/xml' })
    res.end(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>${names.map((n) => `<Blob><Name>${n}</Name><Properties><Content-Length>1</Content-Length></Properties></Blob>`).join('')}</Blobs><NextMarker>${marker ?? ''}</NextMarker></EnumerationResults>`)
  }

  it('a listing that answers the same marker again fails at once, with a sentence', async () => {
    const fake = await fakeAzure((_req, res, n) => page(res, [`p/${n}.txt`], 'same'))
    try {
      await expect(listAll(fake.strategy)).rejects.toThrow(/\[azure\] The listing of azblob:\/\/devstoreaccount1\/c0ntainer\/p\/ does not end: page 2 answered a page token it had given before/)
      expect(fake.requests()).toBe(2)
    } finally {
      await fake.close()
    }
  })

  it('a listing that hands out new markers without end: 100 empty pages, or the page cap (lowered here), end it with a sentence', async () => {
    const started = Date.now()
    const fake = await fakeAzure((_req, res, n) => page(res, [], `m${n}`))
    try {
      await expect(listAll(fake.strategy)).rejects.toThrow(/does not end: it gave 100 empty pages in a row, each saying there is more/)
      const full = await fakeAzure((_req, res, n) => page(res, [`p/${n}.txt`], `m${n}`))
      const limits = DEFAULTS as { maxListPages: number }
      const cap = limits.maxListPages
      // 2,500 pages of 1,000 keys are 500 of Azure's 5,000: the same code path as 20,000 pages, in a fraction of the time.
      limits.maxListPages = 2500
      try {
        await expect(listAll(full.strategy)).rejects.toThrow(/does not end: it gave over 500 pages of 5,000 keys/)
      } finally {
        limits.maxListPages = cap
        await full.close()
      }
      expect(Date.now() - started).toBeLessThan(60_000)
    } finally {
      await fake.close()
    }
  })

  it('a marker that never ends: a listing that goes round with a fresh marker each time fails at the default cap within a minute', async () => {
    const prefix = `endless-${Date.now().toString(36)}/`
    const names = Array.from({ length: 12 }, (_, i) => `${prefix}${String(i).padStart(2, '0')}.txt`)
    const seeded = azuriteStrategy(prefix)
    for (const name of names) await seeded.upload(await uploadFile(name, name), context())
    // In front of Azurite: pages of 5 blobs (Azure may give fewer than asked for), and each marker
    // wrapped in a fresh one, so none is ever given twice; where Azurite's listing ends, the
    // proxy's marker starts it over. A SAS token authorises, since the query is rewritten.
    const upstream = new URL(inject('azuriteEndpoint'))
    let wrapped = 0
    const proxy = createServer((req, res) => {
      const url = new URL(req.url ?? '/', upstream)
      const listing = url.searchParams.get('comp') === 'list'
      if (listing) {
        url.searchParams.set('maxresults', '5')
        const real = (url.searchParams.get('marker') ?? '').replace(/^\d+:/, '')
        if (real) url.searchParams.set('marker', real)
        else url.searchParams.delete('marker')
      }
      const forward = httpRequest(url, { method: req.method, headers: { ...req.headers, host: upstream.host } }, (answer) => {
        const chunks: Buffer[] = []
        answer.on('data', (chunk: Buffer) => chunks.push(chunk))
        answer.on('end', () => {
          let body = Buffer.concat(chunks).toString('utf8')
          if (listing && answer.statusCode === 200) body = body.replace(/<NextMarker\s*\/>|<NextMarker>([^<]*)<\/NextMarker>/, (_m, next = '') => `<NextMarker>${++wrapped}:${next}</NextMarker>`)
          const { 'content-length': _length, 'transfer-encoding': _chunked, ...headers } = answer.headers
          res.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': Buffer.byteLength(body) })
          res.end(body)
        })
      })
      req.pipe(forward)
    })
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done))
    try {
      const { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } = await import('../servers/azurite/sdk.mjs')
      const sas = generateBlobSASQueryParameters(
        { containerName: AZURE_CONTAINER, permissions: ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 3_600_000) },
        new StorageSharedKeyCredential('devstoreaccount1', AZURITE_KEY),
      ).toString()
      const { port } = proxy.address() as AddressInfo
      const strategy = azure({ url: `http://127.0.0.1:${port}${upstream.pathname}?${sas}`, container: AZURE_CONTAINER, prefix })
      const started = performance.now()
      const ctx = context()
      await expect(listAll(strategy, ctx)).rejects.toThrow(/\[azure\] The listing of azblob:\/\/devstoreaccount1\/collectfasta-test\/endless-.*\/ does not end: page 4 gave again the key that began page 1\./)
      expect(ctx.counts.list).toBe(4)
      expect(DEFAULTS.maxListPages).toBe(100_000) // the default cap, untouched
      expect(performance.now() - started).toBeLessThan(60_000)
      await strategy.dispose()
    } finally {
      proxy.closeAllConnections()
      await new Promise((done) => proxy.close(done))
    }
  }, 120_000)

  it('the manifest read stops at maxManifestBytes: a body without end is refused, not held', async () => {
    const fake = await fakeAzure((_req, res) => bodyWithoutEnd(res))
    const limits = DEFAULTS as { maxManifestBytes: number }
    const cap = limits.maxManifestBytes
    limits.maxManifestBytes = 1024 * 1024
    try {
      await expect(fake.strategy.get('p/.collectfasta/manifest.json', context())).rejects.toThrow(/\[azure\] Refusing to read azblob:\/\/devstoreaccount1\/c0ntainer\/p\/\.collectfasta\/manifest\.json: it is larger than 1048576 bytes/)
    } finally {
      limits.maxManifestBytes = cap
      await fake.close()
    }
  })

  it('a 503 ServerBusy is a throttle for the core to slow down for: not sent again here', async () => {
    const fake = await fakeAzure((_req, res) => {
      res.writeHead(503, { 'x-ms-error-code': 'ServerBusy' })
      res.end('<?xml version="1.0"?><Error><Code>ServerBusy</Code><Message>Egress is over the account limit.</Message></Error>')
    })
    try {
      const error = await fake.strategy.upload(await uploadFile('p/a.txt', 'a'), context()).then(() => undefined, (e: unknown) => e)
      expect(isThrottle(error)).toBe(true)
      expect(fake.requests()).toBe(1)
    } finally {
      await fake.close()
    }
  })
})
