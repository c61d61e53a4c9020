import { MAX_KEY_BYTES, printable, validatePath } from '../paths.js'
import type { Entry } from './entry.js'

/** An entry in a sentence: `the file a.html`, `the clean URL about of about/index.html`, `the redirect from /old`. */
function describe(entry: Entry): string {
  return printable(entry.origin ?? `the file ${entry.path}`)
}

const isRedirect = (entry: Entry) => entry.headers.redirect !== undefined

/** Duplicates named in the warning, at most: the rest are counted. */
const NAMED = 3

/**
 * The one gate every entry of a deploy passes (the files of the output, their clean URLs and
 * compressed copies, the redirects), before anything is written:
 * - its path is a plain relative path without control characters, and its key fits a storage;
 * - nothing but the deploy's own manifest may be stored under the manifest's path (a file of the
 *   build by that name is left out, as before; a redirect or clean URL there is refused);
 * - one entry per key: two entries for one key would race, and the loser would be uploaded
 *   again on every deploy. The first wins (files sort before the clean URLs that could shadow
 *   them; `blog.html` before `blog/index.html`, so `blog` is blog.html, as nginx's
 *   `try_files $uri $uri.html $uri/` serves), with one warning naming both sources; a redirect
 *   that would replace anything is an error.
 */
export function admitEntries(entries: Entry[], manifestPath: string | false, warn: (message: string) => void): Entry[] {
  const admitted: Entry[] = []
  const byPath = new Map<string, Entry>()
  const shadowed: string[] = []
  for (const entry of entries) {
    const problem = validatePath(entry.path)
    if (problem) {
      const fix = isRedirect(entry) ? 'Fix the rule.' : 'Rename it or exclude it.'
      throw new Error(`[collectfasta] Cannot deploy \`${printable(entry.path)}\`${entry.origin ? ` (${printable(entry.origin)})` : ''}: ${problem}. ${fix}`)
    }
    const keyBytes = Buffer.byteLength(entry.key)
    if (keyBytes > MAX_KEY_BYTES) {
      throw new Error(
        `[collectfasta] Cannot deploy \`${printable(entry.path)}\`: its key would be ${keyBytes} bytes, storages allow ${MAX_KEY_BYTES}. Shorten the file name or the prefix, or exclude it.`,
      )
    }
    if (entry.path === manifestPath) {
      if (entry.origin === undefined) continue // the build's own copy: the deploy writes the real one
      throw new Error(`[collectfasta] ${capitalize(describe(entry))} would replace the deploy manifest ${printable(manifestPath)}: remove it, or move the manifest with the \`manifest\` option.`)
    }
    const first = byPath.get(entry.path)
    if (first === undefined) {
      byPath.set(entry.path, entry)
      admitted.push(entry)
      continue
    }
    if (isRedirect(entry) && first.origin === undefined) {
      throw new Error(`[collectfasta] ${capitalize(describe(entry))} would replace the file ${printable(first.path)}: remove the file or the redirect.`)
    }
    if (isRedirect(entry) || isRedirect(first)) {
      throw new Error(`[collectfasta] ${capitalize(describe(entry))} and ${describe(first)} would both be stored under ${printable(entry.key)}: remove one of them.`)
    }
    shadowed.push(`${describe(entry)} (kept: ${describe(first)})`)
  }
  if (shadowed.length > 0) {
    const more = shadowed.length > NAMED ? ` and ${shadowed.length - NAMED} more` : ''
    warn(
      `[collectfasta] ${shadowed.length} object(s) would be stored under a key already taken, and are left out: ${shadowed.slice(0, NAMED).join('; ')}${more}. ` +
        'Rename one of each pair, or turn off the `directoryIndex` form that makes them meet.',
    )
  }
  return admitted
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
