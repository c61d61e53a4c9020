/** The Cloud Storage SDK's answers: errors explained, object metadata read; uploads through it. */
import type { CreateWriteStreamOptions, File, SaveOptions } from '@google-cloud/storage'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { type RemoteObject, type UploadFile, storageError } from '../strategy.js'
import { METADATA_HEADERS, METADATA_MD5, METADATA_XXH64, rangeReader } from './utils.js'

const STRATEGY_NAME = 'gcs'
/** Pieces read from a file for a resumable upload (the SDK gathers them into chunks). */
const READ_BYTES = 1024 * 1024

/** What the Cloud Storage SDK's errors carry. */
export interface GcsError {
  code?: number | string
  message?: string
}

/** Explains an SDK error: what went wrong, where, and what to check. */
export function explain(error: unknown, bucket: string, key: string | undefined): Error {
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

/**
 * A failure worth sending the same bytes again for: a server error or a connection lost on the
 * way. Not throttling (429/503: the core slows down instead), nor a client error.
 */
export function transient(error: unknown): boolean {
  const e = error as GcsError
  if (typeof e.code === 'number') return e.code === 408 || e.code === 500 || e.code === 502 || e.code === 504
  return /ECONNRESET|EPIPE|ETIMEDOUT|ECONNABORTED|socket hang up/i.test(`${e.code ?? ''} ${e.message ?? ''}`)
}

/** An object's metadata, as listings and uploads give it. */
export interface ObjectMetadata {
  name?: string
  size?: string | number
  md5Hash?: string
  generation?: string | number
  updated?: string
  contentType?: string
  cacheControl?: string | null
  contentEncoding?: string | null
  metadata?: Record<string, string | number | boolean | null>
}

/** What a listing or a metadata request says about one object. */
export function toRemote(metadata: ObjectMetadata): RemoteObject {
  const custom = metadata.metadata ?? {}
  const ours = (name: string) => (typeof custom[name] === 'string' ? (custom[name] as string) : undefined)
  return {
    key: metadata.name ?? '',
    size: metadata.size === undefined ? undefined : Number(metadata.size),
    // Composite objects have no md5Hash: our own digest in custom metadata stands in.
    md5: metadata.md5Hash ? Buffer.from(metadata.md5Hash, 'base64').toString('hex') : ours(METADATA_MD5),
    xxh64: ours(METADATA_XXH64),
    headersFingerprint: ours(METADATA_HEADERS),
    // Listings carry every object's resource: its headers cost no request (and no copy).
    headers: {
      contentType: metadata.contentType ?? null,
      cacheControl: metadata.cacheControl ?? null,
      contentEncoding: metadata.contentEncoding ?? null,
      metadata: custom as Record<string, string>, // not copied: a listing of 100,000 objects holds one each
    },
    version: metadata.generation === undefined ? undefined : String(metadata.generation),
    modified: metadata.updated ? Date.parse(String(metadata.updated)) : undefined,
  }
}

/**
 * One upload through the SDK: a resumable one (`settings.resumable`) streamed from the file,
 * else one request. Resolves with what the storage answered (the generation, `updated`).
 */
export async function sdkUpload(object: File, file: UploadFile, settings: SaveOptions & CreateWriteStreamOptions): Promise<ObjectMetadata> {
  if (!settings.resumable) {
    const body = file.body
    await object.save(Buffer.from(body.buffer, body.byteOffset, body.byteLength), settings)
    return object.metadata as ObjectMetadata
  }
  // Streamed in one request, read from the file as it goes: the SDK holds the last piece
  // only, so a file of any size takes a few MiB. A request that fails after the storage
  // has lost bytes cannot be resumed from a stream: it is sent again from the start by the caller
  // (or, under a precondition, by the next deploy). One chunked request per 8 MiB would
  // resume, but costs a round trip each, and the emulator the tests use cannot take chunks.
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
  return object.metadata as ObjectMetadata
}

/**
 * A server-side copy (the JSON API's rewriteTo; the SDK follows its rewriteToken until done).
 * With `resource`, the copy's metadata is that one; without, the source's. Resolves with what
 * the storage answered for the copy.
 */
export async function sdkCopy(source: File, destination: File, resource: ObjectMetadata | undefined): Promise<ObjectMetadata> {
  const [, answer] = await source.copy(destination, (resource ?? {}) as Parameters<File['copy']>[1])
  return (answer as { resource?: ObjectMetadata } | undefined)?.resource ?? (destination.metadata as ObjectMetadata)
}
