import type { RemoteObject, StoredHeaders } from '../strategy.js'
import type { Entry } from './entry.js'

/**
 * The one comparison of a stored object with a build's entry. `collectfasta check` reports what
 * it finds and `deploy --verify` uploads it, so the two cannot disagree; a normal deploy uses it
 * too, leniently.
 */

/** How a stored object differs from the entry; `why` names the header (for `check`'s lines). */
export interface Difference {
  reason: 'missing' | 'changed' | 'headers'
  why?: string
}

export interface CompareOptions {
  /**
   * `check` and `verify`: an object differs unless it is shown to hold the build's headers (the
   * stored headers when the storage gave them, else our fingerprint). A normal deploy (false)
   * asks nothing more: only a fingerprint of ours that differs counts.
   */
  strict: boolean
  /** Whether the storage keeps headers at all (a directory does not: only a fingerprint of ours, if known, is compared). */
  storesHeaders: boolean
}

/**
 * Whether the storage's best digest is the entry's: our own xxh64 if stored, else MD5 (of the
 * body as stored: a compressed body is then computed, off the main thread, only here).
 */
export async function sameContent(object: RemoteObject, entry: Entry): Promise<boolean> {
  const known = knownSameContent(object, entry)
  if (known !== undefined) return known
  await entry.prepare() // off the main thread
  return object.md5 === entry.md5()
}

/** `sameContent` when it needs no work off the main thread (no compressed or large body to digest), else undefined. */
export function knownSameContent(object: RemoteObject, entry: Entry): boolean | undefined {
  if (object.xxh64) return object.xxh64 === entry.xxh64
  if (!object.md5) return false
  if ((entry.encoding || entry.large) && !entry.md5Hex) return undefined
  return object.md5 === entry.md5()
}

/** Whether `object` (undefined: not stored) holds `entry`, and if not, why. */
export async function compareStored(object: RemoteObject | undefined, entry: Entry, options: CompareOptions): Promise<Difference | undefined> {
  const known = compareKnown(object, entry, options)
  if (known !== UNKNOWN) return known
  return (await sameContent(object as RemoteObject, entry)) ? headerDifference(object as RemoteObject, entry, options) : { reason: 'changed' }
}

/** What `compareKnown` answers when the comparison needs work off the main thread. */
export const UNKNOWN = Symbol('unknown')

/**
 * `compareStored` without waiting: the same answer, or `UNKNOWN` when a compressed or large body
 * must be digested first (then `compareStored`). A listing of thousands of unchanged objects is
 * compared in one loop.
 */
export function compareKnown(object: RemoteObject | undefined, entry: Entry, options: CompareOptions): Difference | undefined | typeof UNKNOWN {
  if (!object) return { reason: 'missing' }
  const same = knownSameContent(object, entry)
  if (same === undefined) return UNKNOWN
  return same ? headerDifference(object, entry, options) : { reason: 'changed' }
}

function headerDifference(object: RemoteObject, entry: Entry, options: CompareOptions): Difference | undefined {
  // A directory keeps no headers to compare; a fingerprint of ours (the deploy manifest's) still tells a rule changed.
  const strict = options.strict && options.storesHeaders
  const why = strict ? strictHeaders(object, entry) : object.headersFingerprint && object.headersFingerprint !== entry.headersFingerprint ? 'stored for other header rules' : undefined
  return why ? { reason: 'headers', why } : undefined
}

const FIELDS = [
  ['Content-Type', 'contentType'],
  ['Cache-Control', 'cacheControl'],
  ['Content-Encoding', 'contentEncoding'],
  ['redirect', 'redirect'],
] as const

/** The first way the stored headers are not the entry's, or undefined when they are (or nothing tells). */
function strictHeaders(object: RemoteObject, entry: Entry): string | undefined {
  const stored = object.headers
  if (stored) {
    const found = storedDifference(stored, entry)
    if (found) return found
    // The headers a hand re-upload left may look right; without our metadata a cold deploy cannot tell.
    if (!object.headersFingerprint) return "stored without collectfasta's metadata"
  }
  // Without the stored headers, our fingerprint is the one witness; without either, nothing tells.
  if (object.headersFingerprint && object.headersFingerprint !== entry.headersFingerprint) return 'stored for other header rules'
  return undefined
}

function storedDifference(stored: StoredHeaders, entry: Entry): string | undefined {
  const show = (value: string | null | undefined) => (value ? JSON.stringify(value) : 'none')
  for (const [label, field] of FIELDS) {
    if (!(field in stored)) continue // the storage did not say, or the strategy's own options set it
    const have = stored[field] || undefined
    const want = entry.headers[field] || undefined
    if (have !== want) return `${label} ${show(have)}, the build's ${show(want)}`
  }
  // Metadata names are case-insensitive on S3 (stored lower-case); extra entries are not ours to judge.
  const names = new Map(Object.entries(stored.metadata).map(([name, value]) => [name.toLowerCase(), value]))
  for (const [name, want] of Object.entries(entry.headers.metadata ?? {})) {
    const have = names.get(name.toLowerCase())
    if (have !== want) return `metadata ${name} ${show(have)}, the build's ${show(want)}`
  }
  return undefined
}
