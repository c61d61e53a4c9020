import { promisify } from 'node:util'
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync } from 'node:zlib'
import picomatch from 'picomatch'
import { DEFAULTS } from '../defaults.js'
import type { CompressOptions } from '../options.js'

export type Encoding = 'gzip' | 'br'

export type { CompressOptions }

const EXTENSIONS: Record<Encoding, string> = { gzip: '.gz', br: '.br' }

export interface CompressionPlan {
  /** Encodings to apply to a path, in order of preference; empty when it is not compressed. */
  encodingsFor(path: string, size: number): Encoding[]
}

/** `compress` with its defaults, for a strategy that stores compressed bytes in place or beside the original. */
export interface ResolvedCompress {
  /** In order of preference; in place, one per object. */
  encodings: Encoding[]
  match: string | string[]
  minSize: number
}

/** `compress` resolved once: `undefined` when it is off or leaves no encoding. */
export function resolveCompress(options: boolean | CompressOptions | undefined, mode: 'in-place' | 'siblings'): ResolvedCompress | undefined {
  if (!options) return undefined
  const o = options === true ? {} : options
  const encodings: Encoding[] = []
  // In place, one encoding per object: gzip unless brotli was asked for by name.
  if (o.brotli ?? (mode === 'in-place' ? DEFAULTS.compress.brotli.inPlace : DEFAULTS.compress.brotli.siblings)) encodings.push('br')
  if ((o.gzip ?? DEFAULTS.compress.gzip) && !(mode === 'in-place' && encodings.length > 0)) encodings.push('gzip')
  if (encodings.length === 0) return undefined
  return { encodings, match: o.match ?? DEFAULTS.compress.match, minSize: o.minSize ?? DEFAULTS.compress.minSize }
}

export function compressionPlan(resolved: ResolvedCompress | undefined): CompressionPlan | undefined {
  if (!resolved) return undefined
  const matches = picomatch(resolved.match, { dot: true })
  const { encodings, minSize } = resolved
  return { encodingsFor: (path, size) => (size >= minSize && matches(path) ? encodings : []) }
}

export function siblingPath(path: string, encoding: Encoding): string {
  return path + EXTENSIONS[encoding]
}

/**
 * Deterministic compression: fixed levels, no timestamps (Node's gzip header carries mtime 0),
 * so the same bytes always compress to the same bytes and an unchanged file never re-uploads.
 */
export function compress(bytes: Uint8Array, encoding: Encoding): Uint8Array {
  return encoding === 'br' ? brotliCompressSync(bytes, compressionOptions('br', bytes.byteLength)) : gzipSync(bytes, compressionOptions('gzip', bytes.byteLength))
}

const brotliAsync = promisify(brotliCompress)
const gzipAsync = promisify(gzip)

/** The same bytes as `compress`, computed on libuv's thread pool: uploads in flight keep going. */
export async function compressAsync(bytes: Uint8Array, encoding: Encoding): Promise<Uint8Array> {
  return encoding === 'br' ? brotliAsync(bytes, compressionOptions('br', bytes.byteLength)) : gzipAsync(bytes, compressionOptions('gzip', bytes.byteLength))
}

/** The fixed settings every compression uses, whole or streamed (large files). */
export function compressionOptions(encoding: Encoding, size: number) {
  return encoding === 'br'
    ? { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: Math.min(size, 2 ** 32 - 1) } }
    : { level: 9 }
}
