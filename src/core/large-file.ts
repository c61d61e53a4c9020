import { randomBytes } from 'node:crypto'
import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync, rmSync } from 'node:fs'
import { lstat, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createBrotliCompress, createGzip } from 'node:zlib'
import { CHUNK_BYTES, type StreamHasher, md5Stream } from '../hash.js'
import { processAlive } from '../process.js'
import { MAX_BUFFER_BYTES } from '../strategy.js'
import { type Encoding, compressionOptions } from './compress.js'

/**
 * Large files from disk are never held whole: they are hashed a chunk at a time, uploaded in
 * ranges read from the file, and compressed as a stream into a temporary file.
 */

/** Files from disk of this size or more are large. Equal to the default part size: smaller ones are read whole. */
export const LARGE_FILE_BYTES = CHUNK_BYTES

/** A file as it was when hashed: any later read must find it so. */
export interface FileSource {
  file: string
  size: number
  mtimeMs: number
}

/**
 * A file of the output as the scan found it. Its full name is made when it is read again (an
 * upload, an MD5): a site of a million files keeps no second copy of each path.
 */
export class OutDirFile implements FileSource {
  constructor(
    /** outDir, ending in a separator. */
    private readonly dir: string,
    /** The file's clean relative path under it. */
    private readonly path: string,
    readonly size: number,
    readonly mtimeMs: number,
  ) {}

  get file(): string {
    return sep === '/' ? this.dir + this.path : join(this.dir, this.path)
  }
}

export const CHANGED_ON_DISK =
  'changed on disk while deploying (something is still writing to outDir); not uploaded. Deploy again once the build has finished.'

/** Hashes an open file a chunk at a time, synchronously (the scan reads one file at a time). */
export function hashOpenFile(fd: number, hasher: StreamHasher): void {
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES)
  for (let position = 0; ; ) {
    const read = readSync(fd, buffer, 0, CHUNK_BYTES, position)
    if (read === 0) return
    hasher.update(buffer.subarray(0, read))
    position += read
  }
}

function assertSame(source: FileSource, now: { size: number; mtimeMs: number }): void {
  if (now.size !== source.size || now.mtimeMs !== source.mtimeMs) throw new Error(CHANGED_ON_DISK)
}

/**
 * Bytes [start, end) of a file that must still be as hashed: its size and mtime are checked
 * after the read, on the same open file, so bytes written meanwhile are never sent.
 */
export async function readRange(source: FileSource, start: number, end: number): Promise<Uint8Array> {
  const handle = await open(source.file, 'r')
  try {
    const bytes = Buffer.allocUnsafe(end - start)
    for (let done = 0; done < bytes.byteLength; ) {
      const { bytesRead } = await handle.read(bytes, done, bytes.byteLength - done, start + done)
      if (bytesRead === 0) throw new Error(CHANGED_ON_DISK)
      done += bytesRead
    }
    assertSame(source, await handle.stat())
    return bytes
  } finally {
    await handle.close()
  }
}

/** A whole file that fits one buffer, checked like `readRange`; larger ones cannot be handed out whole. */
export function readWhole(source: FileSource, path: string): Uint8Array {
  if (source.size > MAX_BUFFER_BYTES) {
    throw new Error(
      `\`${path}\` is ${source.size} bytes, more than one buffer holds: this strategy reads \`body\`. Read large files with \`file.read(start, end)\` instead.`,
    )
  }
  const fd = openSync(source.file, 'r')
  try {
    const bytes = Buffer.allocUnsafe(source.size)
    for (let done = 0; done < bytes.byteLength; ) {
      const read = readSync(fd, bytes, done, bytes.byteLength - done, done)
      if (read === 0) throw new Error(CHANGED_ON_DISK)
      done += read
    }
    assertSame(source, fstatSync(fd))
    return bytes
  } finally {
    closeSync(fd)
  }
}

/** The MD5 of a file that must still be as hashed, read a chunk at a time. */
export async function md5OfFile(source: FileSource): Promise<string> {
  const md5 = md5Stream()
  for (let start = 0; start < source.size; start += CHUNK_BYTES) {
    md5.update(await readRange(source, start, Math.min(start + CHUNK_BYTES, source.size)))
  }
  return md5.digest()
}

/** The same MD5, for a caller that did not `prepare()` (it blocks: the core always prepares). */
export function md5OfFileSync(source: FileSource): string {
  const fd = openSync(source.file, 'r')
  try {
    const md5 = md5Stream()
    hashOpenFile(fd, md5)
    assertSame(source, fstatSync(fd))
    return md5.digest()
  } finally {
    closeSync(fd)
  }
}

/** A compressed copy of a large file, kept in a temporary file until released. */
export interface Compressed extends FileSource {
  md5: string
}

function tap(hasher: StreamHasher): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hasher.update(chunk)
      done(null, chunk)
    },
  })
}

/** Our folders in the system's temporary folder: `collectfasta-<pid>-<random>`, made by mkdtemp (mode 0700). */
const OWN_FOLDER = /^collectfasta-(\d+)-[A-Za-z0-9]{6}$/
/** Copies written by versions that used the temporary folder itself. */
const OLD_COPY = /^collectfasta-[0-9a-f]{16}\.(gz|br)$/
const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Removes what killed deploys left in the temporary folder: our folders whose process is gone
 * (this host's pids; only folders of this user), and loose copies of older versions a day old.
 */
async function removeAbandoned(): Promise<void> {
  const base = tmpdir()
  const uid = process.getuid?.()
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const folder = OWN_FOLDER.exec(name)
    if (!folder && !OLD_COPY.test(name)) continue
    const path = join(base, name)
    const info = await lstat(path).catch(() => undefined)
    if (!info || (uid !== undefined && info.uid !== uid)) continue
    const abandoned = folder ? info.isDirectory() && !processAlive(Number(folder[1])) : info.isFile() && Date.now() - info.mtimeMs > DAY_MS
    if (abandoned) await rm(path, { recursive: true, force: true }).catch(() => {})
  }
}

let ownFolder: Promise<string> | undefined

/**
 * This process's folder for compressed copies, made on first use (after clearing what killed
 * runs left): a fresh name, so nobody can plant it, and removed when the process exits. A
 * SIGKILL skips the exit: the next run that compresses a large file removes it.
 */
function tempFolder(): Promise<string> {
  ownFolder ??= removeAbandoned().then(async () => {
    const folder = await mkdtemp(join(tmpdir(), `collectfasta-${process.pid}-`))
    process.once('exit', () => rmSync(folder, { recursive: true, force: true }))
    return folder
  })
  return ownFolder
}

/**
 * Compresses a large file as a stream into a temporary file, hashing what it reads (it must be
 * the bytes the scan hashed) and what it writes (the stored body's MD5).
 */
export async function compressToTemp(source: FileSource, encoding: Encoding, xxh64: string, hasher: () => StreamHasher): Promise<Compressed> {
  const file = join(await tempFolder(), `${randomBytes(8).toString('hex')}.${encoding === 'br' ? 'br' : 'gz'}`)
  const read = hasher()
  const md5 = md5Stream()
  const zip = encoding === 'br' ? createBrotliCompress(compressionOptions('br', source.size)) : createGzip(compressionOptions('gzip', source.size))
  try {
    await pipeline(createReadStream(source.file, { highWaterMark: 1024 * 1024 }), tap(read), zip, tap(md5), createWriteStream(file))
    if (read.digest() !== xxh64) throw new Error(CHANGED_ON_DISK)
  } catch (error) {
    await rm(file, { force: true })
    throw error
  }
  const written = await stat(file)
  return { file, size: written.size, mtimeMs: written.mtimeMs, md5: md5.digest() }
}

/** Deletes a temporary compressed copy (never throws: it is only a temporary file). */
export function discard(compressed: Compressed | undefined): void {
  if (compressed) void rm(compressed.file, { force: true }).catch(() => {})
}
