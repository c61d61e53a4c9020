import { closeSync, fstatSync, openSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import picomatch from 'picomatch'
import { type CompressionPlan, type Encoding, siblingPath } from './compress.js'
import { type StreamHasher, loadHasher, loadStreamHasher } from '../hash.js'
import { type Content, withContent } from './content.js'
import { CHANGED_ON_DISK, type FileSource, LARGE_FILE_BYTES, OutDirFile, hashOpenFile } from './large-file.js'
import { type HeaderDefaults, createHeaderResolver, fingerprintHeaders, isHtml } from './headers.js'
import { printable } from '../paths.js'
import type { ObjectHeaders } from '../strategy.js'
import type { ResolvedDirectoryIndex } from '../resolve.js'
import { type Entry, GROUP_HASHED, GROUP_LAST, GROUP_OTHER } from './entry.js'

export interface ScanInput extends HeaderDefaults {
  outDir: string
  prefix: string
  /** Bytes already in memory (the bundle), by path relative to outDir. */
  inMemory?: Map<string, Uint8Array>
  include?: string | string[]
  exclude?: string | string[]
  /** Clean URLs to store HTML under as well. */
  directoryIndex?: ResolvedDirectoryIndex
  /** Precompression, and whether it replaces the file (object storages) or adds siblings (filesystem). */
  compression?: { plan: CompressionPlan; mode: 'in-place' | 'siblings' }
  /**
   * Whether a file of this key, size and xxh64 is likely uploaded (neither the cache nor the
   * deploy manifest, when it has arrived, knows those bytes there): only such files are kept from
   * the scan for their upload. Asked first without the xxh64 (before the file is read; true: no
   * record of that size), then with it. @default every file
   */
  likelyUploaded?(key: string, path: string, size: number, xxh64?: string): boolean
  warn(message: string): void
}

/** Files read last: HTML and the manifests that point at other files. */
function groupOf(path: string, assetsPrefix: string): number {
  if (isHtml(path) || path.startsWith('.vite/') || /(^|\/)(manifest\.json|[^/]+\.webmanifest)$/.test(path)) {
    return GROUP_LAST
  }
  return assetsPrefix && path.startsWith(assetsPrefix) ? GROUP_HASHED : GROUP_OTHER
}

/**
 * Every file under outDir, as relative POSIX paths. Symbolic links are followed only when
 * they resolve inside outDir, so a link can never publish a file from elsewhere.
 */
function listOutDir(outDir: string, warn: (message: string) => void): string[] {
  const root = realpathSync(outDir)
  const paths: string[] = []
  for (const dirent of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const full = sep === '/' ? `${dirent.parentPath}/${dirent.name}` : join(dirent.parentPath, dirent.name)
    let isFile = dirent.isFile()
    if (dirent.isSymbolicLink()) {
      let target: string
      try {
        target = realpathSync(full)
      } catch {
        warn(`Skipped \`${printable(relative(root, full))}\`: it is a broken symbolic link.`)
        continue
      }
      if (target !== root && !target.startsWith(root + sep)) {
        warn(`Skipped \`${printable(relative(root, full))}\`: it links outside outDir (${printable(target)}).`)
        continue
      }
      isFile = statSync(target).isFile()
    }
    if (isFile) paths.push(sep === '/' ? full.slice(root.length + 1) : relative(root, full).split(sep).join('/'))
  }
  return paths
}


/** The other keys an HTML file is stored under (none for the site's root index.html). */
function cleanUrls(path: string, options: ResolvedDirectoryIndex | undefined): string[] {
  if (!options || !/\.html$/.test(path)) return []
  const index = /^(.+)\/index\.html$/.exec(path)
  if (index) return [...(options.slash ? [`${index[1]}/`] : []), ...(options.bare ? [index[1] as string] : [])]
  if (path === 'index.html' || !options.html) return []
  return [path.slice(0, -'.html'.length)]
}

/** Bytes of small files the scan keeps for their upload: within it, a file is opened and read once per deploy. */
export const SCAN_HOLD_BYTES = 64 * 1024 * 1024

/** A file's first `size` bytes from an open file, into `into` (a file that ends sooner changed). */
function readOpenFile(fd: number, into: Uint8Array, size: number): Uint8Array {
  for (let done = 0; done < size; ) {
    const read = readSync(fd, into, done, size - done, done)
    if (read === 0) throw new Error(CHANGED_ON_DISK)
    done += read
  }
  return into.subarray(0, size)
}

interface Inspected {
  xxh64: string
  source: FileSource
  /** The bytes hashed, when the scan keeps them for the upload. */
  held?: Uint8Array
}

/**
 * A file hashed as it is now: a small one read whole in one read (into its own buffer, kept for
 * its upload, when `hold` says so by its size; else into `scratch`, copied out only when `hold`
 * says so by its xxh64), a large one a chunk at a time. The size and mtime are taken on the same
 * open file; errors name the file.
 */
function inspectOutDirFile(outDir: string, path: string, hash: (bytes: Uint8Array) => string, streamHasher: () => StreamHasher, hold: (path: string, size: number, xxh64?: string) => boolean, scratch: () => Buffer): Inspected {
  const file = sep === '/' ? outDir + path : join(outDir, path)
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (error) {
    // readdir gives names as UTF-8 strings: bytes that are not UTF-8 become U+FFFD, and the
    // file cannot be opened by that name.
    if (path.includes('\uFFFD')) {
      throw new Error(`[collectfasta] Cannot read \`${path}\` in outDir: its name is not valid UTF-8, so it cannot be opened or stored by name. Rename it or exclude it.`)
    }
    throw new Error(`[collectfasta] Cannot read \`${path}\` in outDir: ${(error as Error).message}`)
  }
  try {
    const before = fstatSync(fd)
    const source = new OutDirFile(outDir, path, before.size, before.mtimeMs)
    if (before.size < LARGE_FILE_BYTES) {
      const held = hold(path, before.size)
      let bytes: Uint8Array
      try {
        bytes = readOpenFile(fd, held ? Buffer.allocUnsafe(before.size) : scratch(), before.size)
      } catch (error) {
        throw new Error(`[collectfasta] Cannot deploy \`${path}\`: it ${(error as Error).message}`)
      }
      const xxh64 = hash(bytes)
      if (held) return { xxh64, source, held: bytes }
      // A file recorded at its size (most of a site deployed before) is kept only if its bytes differ.
      if (!hold(path, before.size, xxh64)) return { xxh64, source }
      const copy = Buffer.allocUnsafe(before.size)
      copy.set(bytes)
      return { xxh64, source, held: copy }
    }
    const hasher = streamHasher()
    hashOpenFile(fd, hasher)
    const after = fstatSync(fd)
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new Error(`[collectfasta] Cannot deploy \`${path}\`: it ${CHANGED_ON_DISK}`)
    }
    return { xxh64: hasher.digest(), source }
  } finally {
    closeSync(fd)
  }
}

/** How long the scan hashes before it lets network answers in (the listing asks page after page). */
const YIELD_MS = 10

/**
 * Whether a file (its path under outDir, `/`-separated) is deployed under the `include` and
 * `exclude` options: the one matcher of the deploy, also used by the CLI to learn whether a
 * server bundle in the directory would be uploaded.
 */
export function deployedPaths(include: string | string[] | undefined, exclude: string | string[] | undefined): (path: string) => boolean {
  const included = include ? picomatch(include, { dot: true }) : () => true
  const excluded = exclude ? picomatch(exclude, { dot: true }) : () => false
  return (path) => included(path) && !excluded(path)
}

/** The first pass: every file to deploy, hashed, with its headers and group. */
export async function scan(input: ScanInput): Promise<Entry[]> {
  const hash = await loadHasher()
  const streamHasher = await loadStreamHasher()
  const headersOf = createHeaderResolver(input)
  const deployed = deployedPaths(input.include, input.exclude)
  const assetsPrefix = input.assetsDir ? `${input.assetsDir.replace(/^\.?\/+|\/+$/g, '')}/` : ''
  const fingerprints = new Map<string, string>()
  const fingerprintOf = new WeakMap<ObjectHeaders, string>()
  // A compressed file's headers are its own plus the encoding: shared too, one object per
  // headers object and encoding (so they are fingerprinted once, and not kept once per file).
  const encodedOf = new WeakMap<ObjectHeaders, Map<Encoding, ObjectHeaders>>()
  const encoded = (headers: ObjectHeaders, encoding: Encoding): ObjectHeaders => {
    let byEncoding = encodedOf.get(headers)
    if (!byEncoding) {
      byEncoding = new Map()
      encodedOf.set(headers, byEncoding)
    }
    let found = byEncoding.get(encoding)
    if (!found) {
      found = { ...headers, contentEncoding: encoding }
      byEncoding.set(encoding, found)
    }
    return found
  }

  // The files' full names: outDir and a clean relative path joined once, as path.join would.
  const outDir = join(input.outDir, '/')
  const paths = new Set(input.inMemory?.keys())
  for (const path of listOutDir(input.outDir, input.warn)) paths.add(path)

  const entries: Entry[] = []
  const imprecise: string[] = []
  // Small files likely uploaded are kept from the scan to their upload up to SCAN_HOLD_BYTES
  // (the first ones scanned); the others are read into one reused buffer, hashed and let go.
  let holdLeft = SCAN_HOLD_BYTES
  const hold = (path: string, size: number, xxh64?: string) => {
    if (size > holdLeft || (input.likelyUploaded && !input.likelyUploaded(input.prefix + path, path, size, xxh64))) return false
    holdLeft -= size
    return true
  }
  let scratchBuffer: Buffer | undefined
  const scratch = () => (scratchBuffer ??= Buffer.allocUnsafe(LARGE_FILE_BYTES))
  let turn = performance.now()
  for (const path of [...paths].sort()) {
    if (performance.now() - turn > YIELD_MS) {
      await nextTurn() // let the listing's pages and the SDK's import go on while the scan hashes
      turn = performance.now()
    }
    if (!deployed(path)) continue
    const inMemory = input.inMemory?.get(path)
    let content: Content
    let size: number
    let xxh64: string
    if (inMemory) {
      size = inMemory.byteLength
      xxh64 = hash(inMemory)
      content = { kind: 'memory', bytes: inMemory }
    } else {
      // Hashed, and kept for its upload within SCAN_HOLD_BYTES, else let go: such a file is read
      // again only if it is uploaded (or compared by MD5), and a large one only ever in chunks,
      // so memory does not grow with the site.
      const inspected = inspectOutDirFile(outDir, path, hash, streamHasher, hold, scratch)
      const { source } = inspected
      size = source.size
      xxh64 = inspected.xxh64
      const original = xxh64
      content = size < LARGE_FILE_BYTES ? { kind: 'small', source, xxh64: original, hash, held: inspected.held } : { kind: 'large', source, xxh64: original, hasher: streamHasher }
    }
    const headers = headersOf(path)
    if (NEEDS_PRECISE_TYPE.test(path) && headers.contentType.startsWith('application/octet-stream')) imprecise.push(path)
    const encodings = input.compression?.plan.encodingsFor(path, size) ?? []
    const group = groupOf(path, assetsPrefix)
    // Paths and keys are checked, and duplicates settled, in one place for every entry: admitEntries (keys.ts).
    const add = (entryPath: string, entryHeaders: ObjectHeaders, identity: string, encoding?: Encoding, origin?: string) => {
      // Most files share a headers object (see createHeaderResolver): fingerprint each once.
      let headersFingerprint = fingerprintOf.get(entryHeaders)
      if (!headersFingerprint) {
        const headersJson = fingerprintHeaders(entryHeaders)
        headersFingerprint = fingerprints.get(headersJson) ?? hash(Buffer.from(headersJson))
        fingerprints.set(headersJson, headersFingerprint)
        fingerprintOf.set(entryHeaders, headersFingerprint)
      }
      const entry = withContent(
        { path: entryPath, key: input.prefix + entryPath, size, xxh64: identity, headers: entryHeaders, headersFingerprint, group, origin },
        content,
        encoding,
      )
      entries.push(entry)
    }
    if (encodings.length && input.compression?.mode === 'in-place') {
      const encoding = encodings[0] as Encoding
      add(path, encoded(headers, encoding), xxh64, encoding)
      // Clean URLs: the same object again under the URL a link uses (about/ for about/index.html).
      for (const alias of cleanUrls(path, input.directoryIndex)) add(alias, encoded(headers, encoding), xxh64, encoding, `the clean URL ${alias} of ${path}`)
    } else {
      add(path, headers, xxh64)
      for (const alias of cleanUrls(path, input.directoryIndex)) add(alias, headers, xxh64, undefined, `the clean URL ${alias} of ${path}`)
      // Sibling files for servers that serve them (nginx gzip_static / brotli_static): keyed on
      // the original's hash, so an unchanged file is not even compressed again.
      for (const encoding of encodings) {
        if (paths.has(siblingPath(path, encoding))) continue // the build made its own: it wins
        add(siblingPath(path, encoding), encoded(headers, encoding), `${encoding}:${xxh64}`, encoding, `the ${encoding} copy ${siblingPath(path, encoding)} of ${path}`)
      }
    }
  }
  if (imprecise.length > 0) {
    input.warn(
      `[collectfasta] ${imprecise.length} file(s) that browsers need with a precise Content-Type would be stored as application/octet-stream ` +
        `(e.g. ${imprecise.slice(0, 3).join(', ')}): scripts, styles and WebAssembly are then refused. Give them a \`contentType\` with a header rule.`,
    )
  }
  return entries
}

/** Files a browser refuses or mishandles without their exact type (module scripts, styles, wasm, fonts). */
const NEEDS_PRECISE_TYPE = /\.(js|mjs|cjs|css|wasm|json|svg|webmanifest|woff2?|ttf|otf)$/i
