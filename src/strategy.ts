/**
 * The strategy contract: how the deploy core talks to a storage backend.
 * A strategy is a plain object; the optional methods are its capabilities.
 */

/** The headers stored with an object. */
export interface ObjectHeaders {
  contentType: string
  cacheControl?: string
  contentEncoding?: string
  /** User metadata (S3 `x-amz-meta-*`, GCS custom metadata). */
  metadata?: Record<string, string>
  /** A redirect stored with the object (S3 `x-amz-website-redirect-location`); see `websiteRedirects`. */
  redirect?: string
}

/**
 * The headers an object is stored with now, as the storage reports them (an S3 HEAD, a Cloud
 * Storage listing). `null`: stored without that header. A field left out: the storage did not
 * say, or the strategy sets it from its own options (S3 `params`): it is not compared.
 */
export interface StoredHeaders {
  contentType?: string | null
  cacheControl?: string | null
  contentEncoding?: string | null
  redirect?: string | null
  /** Every user metadata entry (ours included), names as the storage gives them. */
  metadata: Record<string, string>
}

/** What a storage knows about one stored object. Every digest is optional. */
export interface RemoteObject {
  /** Full key, prefix included. */
  key: string
  size?: number
  /** Hex MD5 of the stored bytes, when the storage exposes a real one. */
  md5?: string
  /** Hex xxh64 of the stored bytes, when the strategy can tell (stored by us, or computed). */
  xxh64?: string
  /** Fingerprint of the headers the object was stored with, when the strategy can tell. */
  headersFingerprint?: string
  /**
   * The headers stored now, when the answer carries them (`stat` on S3, `list` and `stat` on
   * Cloud Storage). `collectfasta check` and `verify` compare them with the build's: a header
   * changed by hand keeps the fingerprint, which is only what we stored.
   */
  headers?: StoredHeaders
  /**
   * What identifies this stored version (S3 ETag, GCS generation, fs content hash). The remote
   * manifest records it, so a later listing can tell the object is still the one recorded.
   */
  version?: string
  /**
   * When the storage last wrote the object, in ms since the epoch, by the storage's clock (S3
   * LastModified, GCS updated, a file's mtime). Prune never deletes an object written after this
   * deploy marked the storage.
   */
  modified?: number
  /**
   * The listing cannot decide (e.g. an S3 multipart ETag that is not an MD5):
   * the core calls `stat(key)` for this object when it needs to compare.
   */
  needsStat?: boolean
  /**
   * The listed digest may not be the content's MD5 (S3-compatible servers, bucket-default
   * SSE-KMS): when it does not match, the core asks `stat(key)` before deciding to upload.
   */
  statOnMismatch?: boolean
}

/** One file to store. */
export interface UploadFile {
  /** Full key, prefix included. */
  key: string
  /**
   * The bytes to store. For a large file from disk this reads the whole file on each access
   * (and fails past 2 GiB): a strategy that can send a body in parts uses `read` instead.
   */
  body: Uint8Array
  /** Size of the bytes to store. */
  size: number
  /**
   * Bytes [start, end) of the body. The core gives it with every file, reading a large file's
   * ranges from disk (checked to be the bytes that were hashed), so parts are never held whole.
   * Optional for callers of a strategy, who may give only `body`.
   */
  read?(start: number, end: number): Promise<Uint8Array>
  /** Hex xxh64 of the file's content before compression (what the cache and manifest key on). */
  xxh64: string
  /** Hex MD5 of `body` (as stored), computed on first call and remembered. */
  md5(): string
  headers: ObjectHeaders
  /** Fingerprint of `headers`, for strategies that store it next to the object. */
  headersFingerprint: string
  /**
   * A conditional write (set by the core only on the deploy manifest, and only for strategies
   * with `conditionalWrites`): store the body only if the object's current `version` (as `stat`
   * and `upload` report it) is this string, or, for `null`, only if no object exists. Otherwise
   * store nothing and reject with `storageConflict(...)` (S3 `If-Match` / `If-None-Match: *`,
   * GCS `ifGenerationMatch`, a directory by compare-and-rename under a lock).
   */
  ifVersion?: string | null
}

/** Kinds of storage requests counted in the report. */
export type RequestKind = 'list' | 'stat' | 'get' | 'upload' | 'delete' | 'copy'

/** Passed to every strategy call. */
export interface StrategyContext {
  /** Aborted when the deploy is cancelled. */
  signal: AbortSignal
  /**
   * Count requests made to the storage (a LIST page, a HEAD, an upload or one part, a delete
   * batch, a server-side copy). A call that counts nothing is counted as one request of its kind.
   */
  count(kind: RequestKind, n?: number): void
  /** The deploy's concurrency: files in flight at once. */
  concurrency?: number
  /**
   * Runs `task` while `bytes` of the deploy's memory for bodies in flight are held (256 MiB,
   * shared with whole files being uploaded). A strategy that reads parts of a large file holds
   * each part's size while it is in flight, so memory stays bounded whatever the concurrency.
   * Absent when a strategy is called outside `deploy()`.
   */
  hold?<T>(bytes: number, task: () => Promise<T>): Promise<T>
}

export interface Strategy {
  /** "s3", "gcs", "fs", or a custom name. */
  name: string
  /** Where it writes, e.g. `s3://bucket/prefix/`: the cache namespace and the report's target. */
  target: string
  /** Key prefix every key starts with: `''` or a POSIX path ending in `/`. */
  prefix?: string
  /**
   * The local directory the keys are written under (absolute), for a strategy that writes to
   * this machine's disk (the filesystem's `dir` and `prefix`). The deploy refuses an output
   * directory equal to it, inside it or containing it: the site would be copied into itself.
   */
  localDir?: string
  /**
   * How `compress` applies here: 'in-place' stores the compressed bytes under the same key with
   * Content-Encoding (object storages); 'siblings' adds `.gz` / `.br` files next to the
   * original (web servers with gzip_static / brotli_static).
   * @default 'in-place'
   */
  compression?: 'in-place' | 'siblings'
  /** Whether `headers.redirect` is stored as a redirect (S3 website endpoints): the `redirects` option needs it. */
  websiteRedirects?: boolean
  /**
   * Whether uploads read `file.md5()`. A strategy that never does (the filesystem) says `false`,
   * and a large file is then not read once more just for its MD5.
   * @default true
   */
  needsMd5?: boolean
  /**
   * Whether objects keep the headers they were uploaded with (object storages). A directory does
   * not: the web server serving it decides them, so `collectfasta check` compares bytes only.
   * @default true
   */
  storesHeaders?: boolean
  /**
   * Whether `upload` honours `file.ifVersion` (see there). Without it, the deploy manifest is
   * written unconditionally after a re-read of its version, and a race with another deploy is
   * only noticed, not prevented.
   * @default false
   */
  conditionalWrites?: boolean
  /**
   * Whether two keys that differ only in letter case or Unicode normalisation name one object
   * (a directory on macOS or Windows). The core then compares keys folded (`foldPath` of
   * `paths.ts`): prune never deletes a stale key that is a live file under another spelling.
   * The filesystem strategy finds it out by probing its directory; object storages are exact.
   * @default false
   */
  readonly caseInsensitive?: boolean
  /** Suggested upload concurrency when the user sets none. */
  concurrency?: number
  /** Every object under the prefix, in bulk. Used only when the cache cannot decide. */
  list?(ctx: StrategyContext): AsyncIterable<RemoteObject>
  /** One object, when the listing cannot decide. Resolves `undefined` when it does not exist. */
  stat?(key: string, ctx: StrategyContext): Promise<RemoteObject | undefined>
  /** Read one object's bytes (the remote manifest); `undefined` when it does not exist. */
  get?(key: string, ctx: StrategyContext): Promise<Uint8Array | undefined>
  /** Store bytes and headers; resolves once the storage has confirmed it. */
  upload(file: UploadFile, ctx: StrategyContext): Promise<RemoteObject | undefined>
  /**
   * Delete keys (all under the prefix). On a failure part-way, reject with an error whose
   * `deleted` property lists the keys that were deleted before it (the report names them).
   */
  delete?(keys: string[], ctx: StrategyContext): Promise<void>
  /**
   * Server-side copy: store at `to` the bytes of the object at `from` (both full keys, prefix
   * included), without the bytes passing through this machine. With `headers`, the copy gets
   * those headers (and `headersFingerprint` stored as ours, as `upload` stores it); without, it
   * keeps `from`'s own headers and metadata. Resolves with what is now stored at `to`; rejects when
   * `from` does not exist (a clear storageError naming the key).
   */
  copy?(from: string, to: string, ctx: StrategyContext, options?: { headers?: ObjectHeaders; headersFingerprint?: string }): Promise<RemoteObject | undefined>
  /** Release clients, sockets. */
  dispose?(): Promise<void>
  /**
   * Called by the deploy before anything else with the project root: relative paths in the
   * strategy's own options (the filesystem's `dir`) resolve against it, as `cacheDir` does.
   */
  bindRoot?(root: string): void
}

/** A strategy that has the optional capabilities `K`: what each built-in factory returns. */
export type StrategyWith<K extends 'list' | 'stat' | 'get' | 'delete' | 'copy' | 'dispose' | 'bindRoot'> = Strategy & Required<Pick<Strategy, K>>

/** Identity helper that gives a custom strategy its types (and keeps its precise type). */
export function defineStrategy<T extends Strategy>(strategy: T): T {
  return strategy
}

/**
 * An error from a storage, prefixed with the plugin and strategy names, keeping its cause.
 * `throttled` marks a "slow down" answer (HTTP 429/503, S3 SlowDown): on it the core halves
 * its concurrency and retries the upload after a pause. Custom strategies use it the same way.
 */
export function storageError(strategy: string, message: string, cause?: unknown, throttled = false): Error {
  const error = new Error(`[collectfasta] [${strategy}] ${message}`, cause === undefined ? undefined : { cause })
  return throttled ? Object.assign(error, { throttled: true }) : error
}

/**
 * The error a strategy rejects a conditional write with (`file.ifVersion` did not hold: S3 412
 * PreconditionFailed or 409 ConditionalRequestConflict, GCS 412): nothing was stored. The core
 * re-reads the object, merges, and tries again; it is never retried as it is.
 */
export function storageConflict(strategy: string, message: string, cause?: unknown): Error {
  return Object.assign(storageError(strategy, message, cause), { conflict: true })
}

/** Whether an error (or one of its causes) was marked as a conflict by `storageConflict`. */
export function isConflict(error: unknown): boolean {
  const e = error as { conflict?: boolean; cause?: unknown }
  if (e?.conflict === true) return true
  return e?.cause !== undefined && e.cause !== error ? isConflict(e.cause) : false
}

/** Whether an error (or one of its causes) was marked as a throttling answer by `storageError`. */
export function isThrottle(error: unknown): boolean {
  const e = error as { throttled?: boolean; cause?: unknown }
  if (e?.throttled === true) return true
  return e?.cause !== undefined && e.cause !== error ? isThrottle(e.cause) : false
}

/**
 * The pause in ms before retry `attempt` (1, 2, …) of a storage request: full jitter over 100 ms
 * doubling (500 ms after a throttling answer), capped at 20 s, as the AWS SDK does. The one
 * backoff rule of the S3 and GCS requests and of the core's throttled uploads.
 */
export function retryDelay(attempt: number, throttled = false, random = Math.random): number {
  return Math.round(random() * Math.min(20_000, (throttled ? 500 : 100) * 2 ** (attempt - 1)))
}

/** The most bytes Node holds in one Buffer: a body over it is never read or sent whole. */
export const MAX_BUFFER_BYTES = 2 ** 31 - 1

/** A conditional write as an ETag-keyed storage takes it: over this version (If-Match), or only where nothing is stored (If-None-Match: *). */
export type WriteCondition = { ifMatch: string } | { ifNoneMatch: '*' }

/** The precondition `file.ifVersion` asks for: none, over a version, or only where nothing is stored. */
export function writeCondition(file: Pick<UploadFile, 'ifVersion'>): WriteCondition | undefined {
  if (file.ifVersion === undefined) return undefined
  return file.ifVersion === null ? { ifNoneMatch: '*' } : { ifMatch: file.ifVersion }
}
