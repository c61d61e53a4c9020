import { createHash } from 'node:crypto'
import { DEFAULTS } from '../defaults.js'
import { normalizePrefix } from '../paths.js'
import { type Slots, createSlots, runPool } from '../pool.js'
import { MAX_BUFFER_BYTES, type RemoteObject, type StoredHeaders, type StrategyContext, type StrategyWith, type UploadFile, defineStrategy, storageConflict, storageError, writeCondition } from '../strategy.js'
import { type Condition, type HeadResult, type ObjectInput, type S3Api, checkParams } from './s3-api.js'
import { explain } from './s3-errors.js'
import { listAll } from './s3-list.js'
import { type S3Options, splitEndpoint, validate } from './s3-options.js'
import type { S3Error } from './s3-transport.js'
import { METADATA_HEADERS, METADATA_MD5, METADATA_XXH64, assertUnderPrefix, isMd5Etag, rangeReader } from './utils.js'

export type { S3Options }

const STRATEGY_NAME = 's3'
const MiB = 1024 * 1024

/** S3's limit of parts in one multipart upload. */
const MAX_PARTS = 10_000
/** The most one CopyObject copies; larger objects copy only in parts (UploadPartCopy). */
const MAX_COPY_BYTES = 5 * 1024 ** 3

/** The HEAD's headers, without those `params` sets (they are ours to compare only when the build decides them). */
function storedHeaders(head: HeadResult, params: S3Options['params']): StoredHeaders | undefined {
  if (typeof params === 'function') return undefined // per file: which headers it sets is not known here
  const headers: StoredHeaders = { ...head.headers, metadata: { ...head.metadata } }
  const fields = { ContentType: 'contentType', CacheControl: 'cacheControl', ContentEncoding: 'contentEncoding', WebsiteRedirectLocation: 'redirect' } as const
  for (const [param, field] of Object.entries(fields)) if (params?.[param as keyof typeof fields] !== undefined) delete headers[field]
  for (const name of Object.keys(params?.Metadata ?? {})) delete headers.metadata[name.toLowerCase()]
  return headers
}

export { decodeListedKey } from './s3-list.js'

/**
 * Deploys to Amazon S3 or an S3-compatible service. Cold caches are answered by one listing
 * (1,000 keys a request), comparing ETags with local MD5s; objects whose ETag is not an MD5
 * (multipart, SSE-KMS) carry our digests in their metadata, read with one HEAD each.
 */
export type S3Strategy = StrategyWith<'list' | 'stat' | 'get' | 'delete' | 'copy' | 'dispose'>

export function s3(options: S3Options): S3Strategy {
  validate(options)
  if (!options.client && options.params && typeof options.params !== 'function') checkParams(options.params)
  const { bucket } = options
  // Credentials in the endpoint URL (http://KEY:SECRET@host) are used as credentials, and the
  // URL is never printed or stored with them: the target, the cache and errors name the host.
  const { endpoint, userinfo } = splitEndpoint(options.endpoint)
  const shortTimeout = options.timeout ?? DEFAULTS.s3.timeout
  const longTimeout = options.requestTimeout ?? DEFAULTS.s3.requestTimeout
  const prefix = normalizePrefix(STRATEGY_NAME, options.prefix)
  const threshold = options.multipartThreshold ?? DEFAULTS.s3.multipartThreshold
  const partSize = options.partSize ?? DEFAULTS.s3.partSize
  const kms = options.serverSideEncryption?.startsWith('aws:kms') ?? false
  let partSlots: Slots | undefined
  let api: Promise<S3Api> | undefined

  /**
   * The first call's context sizes the socket pool. A user's `client` goes through the SDK;
   * otherwise the lean transport, with the SDK's credential chain and region only if needed.
   */
  const connect = (ctx?: StrategyContext): Promise<S3Api> => {
    api ??= (async () => {
      if (options.client) return (await import('./s3-sdk.js')).sdkApi(options.client, bucket, { timeout: shortTimeout, maxAttempts: options.maxAttempts ?? DEFAULTS.s3.maxAttempts })
      const [{ bucketBase, createTransport }, { leanApi }, config] = await Promise.all([import('./s3-transport.js'), import('./s3-api.js'), import('./s3-config.js')])
      const concurrency = ctx?.concurrency ?? options.concurrency ?? DEFAULTS.concurrency
      const transport = await createTransport({
        baseFor: bucketBase(bucket, endpoint, options.forcePathStyle ?? false),
        followRegionRedirects: !endpoint,
        region: async () => options.region ?? (endpoint ? process.env.AWS_REGION ?? 'us-east-1' : await config.defaultRegion()),
        credentials: config.credentialsProvider(options.credentials ?? userinfo),
        maxAttempts: options.maxAttempts ?? DEFAULTS.s3.maxAttempts,
        // The listing and the HEADs share the pool with the uploads.
        connections: concurrency + 4,
        connectTimeout: DEFAULTS.s3.connectionTimeout,
      })
      return leanApi({ transport, bucket, timeout: shortTimeout })
    })()
    api.catch(() => {
      api = undefined
    })
    return api
  }
  const fail = (error: unknown, key?: string) => explain(error, bucket, key, endpoint)

  const fromHead = (key: string, head: HeadResult): RemoteObject => {
    const metadata = head.metadata
    return {
      key,
      size: head.size,
      xxh64: metadata[METADATA_XXH64],
      md5: metadata[METADATA_MD5] ?? (!kms && isMd5Etag(head.etag) ? head.etag : undefined),
      headersFingerprint: metadata[METADATA_HEADERS],
      headers: storedHeaders(head, options.params),
      version: head.etag,
      modified: head.modified,
    }
  }

  /** How an object is kept (an upload's, a copy's own whatever its headers): the options, or `params` when it sets them. */
  const placement = (extra: Record<string, unknown> | undefined) => ({
    ACL: extra?.ACL ?? options.acl,
    StorageClass: extra?.StorageClass ?? options.storageClass,
    ServerSideEncryption: extra?.ServerSideEncryption ?? options.serverSideEncryption,
    SSEKMSKeyId: extra?.SSEKMSKeyId ?? options.sseKmsKeyId,
  })

  const objectParams = (file: UploadFile): ObjectInput => {
    const extra = typeof options.params === 'function' ? options.params(file) : options.params
    const input: ObjectInput = {
      ...placement(undefined),
      ContentType: file.headers.contentType,
      CacheControl: file.headers.cacheControl,
      ContentEncoding: file.headers.contentEncoding,
      WebsiteRedirectLocation: file.headers.redirect,
      ...extra,
      Key: file.key,
      Metadata: {
        ...file.headers.metadata,
        ...(extra?.Metadata as Record<string, string> | undefined),
        [METADATA_MD5]: file.md5(),
        [METADATA_XXH64]: file.xxh64,
        [METADATA_HEADERS]: file.headersFingerprint,
      },
    }
    if (!options.client && typeof options.params === 'function' && extra) checkParams(extra)
    return input
  }

  /** A conditional write that did not hold: nothing was stored, and it is not retried as it is. */
  const conflictOr = (error: unknown, key: string, condition: Condition | undefined) => {
    const e = error as S3Error
    const status = e.$metadata?.httpStatusCode
    if (condition && (status === 412 || status === 409 || e.name === 'PreconditionFailed' || e.name === 'ConditionalRequestConflict')) {
      const expected = condition.ifMatch === undefined ? 'no object' : `version ${condition.ifMatch}`
      return storageConflict(STRATEGY_NAME, `s3://${bucket}/${key} changed meanwhile: the write expected ${expected} there (${e.name}). Nothing was written.`, error)
    }
    return fail(error, key)
  }

  return defineStrategy({
    name: STRATEGY_NAME,
    target: `s3://${bucket}/${prefix}${endpoint ? ` at ${endpoint}` : ''}`,
    prefix,
    websiteRedirects: true,
    conditionalWrites: true,
    concurrency: options.concurrency,

    async *list(ctx) {
      const s3api = await connect(ctx).catch((error: unknown) => Promise.reject(fail(error, prefix || undefined)))
      yield* listAll(s3api, bucket, prefix, kms, ctx, (error) => fail(error, prefix || undefined))
    },

    async stat(key, ctx) {
      try {
        const head = await (await connect(ctx)).head(key, ctx.signal)
        return head && fromHead(key, head)
      } catch (error) {
        throw fail(error, key)
      }
    },

    async upload(file, ctx) {
      const params = objectParams(file)
      const condition: Condition | undefined = writeCondition(file)
      const s3api = await connect(ctx).catch((error: unknown) => Promise.reject(fail(error, file.key)))
      // A single PUT's body is one buffer: larger files always go in parts.
      if (file.size < threshold && file.size <= MAX_BUFFER_BYTES) {
        let etag: string | undefined
        try {
          etag = await s3api.put(params, file.body, Buffer.from(file.md5(), 'hex').toString('base64'), shortTimeout, condition)
        } catch (error) {
          throw conflictOr(error, file.key, condition)
        }
        ctx.count('upload')
        return { key: file.key, size: file.size, md5: file.md5(), xxh64: file.xxh64, version: etag }
      }

      let uploadId: string | undefined
      let etag: string | undefined
      try {
        uploadId = await s3api.createMultipart(params)
        ctx.count('upload')
        const id = uploadId
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
          const ETag = await s3api.uploadPart(file.key, id, partNumber, body, createHash('md5').update(body).digest('base64'), longTimeout)
          ctx.count('upload')
          parts.push({ PartNumber: partNumber, ETag })
        }), { limit: options.partConcurrency ?? DEFAULTS.s3.partConcurrency, signal: ctx.signal, stopOnError: true })
        if (parts.length !== numbers.length) throw new Error('the upload was cancelled')
        parts.sort((a, b) => a.PartNumber - b.PartNumber)
        // A conditional write is decided when the parts are assembled.
        etag = await s3api.complete(file.key, id, parts, longTimeout, condition)
        ctx.count('upload')
      } catch (error) {
        // Leave no orphaned parts behind (they are billed until aborted).
        if (uploadId) await s3api.abort(file.key, uploadId).catch(() => {})
        throw conflictOr(error, file.key, condition)
      }
      return { key: file.key, size: file.size, md5: file.md5(), xxh64: file.xxh64, version: etag }
    },

    async copy(from, to, ctx, copyOptions) {
      const s3api = await connect(ctx).catch((error: unknown) => Promise.reject(fail(error, to)))
      // The source's HEAD: whether it exists, its size, and our digests, which a copy with new headers must carry over.
      let head: HeadResult | undefined
      try {
        head = await s3api.head(from, ctx.signal)
      } catch (error) {
        throw fail(error, from)
      }
      ctx.count('stat')
      if (!head) throw storageError(STRATEGY_NAME, `Cannot copy s3://${bucket}/${from} to ${to}: there is no object at ${from}.`)
      if ((head.size ?? 0) > MAX_COPY_BYTES) {
        throw storageError(STRATEGY_NAME, `Cannot copy s3://${bucket}/${from} (${head.size} bytes) server-side: one CopyObject copies at most 5 GiB, and copying in parts (UploadPartCopy) is not supported. Deploy that file again instead.`)
      }
      const remote = fromHead(to, head)
      const headers = copyOptions?.headers
      let input: ObjectInput
      if (headers) {
        // REPLACE: the headers given, and our digests of the same bytes (a `params` function sees the copy as a file without a body here).
        const copied = {
          key: to,
          size: head.size ?? 0,
          headers,
          headersFingerprint: copyOptions.headersFingerprint ?? '',
          xxh64: remote.xxh64 ?? '',
          md5: () => remote.md5 ?? '',
          get body(): Uint8Array {
            throw storageError(STRATEGY_NAME, `The bytes of a copy (${to}) are not on this machine: a \`params\` function cannot read them.`)
          },
        }
        input = objectParams(copied)
        input.Metadata = Object.fromEntries(Object.entries(input.Metadata ?? {}).filter(([, value]) => value !== ''))
      } else {
        // COPY keeps the source's headers and metadata. How it is kept (ACL, storage class,
        // encryption) is the copy's own, and S3 does not copy a website redirect: both are sent.
        const extra = typeof options.params === 'function' ? undefined : options.params
        input = { ...placement(extra as Record<string, unknown> | undefined), Key: to, WebsiteRedirectLocation: head.headers.redirect ?? undefined }
      }
      let etag: string | undefined
      try {
        etag = await s3api.copy(from, input, headers ? 'REPLACE' : 'COPY', longTimeout)
      } catch (error) {
        throw fail(error, to)
      }
      ctx.count('copy')
      return { ...remote, headersFingerprint: headers ? copyOptions.headersFingerprint : remote.headersFingerprint, headers: headers ? undefined : remote.headers, version: etag, modified: undefined }
    },

    async get(key, ctx) {
      try {
        return await (await connect(ctx)).get(key, DEFAULTS.maxManifestBytes, ctx.signal)
      } catch (error) {
        if ((error as Error).name === 'TooLarge') {
          throw storageError(STRATEGY_NAME, `Refusing to read s3://${bucket}/${key}: ${(error as Error).message} (${DEFAULTS.maxManifestBytes / MiB} MiB, the most a deploy manifest may be). Remove or replace that object.`, error)
        }
        throw fail(error, key)
      }
    },

    async delete(keys, ctx) {
      assertUnderPrefix(STRATEGY_NAME, prefix, keys)
      // The keys confirmed deleted, carried by the error if a later batch fails (the core reports them).
      const deleted: string[] = []
      const failures: string[] = []
      let notDeleted = 0
      try {
        const s3api = await connect(ctx)
        for (let i = 0; i < keys.length; i += 1000) {
          const batch = keys.slice(i, i + 1000)
          const result = await s3api.deleteBatch(batch)
          ctx.count('delete')
          // Only a key the answer names as deleted is; one it does not name at all is not.
          const asked = new Set(batch)
          const confirmed = new Set(result.deleted.filter((key) => asked.has(key)))
          deleted.push(...confirmed)
          for (const e of result.errors) failures.push(`${e.key}: ${e.code} ${e.message}`.trim())
          const named = new Set([...confirmed, ...result.errors.map((e) => e.key)])
          const unanswered = batch.filter((key) => !named.has(key))
          notDeleted += result.errors.length + unanswered.length
          if (unanswered.length) failures.push(`${unanswered.length} key(s) the answer did not confirm as deleted (${unanswered.slice(0, 3).join(', ')}${unanswered.length > 3 ? ', …' : ''})`)
        }
      } catch (error) {
        throw Object.assign(fail(error), { deleted })
      }
      if (failures.length) {
        throw Object.assign(storageError(STRATEGY_NAME, `Could not delete ${notDeleted} object(s) in s3://${bucket}: ${failures.join('; ')}.`), { deleted })
      }
    },

    async dispose() {
      const held = api
      api = undefined
      await (await held?.catch(() => undefined))?.close()
    },
  })
}

export default s3
