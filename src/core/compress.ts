import { promisify } from 'node:util'
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync } from 'node:zlib'
import picomatch from 'picomatch'
import { DEFAULTS } from '../defaults.js'

export type Encoding = 'gzip' | 'br'

/** Precompression of text files before upload. */
export interface CompressOptions {
  /**
   * Compress with gzip (level 9), the encoding every HTTP client reads. On object storages the
   * gzip bytes are stored under the original key, with Content-Encoding: gzip.
   * @default true
   */
  gzip?: boolean
  /**
   * Compress with brotli (quality 11). Next to the original (`.br`, filesystem strategy): on by
   * default. In place of it (object storages): only when set to `true`, since a client that did
   * not ask for brotli (curl, bots, some proxies) then gets bytes it cannot read, and CloudFront
   * does not negotiate an object that carries a Content-Encoding.
   * @default true for siblings; false in place
   */
  brotli?: boolean
  /**
   * Which files (relative to outDir). Already-compressed formats (images, fonts, video) do not pay.
   * @default '**\/*.{js,mjs,cjs,css,html,htm,svg,json,map,txt,xml,wasm,webmanifest,ico}'
   */
  match?: string | string[]
  /**
   * Smaller files are left alone: their headers cost more than compression saves.
   * @default 1024
   */
  minSize?: number
}

const EXTENSIONS: Record<Encoding, string> = { gzip: '.gz', br: '.br' }

export interface CompressionPlan {
  /** Encodings to apply to a path, in order of preference; empty when it is not compressed. */
  encodingsFor(path: string, size: number): Encoding[]
}

export function compressionPlan(options: boolean | CompressOptions | undefined, mode: 'in-place' | 'siblings'): CompressionPlan | undefined {
  if (!options) return undefined
  const o = options === true ? {} : options
  const encodings: Encoding[] = []
  // In place, one encoding per object: gzip unless brotli was asked for by name.
  if (mode === 'in-place' ? o.brotli === true : (o.brotli ?? DEFAULTS.compress.brotli)) encodings.push('br')
  if ((o.gzip ?? DEFAULTS.compress.gzip) && !(mode === 'in-place' && encodings.length > 0)) encodings.push('gzip')
  if (encodings.length === 0) return undefined
  const matches = picomatch(o.match ?? DEFAULTS.compress.match, { dot: true })
  const minSize = o.minSize ?? DEFAULTS.compress.minSize
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
