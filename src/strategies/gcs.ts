import type { File, Storage, StorageOptions } from '@google-cloud/storage'
import { DEFAULTS } from '../defaults.js'
import { normalizePrefix } from '../paths.js'
import { MAX_BUFFER_BYTES, type StrategyWith, defineStrategy, retryDelay, storageConflict, storageError } from '../strategy.js'
import { type GcsError, type ObjectMetadata, explain, sdkCopy, sdkUpload, toRemote, transient } from './gcs-sdk.js'
import type { GcsTransport } from './gcs-transport.js'
import { METADATA_HEADERS, METADATA_MD5, METADATA_XXH64, assertUnderPrefix, bodyTimeout, endlessListingGuard, importSdk, pause, readStream, validateBucketOptions, withDeadline } from './utils.js'

const STRATEGY_NAME = 'gcs'

export interface GcsOptions {
  /** The bucket to deploy into. */
  bucket: string
  /**
   * Object name prefix (a "folder") for every object. `static`, `/static` and `static/` are the same.
   * @default ''
   */
  prefix?: string
  /** Google Cloud project id. @default from the credentials or GOOGLE_CLOUD_PROJECT */
  projectId?: string
  /** Path to a service-account key file. @default Application Default Credentials */
  keyFilename?: string
  /** Service-account credentials (`client_email`, `private_key`). @default Application Default Credentials */
  credentials?: StorageOptions['credentials']
  /**
   * A ready `Storage` instance: project, credentials and retries are its own, and every request
   * goes through it, but for simple uploads to an endpoint it sends no credentials to (the emulator).
   */
  storage?: Storage
  /**
   * Files of this many bytes or more are uploaded with a resumable upload; smaller ones in one request.
   * @default 8 MiB
   */
  resumableThreshold?: number
  /**
   * Attempts per request, including the first, with exponential backoff (the SDK's; ours for
   * simple uploads, which skip the SDK).
   * @default 3
   */
  maxAttempts?: number
  /**
   * Milliseconds without progress before a small request (list, metadata, download, delete, a
   * simple upload) is abandoned and retried; the whole request may take this plus 4 s per MiB
   * over 1 MiB (an SDK read: `maxAttempts` times that, its retries included).
   * @default 10000
   */
  timeout?: number
  /**
   * Milliseconds a resumable upload's request may take before it is abandoned and retried, plus
   * 4 s per MiB of the file (it is streamed in one request).
   * @default 120000
   */
  requestTimeout?: number
  /**
   * Uploads in flight at once with this strategy, when the plugin's (or `deploy()`'s) own
   * `concurrency` is not set: that one, when set, wins.
   * @default the plugin's concurrency (64)
   */
  concurrency?: number
}

function validate(options: GcsOptions): void {
  validateBucketOptions(STRATEGY_NAME, options, ['resumableThreshold', 'maxAttempts', 'concurrency', 'timeout', 'requestTimeout'])
}

/**
 * Deploys to Google Cloud Storage. Cold caches are answered by one listing (1,000 objects a
 * page) that carries MD5s and our own digests and header fingerprints in custom metadata, so
 * even changed header rules are seen without a request per object.
 */
export type GcsStrategy = StrategyWith<'list' | 'stat' | 'get' | 'delete' | 'copy' | 'dispose'>

export function gcs(options: GcsOptions): GcsStrategy {
  validate(options)
  const { bucket } = options
  const prefix = normalizePrefix(STRATEGY_NAME, options.prefix)
  const threshold = options.resumableThreshold ?? DEFAULTS.gcs.resumableThreshold
  const shortTimeout = options.timeout ?? DEFAULTS.gcs.timeout
  const maxAttempts = options.maxAttempts ?? DEFAULTS.gcs.maxAttempts
  /** An SDK read (a listing page, a download) ends within its attempts' deadlines, even if each attempt trickles on. */
  const sdkDeadline = (bytes: number) => maxAttempts * bodyTimeout(bytes, shortTimeout)
  let storage: Storage | undefined = options.storage
  /** Generations seen in this deploy: the precondition that makes a retried write safe. */
  const generations = new Map<string, string>()
  let listed = false

  const connect = async () => {
    if (!storage) {
      const sdk = await importSdk<typeof import('@google-cloud/storage')>('@google-cloud/storage', () => import('@google-cloud/storage'))
      storage = new sdk.Storage({
        // Small requests fail in seconds against an endpoint that never answers.
        timeout: shortTimeout,
        projectId: options.projectId,
        keyFilename: options.keyFilename,
        credentials: options.credentials,
        retryOptions: {
          autoRetry: true,
          maxRetries: maxAttempts - 1,
          // Writes are retried only under a generation precondition, so a retry never
          // overwrites an object that someone else wrote in between.
          idempotencyStrategy: sdk.IdempotencyStrategy.RetryConditional,
        },
      })
    }
    return storage.bucket(bucket)
  }

  /** Simple uploads skip the SDK where they can (gcs-transport.ts says when); undefined: the SDK uploads. */
  let lean: Promise<GcsTransport | undefined> | undefined
  const leanPath = (concurrency: number | undefined) => {
    lean ??= connect().then(async () => {
      const { leanTransport } = await import('./gcs-transport.js')
      return leanTransport(storage as Storage, options.storage !== undefined, concurrency ?? options.concurrency ?? DEFAULTS.concurrency, shortTimeout)
    })
    lean.catch(() => {
      lean = undefined
    })
    return lean
  }

  const remember = (metadata: ObjectMetadata) => {
    if (metadata.name && metadata.generation !== undefined) generations.set(metadata.name, String(metadata.generation))
  }

  return defineStrategy({
    name: STRATEGY_NAME,
    target: `gs://${bucket}/${prefix}`,
    prefix,
    concurrency: options.concurrency,
    conditionalWrites: true,

    async *list(ctx) {
      const b = await connect()
      type Query = { prefix?: string; maxResults: number; pageToken?: string; autoPaginate: false }
      let query: Query | null = { prefix: prefix || undefined, maxResults: 1000, autoPaginate: false }
      const guard = endlessListingGuard(STRATEGY_NAME, `gs://${bucket}/${prefix}`, DEFAULTS.maxListPages)
      while (query) {
        let files: File[]
        let next: Partial<Query> | null
        try {
          ;[files, next] = (await withDeadline(b.getFiles(query), sdkDeadline(0), ctx.signal)) as unknown as [File[], Partial<Query> | null]
        } catch (error) {
          throw explain(error, bucket, prefix || undefined)
        }
        ctx.count('list')
        const token = next?.pageToken || undefined
        guard({ keys: files.map((file) => file.name), more: token !== undefined, next: token })
        for (const file of files) {
          remember(file.metadata as ObjectMetadata)
          yield toRemote(file.metadata as ObjectMetadata)
        }
        query = token ? { ...query, pageToken: token } : null
      }
      listed = true
    },

    async stat(key, ctx) {
      const b = await connect()
      try {
        const [metadata] = await withDeadline(b.file(key).getMetadata(), sdkDeadline(0), ctx.signal)
        remember(metadata as ObjectMetadata)
        return toRemote(metadata as ObjectMetadata)
      } catch (error) {
        if ((error as GcsError).code === 404) return undefined
        throw explain(error, bucket, key)
      }
    },

    async upload(file, ctx) {
      const b = await connect()
      // A simple upload's body is one buffer: larger files always go resumable.
      const resumable = file.size >= threshold || file.size > MAX_BUFFER_BYTES
      const transport = resumable ? undefined : await leanPath(ctx.concurrency)
      // 0 means "must not exist yet"; unknown (a warm cache) means no precondition and no SDK retry.
      // A conditional write (the deploy manifest) says its own precondition.
      const conditional = file.ifVersion !== undefined
      let generation = conditional ? (file.ifVersion ?? '0') : (generations.get(file.key) ?? (listed ? '0' : undefined))
      const object = b.file(file.key)
      const settingsFor = (generation: string | undefined) => ({
        resumable,
        // A resumable upload is one streamed request: it gets the same 4 s per MiB as a simple one.
        timeout: bodyTimeout(file.size, resumable ? (options.requestTimeout ?? DEFAULTS.gcs.requestTimeout) : shortTimeout),
        validation: 'md5' as const,
        contentType: file.headers.contentType,
        metadata: {
          contentType: file.headers.contentType,
          cacheControl: file.headers.cacheControl,
          contentEncoding: file.headers.contentEncoding,
          metadata: {
            ...file.headers.metadata,
            [METADATA_MD5]: file.md5(),
            [METADATA_XXH64]: file.xxh64,
            [METADATA_HEADERS]: file.headersFingerprint,
          },
        },
        preconditionOpts: generation === undefined ? undefined : { ifGenerationMatch: Number(generation) },
      })
      // Sending the same bytes to the same name again is safe, so a server error or a dropped
      // connection is retried here: on the lean path always, through the SDK when there is no
      // precondition (it retries only those, RetryConditional; a warm cache knows no generation).
      // Throttling is left to the core: it slows the whole deploy down.
      const resends = maxAttempts - 1
      let resent = 0
      let stored: ObjectMetadata
      let reread = false
      for (;;) {
        const settings = settingsFor(generation)
        try {
          stored = transport
            ? await transport.upload({ bucket, file, resource: settings.metadata, ifGenerationMatch: generation, timeout: settings.timeout })
            : await sdkUpload(object, file, settings)
          break
        } catch (error) {
          if (conditional && (error as GcsError).code === 412) {
            throw storageConflict(STRATEGY_NAME, `${file.key} is no longer generation ${generation} (another deploy wrote it); nothing was written.`, error)
          }
          if ((error as GcsError).code === 412 && !reread) {
            reread = true
            // Someone wrote the object since this deploy saw it (or a resent attempt met our own
            // write, whose answer was lost): ours replaces it, as a plain write would, under the
            // generation that is there now (still safe to retry). Once.
            generation = await object.getMetadata().then(
              ([metadata]) => String((metadata as ObjectMetadata).generation),
              (e: GcsError) => (e.code === 404 ? '0' : undefined),
            )
            continue
          }
          if ((settings.preconditionOpts === undefined || transport) && resent < resends && transient(error) && !ctx.signal.aborted) {
            resent++
            await pause(retryDelay(resent), ctx.signal)
            continue
          }
          throw explain(error, bucket, file.key)
        }
      }
      remember(stored)
      // The answer's generation is the version, its `updated` the time stored.
      const { version, modified } = toRemote(stored)
      return { key: file.key, size: file.size, md5: file.md5(), xxh64: file.xxh64, version, modified }
    },

    async copy(from, to, ctx, copyOptions) {
      const b = await connect()
      const headers = copyOptions?.headers
      let resource: ObjectMetadata | undefined
      if (headers) {
        // The copy's own resource: the headers given (null clears one), and our digests of the source's bytes.
        const source = await this.stat(from, ctx)
        ctx.count('stat')
        if (!source) throw storageError(STRATEGY_NAME, `Cannot copy gs://${bucket}/${from} to ${to}: there is no object at ${from}.`)
        const ours = { [METADATA_MD5]: source.md5, [METADATA_XXH64]: source.xxh64, [METADATA_HEADERS]: copyOptions.headersFingerprint }
        const metadata = { ...headers.metadata, ...Object.fromEntries(Object.entries(ours).filter(([, value]) => value !== undefined)) } as Record<string, string>
        resource = { contentType: headers.contentType, cacheControl: headers.cacheControl ?? null, contentEncoding: headers.contentEncoding ?? null, metadata }
      }
      let stored: ObjectMetadata
      try {
        stored = await withDeadline(sdkCopy(b.file(from), b.file(to), resource), maxAttempts * (options.requestTimeout ?? DEFAULTS.gcs.requestTimeout), ctx.signal)
      } catch (error) {
        if ((error as GcsError).code === 404 && !/bucket/i.test((error as Error).message)) throw storageError(STRATEGY_NAME, `Cannot copy gs://${bucket}/${from} to ${to}: there is no object at ${from}.`, error)
        throw explain(error, bucket, to)
      }
      ctx.count('copy')
      remember(stored)
      return toRemote(stored)
    },

    async get(key, ctx) {
      const b = await connect()
      try {
        // The stored bytes as they are: a gzip-encoded object is not un-gzipped on the way (a
        // few kB could expand to gigabytes), and the read stops at the manifest's size limit.
        const bytes = await readStream(b.file(key).createReadStream({ decompress: false }), sdkDeadline, ctx.signal, DEFAULTS.maxManifestBytes)
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      } catch (error) {
        if ((error as GcsError).code === 404) return undefined
        if ((error as GcsError).code === 'ERR_ANSWER_TOO_LARGE') {
          throw storageError(STRATEGY_NAME, `gs://${bucket}/${key} is larger than ${DEFAULTS.maxManifestBytes} bytes, more than a deploy manifest may hold: it was not read. Delete it, or set \`manifest\` to another path.`)
        }
        throw explain(error, bucket, key)
      }
    },

    async delete(keys, ctx) {
      assertUnderPrefix(STRATEGY_NAME, prefix, keys)
      const b = await connect()
      const failures: string[] = []
      const deleted: string[] = []
      // One request per object (the JSON API has no multi-object delete), 100 at a time.
      for (let i = 0; i < keys.length; i += 100) {
        await Promise.all(
          keys.slice(i, i + 100).map(async (key) => {
            try {
              await withDeadline(b.file(key).delete({ ignoreNotFound: true }), sdkDeadline(0))
              generations.delete(key)
              deleted.push(key)
              ctx.count('delete')
            } catch (error) {
              failures.push(`${key}: ${(error as Error).message}`)
            }
          }),
        )
      }
      // What was deleted goes with the error: the report lists it (a CDN must forget those paths).
      if (failures.length) throw Object.assign(storageError(STRATEGY_NAME, `Could not delete ${failures.length} object(s) in gs://${bucket}: ${failures.join('; ')}.`), { deleted })
    },

    async dispose() {
      generations.clear()
      listed = false
      const held = lean
      lean = undefined
      await (await held?.catch(() => undefined))?.close()
    },
  })
}

export default gcs
