import type { File, Storage, StorageOptions } from '@google-cloud/storage'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DEFAULTS } from '../defaults.js'
import { normalizePrefix } from '../paths.js'
import { type RemoteObject, type StrategyWith, defineStrategy, storageConflict, storageError } from '../strategy.js'
import { METADATA_HEADERS, METADATA_MD5, METADATA_XXH64, assertUnderPrefix, bodyTimeout, importSdk, rangeReader, validateBucketOptions } from './utils.js'

const STRATEGY_NAME = 'gcs'
/** A simple upload's body is one buffer: larger files always go resumable. */
const MAX_SINGLE_UPLOAD = 2 ** 31 - 1
/** Pieces read from a file for a resumable upload (the SDK gathers them into chunks). */
const READ_BYTES = 1024 * 1024

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
  /** A ready `Storage` instance; project, credentials and retries are then its own. */
  storage?: Storage
  /**
   * Files of this many bytes or more are uploaded with a resumable upload; smaller ones in one request.
   * @default 8 MiB
   */
  resumableThreshold?: number
  /**
   * Attempts per request, including the first; the SDK retries with exponential backoff.
   * @default 3
   */
  maxAttempts?: number
  /**
   * Milliseconds a small request (list, metadata, download, delete, an upload up to 1 MiB) may
   * take before it is abandoned and retried; a larger simple upload gets 4 s more per MiB.
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

interface ObjectMetadata {
  name?: string
  size?: string | number
  md5Hash?: string
  generation?: string | number
  updated?: string
  metadata?: Record<string, string | number | boolean | null>
}

interface GcsError {
  code?: number | string
  message?: string
}

function validate(options: GcsOptions): void {
  validateBucketOptions(STRATEGY_NAME, options, ['resumableThreshold', 'maxAttempts', 'concurrency', 'timeout', 'requestTimeout'])
}

/** Explains an SDK error: what went wrong, where, and what to check. */
function explain(error: unknown, bucket: string, key: string | undefined): Error {
  const e = error as GcsError
  const message = (e.message ?? String(error)).replace(/\.+$/, '')
  const where = key === undefined ? `gs://${bucket}` : `gs://${bucket}/${key}`
  let hint: string
  if (/Could not load the default credentials|Could not refresh access token|invalid_grant|No key or keyFile/i.test(message)) {
    hint = 'No usable credentials. Run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or pass `keyFilename` / `credentials`.'
  } else if (e.code === 404 && /bucket/i.test(message)) {
    hint = /does not exist/i.test(message) ? 'Check `bucket` and `projectId`.' : `The bucket \`${bucket}\` does not exist. Check \`bucket\` and \`projectId\`.`
  } else if (e.code === 403 || e.code === 401) {
    hint = 'Permission denied. The account needs storage.objects.list, storage.objects.get, storage.objects.create (and storage.objects.delete to delete) on the bucket, e.g. the Storage Object Admin role.'
  } else if (e.code === 429 || e.code === 503) {
    hint = 'The storage asked to slow down; the deploy lowers its concurrency and retries. Lower `concurrency` if this persists.'
  } else if (/timeout|timed out|ETIMEDOUT/i.test(`${e.code ?? ''} ${message}`) && !/ECONNREFUSED/.test(message)) {
    hint = 'Cloud Storage did not answer in time (the `timeout` option for small requests, `requestTimeout` for resumable uploads). Check the network (and STORAGE_EMULATOR_HOST when using the emulator).'
  } else if (typeof e.code === 'string' && /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET/.test(e.code)) {
    hint = 'Could not reach Cloud Storage. Check the network (and STORAGE_EMULATOR_HOST when using the emulator).'
  } else {
    hint = 'Check the bucket, the credentials and the network.'
  }
  const code = e.code === undefined ? '' : ` (${e.code})`
  return storageError(STRATEGY_NAME, `Request failed${code} for ${where}: ${message}. ${hint}`, error, e.code === 429 || e.code === 503)
}

function toRemote(metadata: ObjectMetadata): RemoteObject {
  const custom = metadata.metadata ?? {}
  const ours = (name: string) => (typeof custom[name] === 'string' ? (custom[name] as string) : undefined)
  return {
    key: metadata.name ?? '',
    size: metadata.size === undefined ? undefined : Number(metadata.size),
    // Composite objects have no md5Hash: our own digest in custom metadata stands in.
    md5: metadata.md5Hash ? Buffer.from(metadata.md5Hash, 'base64').toString('hex') : ours(METADATA_MD5),
    xxh64: ours(METADATA_XXH64),
    headersFingerprint: ours(METADATA_HEADERS),
    version: metadata.generation === undefined ? undefined : String(metadata.generation),
    modified: metadata.updated ? Date.parse(String(metadata.updated)) : undefined,
  }
}

/**
 * Deploys to Google Cloud Storage. Cold caches are answered by one listing (1,000 objects a
 * page) that carries MD5s and our own digests and header fingerprints in custom metadata, so
 * even changed header rules are seen without a request per object.
 */
export type GcsStrategy = StrategyWith<'list' | 'stat' | 'get' | 'delete' | 'dispose'>

export function gcs(options: GcsOptions): GcsStrategy {
  validate(options)
  const { bucket } = options
  const prefix = normalizePrefix(STRATEGY_NAME, options.prefix)
  const threshold = options.resumableThreshold ?? DEFAULTS.gcs.resumableThreshold
  const shortTimeout = options.timeout ?? DEFAULTS.gcs.timeout
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
          maxRetries: (options.maxAttempts ?? DEFAULTS.gcs.maxAttempts) - 1,
          // Writes are retried only under a generation precondition, so a retry never
          // overwrites an object that someone else wrote in between.
          idempotencyStrategy: sdk.IdempotencyStrategy.RetryConditional,
        },
      })
    }
    return storage.bucket(bucket)
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
      while (query) {
        let files: File[]
        let next: Partial<Query> | null
        try {
          ;[files, next] = (await b.getFiles(query)) as unknown as [File[], Partial<Query> | null]
        } catch (error) {
          throw explain(error, bucket, prefix || undefined)
        }
        ctx.count('list')
        for (const file of files) {
          remember(file.metadata as ObjectMetadata)
          yield toRemote(file.metadata as ObjectMetadata)
        }
        query = next?.pageToken ? { ...query, pageToken: next.pageToken } : null
      }
      listed = true
    },

    async stat(key) {
      const b = await connect()
      try {
        const [metadata] = await b.file(key).getMetadata()
        remember(metadata as ObjectMetadata)
        return toRemote(metadata as ObjectMetadata)
      } catch (error) {
        if ((error as GcsError).code === 404) return undefined
        throw explain(error, bucket, key)
      }
    },

    async upload(file) {
      const b = await connect()
      // 0 means "must not exist yet"; unknown (a warm cache) means no precondition and no SDK retry.
      // A conditional write (the deploy manifest) says its own precondition.
      const conditional = file.ifVersion !== undefined
      let generation = conditional ? (file.ifVersion ?? '0') : (generations.get(file.key) ?? (listed ? '0' : undefined))
      const object = b.file(file.key)
      const resumable = file.size >= threshold || file.size > MAX_SINGLE_UPLOAD
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
      for (let attempt = 1; ; attempt++) {
        const settings = settingsFor(generation)
        try {
          if (resumable) {
            // Streamed in one request, read from the file as it goes: the SDK holds the last piece
            // only, so a file of any size takes a few MiB. A request that fails after the storage
            // has lost bytes cannot be resumed from a stream: the upload fails, and the next
            // deploy sends the file again (one chunked request per 8 MiB would resume, but costs a
            // round trip each, and the emulator the tests use cannot take chunks).
            const read = rangeReader(file)
            const chunks = async function* () {
              for (let start = 0; start < file.size; start += READ_BYTES) {
                const bytes = await read(start, Math.min(start + READ_BYTES, file.size))
                yield Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
              }
            }
            const upload = object.createWriteStream(settings)
            // The SDK can emit a second error (a failed resume) after the first has settled the
            // pipeline: it must not crash the process, and the first already fails the upload.
            upload.on('error', () => {})
            await pipeline(Readable.from(chunks()), upload)
          } else {
            const body = file.body
            await object.save(Buffer.from(body.buffer, body.byteOffset, body.byteLength), settings)
          }
          break
        } catch (error) {
          if (conditional && (error as GcsError).code === 412) {
            throw storageConflict(STRATEGY_NAME, `${file.key} is no longer generation ${generation} (another deploy wrote it); nothing was written.`, error)
          }
          if ((error as GcsError).code === 412 && attempt === 1) {
            // Someone wrote the object since this deploy saw it: ours replaces theirs, as a plain
            // write would, under the generation that is there now (still safe to retry).
            generation = await object.getMetadata().then(
              ([metadata]) => String((metadata as ObjectMetadata).generation),
              (e: GcsError) => (e.code === 404 ? '0' : undefined),
            )
            continue
          }
          throw explain(error, bucket, file.key)
        }
      }
      const stored = object.metadata as ObjectMetadata
      remember(stored)
      return { key: file.key, size: file.size, md5: file.md5(), xxh64: file.xxh64, version: stored.generation === undefined ? undefined : String(stored.generation) }
    },

    async get(key) {
      const b = await connect()
      try {
        const [bytes] = await b.file(key).download()
        return new Uint8Array(bytes)
      } catch (error) {
        if ((error as GcsError).code === 404) return undefined
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
              await b.file(key).delete({ ignoreNotFound: true })
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
    },
  })
}

export default gcs
