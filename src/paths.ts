/**
 * Key rules shared by the core and every strategy: what a prefix and a path may be. This module
 * imports nothing, so a strategy can use it without loading the deploy core.
 */

/** S3 and GCS cap keys at 1,024 bytes (UTF-8), prefix included. */
export const MAX_KEY_BYTES = 1024

/**
 * A record keyed by paths, without a prototype: a file named `__proto__` or `constructor` is a
 * key like any other (on a plain object it would set or read the prototype instead).
 */
export function pathRecord<T>(from?: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, from)
}

const DOT_SEGMENT = /(^|\/)\.{1,2}(\/|$)/
/** C0 control characters and DEL (NUL has its own sentence). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL = /[\x01-\x1f\x7f]/
/** What a terminal or a CI log would act on: C0, DEL, C1 and the Unicode line separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g

/**
 * A key (or any name from outside: a file, a storage listing, a manifest) as it may be printed:
 * control characters and line separators become `\u{…}` escapes, so a name can never start a
 * line of its own in a log (a GitHub Actions `::error::` or `::add-mask::` command) nor move a
 * terminal's cursor. Everything that prints a key goes through this.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`)
}

/**
 * A path as a case- and normalisation-insensitive storage compares it (macOS APFS/HFS+, Windows
 * NTFS, a Samba share): NFC, then lower case. Two keys with the same folded path are one object
 * there: prune must not delete one of them because the other is stale.
 */
export function foldPath(path: string): string {
  return path.normalize('NFC').toLowerCase()
}

/** Why `path` is not a plain relative POSIX path, or `undefined` when it is one. */
export function validatePath(path: string): string | undefined {
  if (path.includes('\\')) return 'it contains a backslash, which storages treat differently'
  if (path.includes('\0')) return 'it contains a NUL character'
  const control = CONTROL.exec(path)
  if (control) {
    return `it contains the control character U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}, which would break the lines of logs (and, on CI, could forge workflow commands)`
  }
  // No empty, '.' or '..' segment (the same as splitting on '/', without the arrays: manifests
  // of 100,000 paths are checked with this).
  // A trailing '/' is allowed: `about/` is the key a clean URL is stored under (directoryIndex).
  const plain = path.endsWith('/') ? path.slice(0, -1) : path
  if (plain === '' || plain.startsWith('/') || plain.endsWith('/') || plain.includes('//') || DOT_SEGMENT.test(plain)) {
    return 'it is not a plain relative path'
  }
  return undefined
}

/** A segment that is `.` or `..`, also percent-encoded (`%2e%2e`): a URL layer would resolve it. */
export function isDotSegment(segment: string): boolean {
  return /^(?:\.|%2e){1,2}$/i.test(segment)
}

/**
 * Why `prefix`, as a user wrote it (a strategy's `prefix`, the path of a `--to` URL), cannot name
 * a folder, or `undefined` when it can. One leading and one trailing `/` are allowed (`/static/`);
 * `.`/`..` segments (also percent-encoded), empty segments (`a//b`), `?`, `#`, backslashes and
 * control characters are not: each would let a URL parser or the storage pick another folder than
 * the one written. `/` alone names no folder. The rule every door (options, the CLI's URLs, a
 * custom scheme's parser) asks.
 */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix === '') return undefined
  if (prefix === '/') return 'it names no folder'
  if (/[?#]/.test(prefix)) return 'it contains `?` or `#`, which a URL would cut off as a query or fragment'
  const body = prefix.slice(prefix.startsWith('/') ? 1 : 0, prefix.endsWith('/') ? -1 : undefined)
  const segments = body.split('/')
  if (segments.includes('')) return 'it has an empty segment (`//`)'
  if (segments.some(isDotSegment)) return "it has a '.' or '..' segment (perhaps percent-encoded), which would resolve to another folder"
  return validatePath(body)
}

/** A normalized prefix is '' or `a/b/`: what a strategy's `prefix` must be. */
export function isNormalizedPrefix(prefix: string): boolean {
  return prefix === '' || (prefix.endsWith('/') && !prefix.startsWith('/') && prefixProblem(prefix) === undefined)
}

/**
 * Normalizes a user's prefix: `static`, `/static/`, `static/` all become `static/`; `''` means
 * the root. What `prefixProblem` finds is refused with a TypeError naming `strategy`. For custom
 * strategies as much as ours.
 */
export function normalizePrefix(strategy: string, prefix: string | undefined): string {
  if (prefix === undefined) return ''
  if (typeof prefix !== 'string') {
    throw new TypeError(`[collectfasta] [${strategy}] Expected \`prefix\` to be a string, got ${typeof prefix}.`)
  }
  if (prefix === '/') {
    throw new TypeError(`[collectfasta] [${strategy}] The prefix "/" names no folder: leave \`prefix\` out (or pass '') to deploy to the root.`)
  }
  const problem = prefixProblem(prefix)
  if (problem) {
    throw new TypeError(`[collectfasta] [${strategy}] The prefix ${JSON.stringify(printable(prefix))} is not a plain path: ${problem}. Name the folder plainly, e.g. 'site/' or 'a/b/'.`)
  }
  const body = prefix.replace(/^\/|\/$/g, '')
  return body ? `${body}/` : ''
}
