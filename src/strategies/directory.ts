/**
 * What writing into a directory that others (a web server, another deploy, a killed one) share
 * needs: names that alias no other file, leftovers of interrupted writes, and flushing renames.
 */
import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { hostname } from 'node:os'
import { processAlive } from '../process.js'

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
