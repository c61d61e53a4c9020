/**
 * What writing into a directory that others (a web server, another deploy, a killed one) share
 * needs: names that alias no other file, leftovers of interrupted writes, flushing renames,
 * what a stored file is, and whether the directory ignores case.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, lstatSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { open, readFile, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { CHUNK_BYTES, hashFile, loadHasher, loadStreamHasher, md5Hex, md5Stream } from '../hash.js'
import { processAlive } from '../process.js'
import type { RemoteObject } from '../strategy.js'

/** Temporary files of interrupted writes carry this marker; listings ignore them. */
export const TMP_MARKER = '.collectfasta-tmp-'
/** This machine, in temporary names: a writer's pid means something only on its own host. */
export const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8)
/** A temporary file older than this is a leftover whoever wrote it (a writer on another host). */
const STALE_TMP_MS = 60 * 60 * 1000
/** `.collectfasta-tmp-<host>-<pid>-<random>`; older names had no host or pid. */
const TMP_NAME = /^\.collectfasta-tmp-(?:([0-9a-f]{8})-(\d+)-)?[0-9a-f]+$/

/**
 * Why a key cannot name a file of its own in a directory, or undefined. A trailing '/' resolves
 * to the file without it (`index.html/` is `index.html`); ':' names an NTFS alternate stream;
 * Windows drops a trailing dot or space (`a.html.` is `a.html`). Refused on every platform, so a
 * deploy behaves the same from any runner and onto any mount.
 */
export function aliasProblem(key: string): string | undefined {
  if (key.endsWith('/')) return "it ends in '/', and a directory would store it as the file without it"
  if (key.includes(':')) return "it contains ':', which names an alternate stream of another file on Windows (NTFS)"
  if (key.split('/').some((segment) => segment.endsWith('.') || segment.endsWith(' '))) {
    return 'a segment ends in a dot or a space, which Windows drops (the key would alias another file)'
  }
  return undefined
}

/** Whether a temporary file was left by a writer that is gone: older than an hour, or its pid is dead here. */
export function abandoned(name: string, mtimeMs: number): boolean {
  const match = TMP_NAME.exec(name)
  if (!match) return false
  if (Date.now() - mtimeMs > STALE_TMP_MS) return true
  return match[1] === HOST && match[2] !== undefined && !processAlive(Number(match[2]))
}

/** Flushes a directory's entries (a rename) to disk; not every platform can open a directory. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: import('node:fs/promises').FileHandle | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // Windows cannot open a directory; NTFS journals the rename itself.
  } finally {
    await handle?.close().catch(() => {})
  }
}

/**
 * What the directory holds at `key`. A `.br` / `.gz` sibling is compared by the MD5 of its
 * bytes: the deploy keys siblings on the original file's hash, which a listing cannot know, so
 * an xxh64 of the stored bytes would never match and a cold cache would rewrite every sibling.
 * A large file is hashed a chunk at a time, never held whole.
 */
export async function describe(key: string, path: string): Promise<RemoteObject> {
  const sibling = /\.(br|gz)$/.test(key)
  const { size, mtimeMs } = await stat(path)
  let version: string
  let md5: string | undefined
  if (size < CHUNK_BYTES) {
    const bytes = await readFile(path)
    version = (await loadHasher())(bytes)
    if (sibling) md5 = md5Hex(bytes)
  } else {
    const xxh64 = (await loadStreamHasher())()
    const md5Hasher = md5Stream()
    await hashFile(path, sibling ? [xxh64, md5Hasher] : [xxh64])
    version = xxh64.digest()
    if (sibling) md5 = md5Hasher.digest()
  }
  return sibling ? { key, size, md5, version, modified: mtimeMs } : { key, size, xxh64: version, version, modified: mtimeMs }
}

/** A name with the case of every letter swapped (`Ab.html` → `aB.HTML`). */
function swapCase(name: string): string {
  return name.replace(/\p{L}/gu, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()))
}

/**
 * Whether `dir` ignores letter case or Unicode normalisation (macOS, Windows). Without writing
 * when it can (a dry run changes nothing): a name already there (the directory's own, or one of
 * its entries) is looked up with its case swapped. Else a probe file is written, looked up under
 * another case and in NFD, and removed. `undefined` when it cannot tell (no directory yet,
 * read-only): nothing is deployed there to compare either.
 */
export function probeCaseInsensitive(dir: string): boolean | undefined {
  if (!existsSync(dir)) return undefined
  const look = (path: string) => lstatSync(path, { throwIfNoEntry: false })
  const known = [dir, ...readdirSync(dir).slice(0, 100).map((name) => join(dir, name))]
  for (const path of known) {
    const swapped = join(dirname(path), swapCase(basename(path)))
    if (swapped === path) continue
    const [a, b] = [look(path), look(swapped)]
    if (a && b) return a.ino === b.ino && a.dev === b.dev
    if (a) return false
  }
  const base = `${TMP_MARKER}${HOST}-${process.pid}-${randomBytes(4).toString('hex')}`
  const probe = join(dir, `${base}-a\u00e9`) // 'é' composed (NFC)
  try {
    writeFileSync(probe, '', { flag: 'wx' })
    return look(join(dir, `${base}-A\u00c9`)) !== undefined || look(join(dir, `${base}-ae\u0301`)) !== undefined // other case; decomposed (NFD)
  } catch {
    return undefined
  } finally {
    rmSync(probe, { force: true })
  }
}
