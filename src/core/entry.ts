import type { Encoding } from './compress.js'
import type { ObjectHeaders } from '../strategy.js'
import type { FileSource } from './large-file.js'

/** Upload order: each group is finished before the next starts. */
export const GROUP_HASHED = 0
export const GROUP_OTHER = 1
export const GROUP_LAST = 2
export const GROUPS = [GROUP_HASHED, GROUP_OTHER, GROUP_LAST] as const

/** One object to deploy, made by the scan and read by every later phase. */
export interface Entry {
  /** POSIX path relative to outDir. */
  path: string
  /** Storage key: the strategy's prefix + path. */
  key: string
  /** Size of `bytes`. */
  size: number
  /** Hex xxh64 of `bytes` (of the original file, for a compressed sibling). The cache keys on it. */
  xxh64: string
  /** Compression applied to the stored bytes, if any. */
  encoding?: Encoding
  /** The bytes to store: `bytes`, or their compressed form (computed once, only when needed). */
  body(): Uint8Array
  /** Size of the bytes to store (after `prepare()` for a large compressed file). */
  bodySize(): number
  /** Bytes [start, end) of the body: a large file's are read from disk, never held whole. */
  read(start: number, end: number): Promise<Uint8Array>
  /**
   * Readies the body for `body()`, `bodySize()`, `read()` and `md5()` without blocking: the
   * compressed form (off the main thread; a large file's as a temporary file), and a large
   * file's MD5, read a chunk at a time (unless `md5` is false: the strategy does not need it).
   */
  prepare(md5?: boolean): Promise<void>
  /**
   * Lets go of the bytes read for an upload or a comparison (a file is read again if needed).
   * The bytes the scan kept for the upload stay until `done`: the entry's upload is over.
   */
  release(done?: boolean): void
  /** Hex MD5 of `body()`, computed on first call to `md5()` (only cache misses and uploads need it). */
  md5Hex?: string
  md5(): string
  /** A file from disk too large to hold: the body is only ever read in ranges. */
  large?: boolean
  headers: ObjectHeaders
  headersFingerprint: string
  group: number
  /**
   * What made this entry when it is not a file of the output, for messages: `the clean URL of
   * about/index.html`, `the gzip copy of app.js`, `the redirect from /old`.
   */
  origin?: string
  /** For a file read from disk: where, and its size and mtime then (to notice later changes). */
  source?: FileSource
}
