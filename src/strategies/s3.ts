import type { S3Client } from '@aws-sdk/client-s3'
import { createHash } from 'node:crypto'
import { DEFAULTS } from '../defaults.js'
import { normalizePrefix } from '../paths.js'
import { type Slots, createSlots, runPool } from '../pool.js'
import { type RemoteObject, type StrategyContext, type StrategyWith, type UploadFile, defineStrategy, storageConflict, storageError } from '../strategy.js'
import { type SdkError, explain } from './s3-errors.js'
import { type S3Options, validate } from './s3-options.js'
import { METADATA_HEADERS, METADATA_MD5, METADATA_XXH64, assertUnderPrefix, bodyTimeout, importSdk, rangeReader } from './utils.js'

export type { S3Options }

const STRATEGY_NAME = 's3'
const MiB = 1024 * 1024

const PLAIN_ETAG = /^[0-9a-f]{32}$/
/** S3's limit of parts in one multipart upload. */
const MAX_PARTS = 10_000
/** A single PUT's body is one buffer: larger files always go in parts. */
const MAX_SINGLE_PUT = 2 ** 31 - 1

/** An endpoint without its userinfo, and that userinfo as S3 credentials. */
function splitEndpoint(endpoint: string | undefined) {
  if (endpoint === undefined) return { endpoint }
  const url = new URL(endpoint)
  if (!url.username && !url.password) return { endpoint }
  const userinfo = { accessKeyId: decodeURIComponent(url.username), secretAccessKey: decodeURIComponent(url.password) }
  url.username = ''
  url.password = ''
  return { endpoint: url.href.replace(/\/$/, endpoint.endsWith('/') ? '/' : ''), userinfo }
}

/** A key from a listing with `EncodingType=url`: S3 encodes it as a form value (a space is '+'). */
export function decodeListedKey(key: string): string {
  return decodeURIComponent(key.replaceAll('+', ' '))
}


/** Sockets for `concurrency` requests at once: never fewer than the SDK's own 50 (the listing and HEADs share them). */
function agents(concurrency: number) {
  const sockets = { keepAlive: true, maxSockets: Math.max(50, concurrency) }
  return { httpAgent: sockets, httpsAgent: sockets }
}

/**
 * Deploys to Amazon S3 or an S3-compatible service. Cold caches are answered by one listing
 * (1,000 keys a request), comparing ETags with local MD5s; objects whose ETag is not an MD5
 * (multipart, SSE-KMS) carry our digests in their metadata, read with one HEAD each.
 */
export type S3Strategy = StrategyWith<'list' | 'stat' | 'get' | 'delete' | 'dispose'>

export function s3(options: S3Options): S3Strategy {
  validate(options)
  const { bucket } = options
  // Credentials in the endpoint URL (http://KEY:SECRET@host) are used as credentials, and the
  // URL is never printed or stored with them: the target, the cache and errors name the host.
  const { endpoint, userinfo } = splitEndpoint(options.endpoint)
  const shortTimeout = options.timeout ?? DEFAULTS.s3.timeout
  /** Per-request options for a large body (sent without them, requests share the SDK's cached middleware). */
  const long = { requestTimeout: options.requestTimeout ?? DEFAULTS.s3.requestTimeout }
  const forBody = (size: number) => (size > MiB ? { requestTimeout: bodyTimeout(size, shortTimeout) } : undefined)
  const prefix = normalizePrefix(STRATEGY_NAME, options.prefix)
  const threshold = options.multipartThreshold ?? DEFAULTS.s3.multipartThreshold
  const partSize = options.partSize ?? DEFAULTS.s3.partSize
  const kms = options.serverSideEncryption?.startsWith('aws:kms') ?? false
  let partSlots: Slots | undefined
  let client: S3Client | undefined = options.client
  let sdk: typeof import('@aws-sdk/client-s3') | undefined
  const ownsClient = !options.client

  /** The first call's context sizes the client's socket pool (the SDK's own is 50: a higher concurrency would queue). */
  const connect = async (ctx?: StrategyContext) => {
    sdk ??= await importSdk<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3', () => import('@aws-sdk/client-s3'))
    client ??= new sdk.S3Client({
      region: options.region ?? (endpoint ? process.env.AWS_REGION ?? 'us-east-1' : undefined),
      endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials ?? userinfo,
      maxAttempts: options.maxAttempts ?? DEFAULTS.s3.maxAttempts,
      // Recent SDKs only warn when requestTimeout passes unless told to throw (and then retry).
      // Small requests get the short timeout; large bodies say their own (see `long`).
      requestHandler: { requestTimeout: shortTimeout, throwOnRequestTimeout: true, connectionTimeout: DEFAULTS.s3.connectionTimeout, ...agents(ctx?.concurrency ?? options.concurrency ?? DEFAULTS.concurrency) },
      followRegionRedirects: !endpoint,
      requestChecksumCalculation: options.requestChecksumCalculation ?? (endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED'),
      responseChecksumValidation: endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      // Resolve the middleware stack once per command type, not once per request: a deploy
      // sends thousands of identical PutObjects, and this halves the SDK's CPU per request.
      // (It applies only to sends without per-request options, hence no abortSignal below:
      // a cancelled deploy lets requests in flight finish, and starts no new one.)
      cacheMiddleware: true,
    })
    return { client, sdk }
  }

  const fromHead = (key: string, head: { ContentLength?: number; ETag?: string; LastModified?: Date; Metadata?: Record<string, string> }): RemoteObject => {
    const etag = head.ETag?.replaceAll('"', '')
    const metadata = head.Metadata ?? {}
    return {
      key,
      size: head.ContentLength,
      xxh64: metadata[METADATA_XXH64],
      md5: metadata[METADATA_MD5] ?? (!kms && etag && PLAIN_ETAG.test(etag) ? etag : undefined),
      headersFingerprint: metadata[METADATA_HEADERS],
      version: etag,
      modified: head.LastModified?.getTime(),
    }
  }

  const objectParams = (file: UploadFile) => {
    const extra = typeof options.params === 'function' ? options.params(file) : options.params
    return {
      Bucket: bucket,
      Key: file.key,
      ContentType: file.headers.contentType,
      CacheControl: file.headers.cacheControl,
      ContentEncoding: file.headers.contentEncoding,
      WebsiteRedirectLocation: file.headers.redirect,
      Metadata: {
        ...file.headers.metadata,
        [METADATA_MD5]: file.md5(),
        [METADATA_XXH64]: file.xxh64,
        [METADATA_HEADERS]: file.headersFingerprint,
      },
      ACL: options.acl,
      StorageClass: options.storageClass,
      ServerSideEncryption: options.serverSideEncryption,
      SSEKMSKeyId: options.sseKmsKeyId,
      ...extra,
    }
  }

  return defineStrategy({
    name: STRATEGY_NAME,
    target: `s3://${bucket}/${prefix}${endpoint ? ` at ${endpoint}` : ''}`,
    prefix,
    websiteRedirects: true,
    conditionalWrites: true,
    concurrency: options.concurrency,

    async *list(ctx) {
      const { client, sdk } = await connect(ctx)
      let token: string | undefined
      do {
        let page: import('@aws-sdk/client-s3').ListObjectsV2CommandOutput
        try {
          page = await client.send(
            // URL-encoded keys: in raw XML a key's \r comes back as \n (XML normalises line ends).
            new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, MaxKeys: 1000, ContinuationToken: token, EncodingType: 'url' }),
          )
        } catch (error) {
          throw explain(error, bucket, prefix || undefined, endpoint)
        }
        ctx.count('list')
        const encoded = page.EncodingType === 'url' // servers that ignore the request send raw keys
        for (const object of page.Contents ?? []) {
          if (!object.Key) continue
          const key = encoded ? decodeListedKey(object.Key) : object.Key
          const etag = object.ETag?.replaceAll('"', '')
          const plain = !kms && etag !== undefined && PLAIN_ETAG.test(etag)
          yield { key, size: object.Size, md5: plain ? etag : undefined, version: etag, modified: object.LastModified?.getTime(), needsStat: !plain, statOnMismatch: true }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
    },

    async stat(key, ctx) {
      const { client, sdk } = await connect(ctx)
      try {
        const head = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }))
        return fromHead(key, head)
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
        if ((error as Error).name === 'NotFound' || status === 404) return undefined
        throw explain(error, bucket, key, endpoint)
      }
    },

    async upload(file, ctx) {
      const { client, sdk } = await connect(ctx)
      const params = objectParams(file)
      if (file.size < threshold && file.size <= MAX_SINGLE_PUT) {
        let put: import('@aws-sdk/client-s3').PutObjectCommandOutput
        try {
          put = await client.send(
            new sdk.PutObjectCommand({
              ...params,
              Body: file.body,
              ContentLength: file.size,
              ContentMD5: Buffer.from(file.md5(), 'hex').toString('base64'),
              // A conditional write (the deploy manifest): If-Match its ETag, or If-None-Match: *.
              ...(file.ifVersion === undefined ? {} : file.ifVersion === null ? { IfNoneMatch: '*' } : { IfMatch: `"${file.ifVersion}"` }),
            }),
            forBody(file.size),
          )
        } catch (error) {
          const status = (error as SdkError).$metadata?.httpStatusCode
          if (file.ifVersion !== undefined && (status === 412 || status === 409)) {
            throw storageConflict(STRATEGY_NAME, `${file.key} is no longer the version this deploy read (another deploy wrote it); nothing was written.`, error)
          }
          throw explain(error, bucket, file.key, endpoint)
        }
        ctx.count('upload')
        return { key: file.key, size: file.size, md5: file.md5(), xxh64: file.xxh64, version: put.ETag?.replaceAll('"', '') }
      }

      let uploadId: string | undefined
      let etag: string | undefined
      try {
        const created = await client.send(new sdk.CreateMultipartUploadCommand(params))
        ctx.count('upload')
        uploadId = created.UploadId
        const parts: { PartNumber: number; ETag?: string }[] = []
        // S3 takes at most 10,000 parts: a file too large for them gets larger parts.
        const size = Math.max(partSize, Math.ceil(file.size / MAX_PARTS / MiB) * MiB)
        const numbers = Array.from({ length: Math.ceil(file.size / size) }, (_, i) => i + 1)
        // Parts are read from the file as they go (the core's `read`), so a file is never held
        // whole. Each part in flight holds its size of the deploy's memory (`ctx.hold`), which
        // bounds parts across files; called outside a deploy, the concurrency bounds them.
        const read = rangeReader(file)
        partSlots ??= createSlots(ctx.concurrency ?? options.concurrency ?? DEFAULTS.concurrency)
        const slots = partSlots
        const hold = <T>(task: () => Promise<T>) => (ctx.hold ? ctx.hold(size, task) : slots.use(task))
        // The first failed part stops the upload: no further part starts, and the abort below
        // runs only once no part is in flight (a part finishing after it would be billed).
        await runPool(numbers, (partNumber) => hold(async () => {
          const body = await read((partNumber - 1) * size, Math.min(partNumber * size, file.size))
          const part = await client.send(
            new sdk.UploadPartCommand({
              Bucket: bucket,
              Key: file.key,
              UploadId: uploadId,
              PartNumber: partNumber,
              Body: body,
              ContentLength: body.byteLength,
              ContentMD5: createHash('md5').update(body).digest('base64'),
            }),
            long,
          )
          ctx.count('upload')
          parts.push({ PartNumber: partNumber, ETag: part.ETag })
        }), { limit: options.partConcurrency ?? DEFAULTS.s3.partConcurrency, signal: ctx.signal, stopOnError: true })
        if (parts.length !== numbers.length) throw new Error('the upload was cancelled')
        parts.sort((a, b) => a.PartNumber - b.PartNumber)
        const completed = await client.send(
          new sdk.CompleteMultipartUploadCommand({ Bucket: bucket, Key: file.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          long,
        )
        ctx.count('upload')
        etag = completed.ETag?.replaceAll('"', '')
      } catch (error) {
        if (uploadId) {
          // Leave no orphaned parts behind (they are billed until aborted).
          await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: file.key, UploadId: uploadId })).catch(() => {})
        }
        throw explain(error, bucket, file.key, endpoint)
      }
      return { key: file.key, size: file.size, md5: file.md5(), xxh64: file.xxh64, version: etag }
    },

    async get(key, ctx) {
      const { client, sdk } = await connect(ctx)
      try {
        const object = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }))
        return await object.Body?.transformToByteArray()
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey' || (error as SdkError).$metadata?.httpStatusCode === 404) return undefined
        throw explain(error, bucket, key, endpoint)
      }
    },

    async delete(keys, ctx) {
      assertUnderPrefix(STRATEGY_NAME, prefix, keys)
      const { client, sdk } = await connect(ctx)
      const failures: string[] = []
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000)
        let result: import('@aws-sdk/client-s3').DeleteObjectsCommandOutput
        try {
          result = await client.send(
            new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
          )
        } catch (error) {
          throw explain(error, bucket, undefined, endpoint)
        }
        ctx.count('delete')
        for (const e of result.Errors ?? []) failures.push(`${e.Key}: ${e.Code} ${e.Message ?? ''}`.trim())
      }
      if (failures.length) throw storageError(STRATEGY_NAME, `Could not delete ${failures.length} object(s) in s3://${bucket}: ${failures.join('; ')}.`)
    },

    async dispose() {
      if (ownsClient && client) {
        client.destroy()
        client = undefined
      }
    },
  })
}

export default s3
