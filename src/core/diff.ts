import { runPool } from '../pool.js'
import type { UploadReason } from '../report.js'
import type { RemoteObject, Strategy } from '../strategy.js'
import type { ChecksumCache } from './cache.js'
import { type Difference, UNKNOWN, compareKnown, compareStored, knownSameContent, sameContent } from './compare.js'
import type { ManifestFile } from './deploy-manifest.js'
import type { Entry } from './entry.js'
import type { Counted } from './requests.js'
import type { RemoteState } from './remote.js'
import { settled } from './trust.js'

/** One upload the diff decided on. */
export interface Upload {
  entry: Entry
  reason: UploadReason
  /** For `headers`: which header differs (`check` prints it). */
  why?: string
}

export interface DiffContext {
  strategy: Strategy
  /** What the cache knows (only read here). */
  cache: Pick<ChecksumCache, 'get'>
  remote: RemoteState
  /** Whether the cache may decide: nobody changed the storage since it last vouched for it. */
  cacheTrusted: boolean
  force: boolean
  trustRemoteManifest: boolean
  /**
   * Compare every object's stored headers, asking `stat` where the listing does not carry them
   * (`collectfasta check` and `verify`): see `compareStored`'s `strict`.
   */
  compareHeaders?: boolean
  concurrency: number
  counted: Counted
  /** Records an object the storage was seen to hold with this entry's content and headers. */
  record(entry: Entry, stored?: RemoteObject): void
  warn(message: string): void
}

/**
 * Decides what to upload: a trusted cache first; for what it cannot answer, the deploy
 * manifest and one listing (or, trusted, the manifest alone); `stat` only where those cannot
 * decide. When the listing is read anyway, it also checks what the cache vouched for.
 */
export async function diff(entries: Entry[], ctx: DiffContext): Promise<Upload[]> {
  if (ctx.force) return entries.map((entry) => ({ entry, reason: 'forced' }))
  const uploads: Upload[] = []
  const unknown: Entry[] = []
  const vouched: Entry[] = []
  for (const entry of entries) {
    const cached = ctx.cache.get(entry.key)
    // The same bytes with the same headers give the same stored body: its MD5 is known.
    if (cached?.[0] === entry.xxh64 && cached[1] === entry.headersFingerprint && cached[3]) entry.md5Hex ??= cached[3]
    if (!cached || !ctx.cacheTrusted) unknown.push(entry)
    else if (cached[0] !== entry.xxh64) uploads.push({ entry, reason: 'changed' })
    else if (cached[1] !== entry.headersFingerprint) uploads.push({ entry, reason: 'headers' })
    else vouched.push(entry)
  }
  if (unknown.length === 0) return uploads

  const { strategy, remote } = ctx
  // The manifest and the listing are independent requests: ask both at once.
  const listed = ctx.trustRemoteManifest ? undefined : remote.listing()
  listed?.catch(() => {}) // awaited below; this only keeps an early failure from going unhandled
  const manifest = await remote.manifest()
  const prefix = strategy.prefix ?? ''
  let listing: Map<string, RemoteObject> | undefined
  // A manifest left pending by a deploy that stopped early, or recording one that may still be
  // writing, does not describe the storage.
  if (ctx.trustRemoteManifest && manifest && settled(manifest)) {
    // The manifest's record, as a listing would give it (its `headers` is the fingerprint).
    const asListed = (path: string, file: ManifestFile): RemoteObject => ({
      key: prefix + path,
      size: file.size,
      xxh64: file.xxh64,
      md5: file.md5 || undefined,
      headersFingerprint: file.headers,
      version: file.version || undefined,
    })
    listing = new Map(Object.entries(manifest.files).map(([path, file]) => [prefix + path, asListed(path, file)]))
  } else {
    if (ctx.trustRemoteManifest) {
      ctx.warn(
        `[collectfasta] trustRemoteManifest is set, but ${manifest ? 'the remote manifest records a deploy or prune that did not finish (it may still be writing)' : 'no remote manifest was found'}: listing the storage instead.`,
      )
    }
    listing = await (listed ?? remote.listing())
  }
  if (listing) {
    for (const entry of vouched) {
      const object = listing.get(entry.key)
      const version = ctx.cache.get(entry.key)?.[4]
      if (!object) uploads.push({ entry, reason: 'missing' }) // deleted behind the cache's back
      else if (version && object.version && object.version !== version) unknown.push(entry) // replaced: decide again
    }
  }
  const stat = strategy.stat?.bind(strategy)
  const compare = { strict: ctx.compareHeaders === true, storesHeaders: strategy.storesHeaders !== false }
  /** The stored object as the listing and the manifest describe it. */
  const described = (entry: Entry): RemoteObject | undefined => {
    const recorded = manifest?.files[entry.path]
    const object = listing?.get(entry.key)
    if (object && recorded && object.version && object.version === recorded.version) {
      // The stored bytes are the ones the manifest describes: their digests are known. Its
      // fingerprint too, unless the listing shows the stored metadata (a header patch keeps the version).
      const headersFingerprint = object.headers ? object.headersFingerprint : recorded.headers
      return { ...object, xxh64: recorded.xxh64, md5: recorded.md5 || undefined, headersFingerprint, needsStat: false, statOnMismatch: false }
    }
    return object
  }
  // Comparing headers strictly, the stored ones are needed: a header changed by hand can keep the version and our fingerprint.
  const headersUnseen = (object: RemoteObject | undefined) => compare.strict && compare.storesHeaders && stat !== undefined && object !== undefined && !object.headers
  const decided = (entry: Entry, object: RemoteObject | undefined, difference: Difference | undefined) => {
    if (!difference) ctx.record(entry, object)
    else uploads.push({ entry, reason: difference.reason === 'missing' && !manifest?.files[entry.path] ? 'new' : difference.reason, why: difference.why })
  }
  // What the listing and the manifest decide without a request or a digest off the main thread
  // (a cold deploy of an unchanged site: all of it) is decided in one loop; the rest goes to the pool.
  const rest: Entry[] = []
  for (const entry of listing ? unknown : []) {
    const object = described(entry)
    // A digest that differs is asked again (statOnMismatch): only the pool makes requests.
    const asks = object?.needsStat || headersUnseen(object) || (object?.statOnMismatch && knownSameContent(object, entry) !== true)
    const known = asks ? UNKNOWN : compareKnown(object, entry, compare)
    if (known === UNKNOWN) rest.push(entry)
    else {
      decided(entry, object, known)
      entry.release() // an MD5 comparison read the file: its digest is kept, its bytes are not
    }
  }
  await runPool(
    listing ? rest : unknown,
    async (entry) => {
      let object = described(entry)
      const askStat = async () => (stat ? ctx.counted('stat', (c) => stat(entry.key, c)) : object)
      if (!listing || object?.needsStat || headersUnseen(object)) object = await askStat()
      else if (object?.statOnMismatch && !(await sameContent(object, entry))) object = await askStat()
      decided(entry, object, await compareStored(object, entry, compare))
      entry.release() // an MD5 comparison read the file: its digest is kept, its bytes are not
    },
    { limit: ctx.concurrency, stopOnError: true },
  )
  return uploads
}
