import { createHash, randomBytes } from 'node:crypto'
import { DEFAULTS } from '../defaults.js'
import { normalizePrefix } from '../paths.js'
import { type Slots, createSlots, runPool } from '../pool.js'
import { redactUrl } from '../redact.js'
import { type RemoteObject, type StrategyContext, type StrategyWith, type UploadFile, defineStrategy, storageConflict, storageError, writeCondition } from '../strategy.js'
import type { AzureApi, BlobHeaders, BlobInfo, Condition } from './azure-api.js'
import { accountOf, resolveAuth } from './azure-auth.js'
import { type AzureOptions, validate } from './azure-options.js'
import type { AzureError } from './azure-transport.js'
import { METADATA_HEADERS, METADATA_MD5, METADATA_XXH64, assertUnderPrefix, bodyTimeout, endlessListingGuard, rangeReader } from './utils.js'

export type { AzureOptions }
export type { AzureCredential } from './azure-auth.js'
export type { ContainerClientLike } from './azure-sdk.js'

const STRATEGY_NAME = 'azure'
const MiB = 1024 * 1024
/** The Blob service's limit of blocks in one blob. */
const MAX_BLOCKS = 50_000
/** A single Put Blob's body is one buffer: larger files always go in blocks. */
const MAX_SINGLE_PUT = 2 ** 31 - 1

/**
 * Our digests in blob metadata. Azure metadata names are C# identifiers (no '-'), so the
 * shared names are written with '_'.
 */
const META = { md5: METADATA_MD5.replaceAll('-', '_'), xxh64: METADATA_XXH64.replaceAll('-', '_'), headers: METADATA_HEADERS.replaceAll('-', '_') }

/**
 * Deploys to Azure Blob Storage (block blobs). Cold caches are answered by one listing (5,000
 * blobs a page) that carries our digests and header fingerprint in blob metadata.
 */
export type AzureStrategy = StrategyWith<'list' | 'stat' | 'get' | 'delete' | 'copy' | 'dispose'>

export function azure(options: AzureOptions): AzureStrategy {
  validate(options)
  const prefix = normalizePrefix(STRATEGY_NAME, options.prefix)
  const resolved = options.client ? undefined : resolveAuth(options)
  const container = options.client?.containerName ?? options.container
  const account = resolved?.account ?? (options.client && accountOf(new URL(options.client.url))) ?? ''
  // The default endpoint is implied by the account; any other (Azurite, a sovereign cloud) is
  // shown, without a SAS token's query.
  const custom = resolved && resolved.service !== `https://${resolved.account}.blob.core.windows.net` ? ` at ${resolved.service}` : ''
  const where = `azblob://${account}/${container}/`
  const shortTimeout = options.timeout ?? DEFAULTS.azure.timeout
  const longTimeout = options.requestTimeout ?? DEFAULTS.azure.requestTimeout
  const threshold = options.blockThreshold ?? DEFAULTS.azure.blockThreshold
  const blockSize = options.blockSize ?? DEFAULTS.azure.blockSize
  let blockSlots: Slots | undefined
  let api: Promise<AzureApi> | undefined

  /** The first call's context sizes the socket pool. A user's `client` goes through the SDK. */
  const connect = (ctx?: StrategyContext): Promise<AzureApi> => {
    api ??= (async () => {
      if (options.client) return (await import('./azure-sdk.js')).sdkAzureApi(options.client)
      const r = resolved as NonNullable<typeof resolved>
      const [{ createAzureTransport }, { leanAzureApi }, auth] = await Promise.all([import('./azure-transport.js'), import('./azure-api.js'), r.auth()])
      const concurrency = ctx?.concurrency ?? options.concurrency ?? DEFAULTS.concurrency
      const transport = await createAzureTransport({
        service: r.service,
        auth,
        // The listing and the HEADs share the pool with the uploads.
        connections: concurrency + 4,
        connectTimeout: DEFAULTS.azure.connectionTimeout,
        maxAttempts: options.maxAttempts ?? DEFAULTS.azure.maxAttempts,
      })
      return leanAzureApi({ transport, container, timeout: shortTimeout })
    })()
    api.catch(() => {
      api = undefined
    })
    return api
  }

  /** A failure as a sentence naming the blob and what to do. */
  const fail = (error: unknown, name?: string): Error => {
    const e = error as AzureError
    if ((e.message ?? '').startsWith('[collectfasta]')) return e
    const what = `${where}${name ?? prefix}`
    const status = e.status
    const detail = redactUrl(String(e.message ?? error)).replace(/\.$/, '')
    if (status === 403 || status === 401) {
      return storageError(STRATEGY_NAME, `${what} was refused (${detail}): check the credentials; deploying needs the role "Storage Blob Data Contributor" on the container (or a SAS token with read, add, create, write, delete and list).`, error)
    }
    if (status === 404 && e.code === 'ContainerNotFound') {
      return storageError(STRATEGY_NAME, `The container \`${container}\` does not exist in the account \`${account}\`${custom}: create it (az storage container create -n '${container}'), or enable the static website for \`$web\`.`, error)
    }
    // The lean path's abandoned read, or the SDK's (AbortError).
    if (status === 'ABORT_ERR' || e.name === 'AbortError') return storageError(STRATEGY_NAME, `${what}: the deploy was cancelled while waiting for the answer. Nothing more is sent; deploy again to finish.`, error)
    if (status === 503 || status === 429) return storageError(STRATEGY_NAME, `${what}: the service asks to slow down (${detail}).`, error, true)
    if (typeof status === 'string') return storageError(STRATEGY_NAME, `Could not reach ${resolved?.service ?? where} for ${what} (${detail}): check the network and \`url\`.`, error)
    return storageError(STRATEGY_NAME, `${what}: ${detail}.`, error)
  }

  const remote = (blob: BlobInfo): RemoteObject => ({
    key: blob.name,
    size: blob.size,
    // Our own record first: a block blob's Content-MD5 is the one we stated, a foreign writer's may be absent.
    md5: blob.metadata[META.md5] ?? blob.md5,
    xxh64: blob.metadata[META.xxh64],
    headersFingerprint: blob.metadata[META.headers],
    // The listing and HEAD carry the properties: `check` and `--verify` see a header changed by hand.
    headers: { contentType: blob.contentType || null, cacheControl: blob.cacheControl || null, contentEncoding: blob.contentEncoding || null, metadata: blob.metadata },
    version: blob.etag,
    modified: blob.modified,
  })

  const headersOf = (file: UploadFile): BlobHeaders => ({
    contentType: file.headers.contentType,
    cacheControl: file.headers.cacheControl,
    contentEncoding: file.headers.contentEncoding,
    metadata: { ...file.headers.metadata, [META.md5]: file.md5(), [META.xxh64]: file.xxh64, [META.headers]: file.headersFingerprint },
  })

  /** A conditional write that did not hold (409 BlobAlreadyExists, 412 ConditionNotMet): nothing was stored. */
  const conflictOr = (error: unknown, key: string, condition: Condition | undefined) => {
    const status = (error as AzureError).status
    if (condition && (status === 409 || status === 412)) {
      const expected = 'ifMatch' in condition ? `version ${condition.ifMatch}` : 'no blob'
      return storageConflict(STRATEGY_NAME, `${where}${key} changed meanwhile: the write expected ${expected} there (${(error as AzureError).code || status}). Nothing was written.`, error)
    }
    return fail(error, key)
  }

  return defineStrategy({
    name: STRATEGY_NAME,
    target: `${where}${prefix}${custom}`,
    prefix,
    conditionalWrites: true,
    concurrency: options.concurrency,

    async *list(ctx) {
      const azureApi = await connect(ctx).catch((error: unknown) => Promise.reject(fail(error)))
      const guard = endlessListingGuard(STRATEGY_NAME, `${where}${prefix}`, DEFAULTS.maxListPages, 5000)
      let marker: string | undefined
      do {
        let page: Awaited<ReturnType<AzureApi['list']>>
        try {
          page = await azureApi.list(prefix, marker, ctx.signal)
        } catch (error) {
          throw fail(error)
        }
        ctx.count('list')
        guard({ keys: page.blobs.map((b) => b.name), more: page.next !== undefined, next: page.next })
        for (const blob of page.blobs) yield remote(blob)
        marker = page.next
      } while (marker)
    },

    async stat(key, ctx) {
      try {
        const blob = await (await connect(ctx)).head(key, ctx.signal)
        return blob && remote(blob)
      } catch (error) {
        throw fail(error, key)
      }
    },

    async upload(file, ctx) {
      const headers = headersOf(file)
      const condition: Condition | undefined = writeCondition(file)
      const azureApi = await connect(ctx).catch((error: unknown) => Promise.reject(fail(error, file.key)))
      const md5 = Buffer.from(file.md5(), 'hex').toString('base64')
      if (file.size < threshold && file.size <= MAX_SINGLE_PUT) {
        try {
          const stored = await azureApi.put(file.key, file.body, md5, headers, condition, bodyTimeout(file.size, shortTimeout))
          ctx.count('upload')
          return { key: file.key, size: file.size, md5: file.md5(), xxh64: file.xxh64, version: stored.etag, modified: stored.modified }
        } catch (error) {
          throw conflictOr(error, file.key, condition)
        }
      }
      // Blocks are read from the file as they go (the core's `read`), so a file is never held
      // whole; each block in flight holds its size of the deploy's memory (`ctx.hold`).
      const size = file.size > blockSize * MAX_BLOCKS ? Math.ceil(file.size / MAX_BLOCKS / MiB) * MiB : blockSize
      const count = Math.ceil(file.size / size)
      // Ids of one length, unique to this upload: two deploys writing the same blob at once never
      // commit each other's blocks.
      const tag = randomBytes(6).toString('hex')
      const ids = Array.from({ length: count }, (_, i) => Buffer.from(`${tag}-${String(i).padStart(6, '0')}`).toString('base64'))
      const read = rangeReader(file)
      blockSlots ??= createSlots(ctx.concurrency ?? options.concurrency ?? DEFAULTS.concurrency)
      const slots = blockSlots
      const hold = <T>(task: () => Promise<T>) => (ctx.hold ? ctx.hold(size, task) : slots.use(task))
      let done = 0
      try {
        await runPool(
          ids.map((id, i) => ({ id, i })),
          ({ id, i }) =>
            hold(async () => {
              const body = await read(i * size, Math.min((i + 1) * size, file.size))
              await azureApi.putBlock(file.key, id, body, createHash('md5').update(body).digest('base64'), longTimeout)
              ctx.count('upload')
              done++
            }),
          { limit: options.blockConcurrency ?? DEFAULTS.azure.blockConcurrency, signal: ctx.signal, stopOnError: true },
        )
        if (done !== count) throw new Error('the upload was cancelled')
        // A conditional write is decided when the blocks are committed; uncommitted blocks are
        // dropped by the service after a week, and cost nothing meanwhile beyond their storage.
        const stored = await azureApi.commit(file.key, ids, md5, headers, condition, longTimeout)
        ctx.count('upload')
        return { key: file.key, size: file.size, md5: file.md5(), xxh64: file.xxh64, version: stored.etag, modified: stored.modified }
      } catch (error) {
        throw conflictOr(error, file.key, condition)
      }
    },

    async get(key, ctx) {
      try {
        return await (await connect(ctx)).get(key, DEFAULTS.maxManifestBytes, ctx.signal)
      } catch (error) {
        if ((error as AzureError).code === 'TooLarge') {
          throw storageError(STRATEGY_NAME, `Refusing to read ${where}${key}: ${(error as Error).message} (${DEFAULTS.maxManifestBytes / MiB} MiB, the most a deploy manifest may be). Remove or replace that blob.`, error)
        }
        throw fail(error, key)
      }
    },

    async copy(from, to, ctx, copyOptions) {
      const azureApi = await connect(ctx).catch((error: unknown) => Promise.reject(fail(error, to)))
      // The source's properties: whether it exists, and our digests, which a copy with new headers must carry over.
      let source: BlobInfo | undefined
      try {
        source = await azureApi.head(from)
      } catch (error) {
        throw fail(error, from)
      }
      ctx.count('stat')
      if (!source) throw storageError(STRATEGY_NAME, `Cannot copy ${where}${from} to ${to}: there is no blob at ${from}.`)
      const headers = copyOptions?.headers
      const ours = { [META.md5]: source.metadata[META.md5], [META.xxh64]: source.metadata[META.xxh64], [META.headers]: copyOptions?.headersFingerprint }
      const blobHeaders: BlobHeaders | undefined = headers && {
        contentType: headers.contentType,
        cacheControl: headers.cacheControl,
        contentEncoding: headers.contentEncoding,
        metadata: { ...headers.metadata, ...(Object.fromEntries(Object.entries(ours).filter(([, value]) => value !== undefined)) as Record<string, string>) },
      }
      let stored: Awaited<ReturnType<AzureApi['copy']>>
      try {
        stored = await azureApi.copy(from, to, blobHeaders, source.md5 && Buffer.from(source.md5, 'hex').toString('base64'), longTimeout)
      } catch (error) {
        throw fail(error, to)
      }
      ctx.count('copy', stored.requests ?? 1)
      const copied = remote({ ...source, name: to, etag: stored.etag, modified: stored.modified })
      return headers ? { ...copied, headersFingerprint: copyOptions.headersFingerprint, headers: undefined } : copied
    },

    async delete(keys, ctx) {
      assertUnderPrefix(STRATEGY_NAME, prefix, keys)
      const azureApi = await connect(ctx).catch((error: unknown) => Promise.reject(Object.assign(fail(error), { deleted: [] })))
      const deleted: string[] = []
      const failures: string[] = []
      // One request per blob (a batch is a multipart body the emulators do not all take), 64 at a time.
      await runPool(
        keys,
        async (key) => {
          try {
            await azureApi.delete(key)
            deleted.push(key)
            ctx.count('delete')
          } catch (error) {
            failures.push(`${key}: ${fail(error, key).message.replace(/^\[collectfasta\] \[azure\] /, '')}`)
          }
        },
        { limit: 64, signal: ctx.signal },
      )
      // What was deleted goes with the error: the report lists it (a CDN must forget those paths).
      if (failures.length) throw Object.assign(storageError(STRATEGY_NAME, `Could not delete ${failures.length} blob(s) in ${where}: ${failures.join('; ')}.`), { deleted })
    },

    async dispose() {
      const held = api
      api = undefined
      await (await held?.catch(() => undefined))?.close()
    },
  })
}

export default azure
