import { closeSync, fstatSync, openSync } from 'node:fs'
import { type StreamHasher, md5Hex, md5Stream } from '../hash.js'
import { type Encoding, compress, compressAsync } from './compress.js'
import type { Entry } from './entry.js'
import { CHANGED_ON_DISK, type Compressed, type FileSource, compressToTemp, discard, hashOpenFile, md5OfFile, readRange, readWhole } from './large-file.js'

/** Where an entry's bytes come from. */
export type Content =
  /** Held for the whole deploy: the bundle's chunks, generated pages. */
  | { kind: 'memory'; bytes: Uint8Array }
  /** A file from disk, read whole when needed (and checked against its hash), released after use. */
  | { kind: 'small'; source: FileSource; load(): Uint8Array }
  /** A file from disk never held whole: read in ranges, compressed as a stream to a temporary file; `xxh64` is its own hash. */
  | { kind: 'large'; source: FileSource; xxh64: string; hasher: () => StreamHasher }

type Body = 'body' | 'bodySize' | 'read' | 'prepare' | 'release' | 'md5' | 'large' | 'encoding' | 'source'

/** An entry with the body methods that suit its content; `encoding` is applied to the stored bytes. */
export function withContent(base: Omit<Entry, Body>, content: Content, encoding?: Encoding): Entry {
  if (content.kind === 'large') return largeEntry(base, content, encoding)
  let held: Uint8Array | undefined = content.kind === 'memory' ? content.bytes : undefined
  let compressed: Uint8Array | undefined
  const load = (): Uint8Array => (held ??= (content as { load(): Uint8Array }).load())
  const entry: Entry = {
    ...base,
    encoding,
    source: content.kind === 'small' ? content.source : undefined,
    body: () => {
      if (!encoding) return load()
      compressed ??= compress(load(), encoding)
      return compressed
    },
    bodySize: () => entry.body().byteLength,
    read: async (start, end) => entry.body().subarray(start, end),
    prepare: async () => {
      if (encoding) compressed ??= await compressAsync(load(), encoding)
    },
    release: () => {
      if (content.kind !== 'memory') held = undefined
      compressed = undefined
    },
    md5: () => (entry.md5Hex ??= md5Hex(entry.body())),
  }
  return entry
}

function largeEntry(base: Omit<Entry, Body>, content: Extract<Content, { kind: 'large' }>, encoding?: Encoding): Entry {
  const { source } = content
  let compressed: Compressed | undefined
  /** The file whose bytes are stored: the original, or its compressed copy once prepared. */
  const stored = (): FileSource => {
    if (!encoding) return source
    if (!compressed) throw new Error(`the compressed body of \`${base.path}\` was read before \`prepare()\` made it`)
    return compressed
  }
  const entry: Entry = {
    ...base,
    encoding,
    source,
    large: true,
    body: () => readWhole(stored(), base.path),
    bodySize: () => stored().size,
    read: (start, end) => readRange(stored(), start, end),
    prepare: async (md5 = true) => {
      if (encoding) {
        compressed ??= await compressToTemp(source, encoding, content.xxh64, content.hasher)
        entry.md5Hex = compressed.md5
      } else if (md5) {
        entry.md5Hex ??= await md5OfFile(source)
      }
    },
    release: () => {
      discard(compressed)
      compressed = undefined
    },
    md5: () => (entry.md5Hex ??= md5OfFileSync(stored())),
  }
  return entry
}

/** The MD5 of a file as hashed, for a caller that did not `prepare()` (it blocks: the core always prepares). */
function md5OfFileSync(source: FileSource): string {
  const fd = openSync(source.file, 'r')
  try {
    const md5 = md5Stream()
    hashOpenFile(fd, md5)
    const now = fstatSync(fd)
    if (now.size !== source.size || now.mtimeMs !== source.mtimeMs) throw new Error(CHANGED_ON_DISK)
    return md5.digest()
  } finally {
    closeSync(fd)
  }
}
