import { readFileSync } from 'node:fs'
import { type StreamHasher, md5Hex } from '../hash.js'
import type { ObjectHeaders } from '../strategy.js'
import { type Encoding, compress, compressAsync } from './compress.js'
import type { Entry } from './entry.js'
import { CHANGED_ON_DISK, type Compressed, type FileSource, compressToTemp, discard, md5OfFile, md5OfFileSync, readRange, readWhole } from './large-file.js'

/** Where an entry's bytes come from. */
export type Content =
  /** Held for the whole deploy: the bundle's chunks, generated pages. */
  | { kind: 'memory'; bytes: Uint8Array }
  /**
   * A file from disk: the bytes the scan hashed while `held` (until an entry of it is done),
   * else read whole when needed and checked against its hash `xxh64`.
   */
  | { kind: 'small'; source: FileSource; xxh64: string; hash: (bytes: Uint8Array) => string; held?: Uint8Array }
  /** A file from disk never held whole: read in ranges, compressed as a stream to a temporary file; `xxh64` is its own hash. */
  | { kind: 'large'; source: FileSource; xxh64: string; hasher: () => StreamHasher }

/** What the scan knows of an entry before its content is attached. */
export type EntryBase = Pick<Entry, 'path' | 'key' | 'size' | 'xxh64' | 'headers' | 'headersFingerprint' | 'group' | 'origin'>

/**
 * An entry whose methods live on the prototype: a site of 100,000 files makes 100,000 entries,
 * and seven closures each (with their contexts) were a quarter of the deploy's live heap.
 */
class ContentEntry implements Entry {
  path: string
  key: string
  size: number
  xxh64: string
  headers: ObjectHeaders
  headersFingerprint: string
  group: number
  origin: string | undefined
  encoding: Encoding | undefined
  source: FileSource | undefined
  large: boolean
  md5Hex: string | undefined = undefined
  private readonly content: Content
  /** The original bytes while held (always, for the bundle's). */
  private held: Uint8Array | undefined
  /** The compressed body: bytes, or a large file's temporary copy. */
  private compressed: Uint8Array | undefined = undefined
  private compressedFile: Compressed | undefined = undefined

  constructor(base: EntryBase, content: Content, encoding: Encoding | undefined) {
    this.path = base.path
    this.key = base.key
    this.size = base.size
    this.xxh64 = base.xxh64
    this.headers = base.headers
    this.headersFingerprint = base.headersFingerprint
    this.group = base.group
    this.origin = base.origin
    this.encoding = encoding
    this.content = content
    this.source = content.kind === 'memory' ? undefined : content.source
    this.large = content.kind === 'large'
    this.held = content.kind === 'memory' ? content.bytes : undefined
  }

  /** The original bytes of a held or small entry; a small file not held is read again and checked. */
  private load(): Uint8Array {
    if (this.held) return this.held
    const content = this.content
    if (content.kind !== 'small') throw new Error(`\`${this.path}\` is read in ranges, never whole`)
    if (content.held) {
      this.held = content.held
      return this.held
    }
    const bytes = readFileSync(content.source.file)
    if (bytes.byteLength !== content.source.size || content.hash(bytes) !== content.xxh64) throw new Error(CHANGED_ON_DISK)
    this.held = bytes
    return bytes
  }

  /** The file whose bytes a large entry stores: the original, or its compressed copy once prepared. */
  private stored(): FileSource {
    const content = this.content as Extract<Content, { kind: 'large' }>
    if (!this.encoding) return content.source
    if (!this.compressedFile) throw new Error(`the compressed body of \`${this.path}\` was read before \`prepare()\` made it`)
    return this.compressedFile
  }

  body(): Uint8Array {
    if (this.large) return readWhole(this.stored(), this.path)
    if (!this.encoding) return this.load()
    this.compressed ??= compress(this.load(), this.encoding)
    return this.compressed
  }

  bodySize(): number {
    return this.large ? this.stored().size : this.body().byteLength
  }

  async read(start: number, end: number): Promise<Uint8Array> {
    return this.large ? readRange(this.stored(), start, end) : this.body().subarray(start, end)
  }

  async prepare(md5 = true): Promise<void> {
    const content = this.content
    if (content.kind !== 'large') {
      if (this.encoding) this.compressed ??= await compressAsync(this.load(), this.encoding)
    } else if (this.encoding) {
      this.compressedFile ??= await compressToTemp(content.source, this.encoding, content.xxh64, content.hasher)
      this.md5Hex = this.compressedFile.md5
    } else if (md5) {
      this.md5Hex ??= await md5OfFile(content.source)
    }
  }

  release(done = false): void {
    if (this.content.kind === 'small') {
      this.held = undefined
      // Shared by the file's other entries (clean URLs, compressed siblings): they read it again if they need it.
      if (done) this.content.held = undefined
    }
    this.compressed = undefined
    discard(this.compressedFile)
    this.compressedFile = undefined
  }

  md5(): string {
    this.md5Hex ??= this.large ? md5OfFileSync(this.stored()) : md5Hex(this.body())
    return this.md5Hex
  }
}

/** An entry with the body methods that suit its content; `encoding` is applied to the stored bytes. */
export function withContent(base: EntryBase, content: Content, encoding?: Encoding): Entry {
  return new ContentEntry(base, content, encoding)
}
