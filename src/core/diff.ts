import { runPool } from '../pool.js'
import type { UploadReason } from '../report.js'
import { errorText } from '../report.js'
import type { RemoteObject, Strategy } from '../strategy.js'
import type { ChecksumCache } from './cache.js'
import { loadHasher } from '../hash.js'
import { type ManifestFile, type RemoteManifest, parseManifest } from './deploy-manifest.js'
import type { Entry } from './entry.js'
import type { Counted } from './requests.js'

/** One upload the diff decided on. */
export interface Upload {
  entry: Entry
  reason: UploadReason
}

/**
 * What the storage holds, asked lazily and at most once per deploy: the deploy manifest's
 * version (one HEAD-like `stat`, no body), the manifest itself (one GET) and the listing (one
 * LIST per 1,000 keys).
 */
export class RemoteState {
  private manifestRead?: Promise<RemoteManifest | undefined>
  private listingRead?: Promise<Map<string, RemoteObject> | undefined>
  private versionRead?: Promise<string | undefined>

  constructor(
    private readonly strategy: Strategy,
    private readonly counted: Counted,
    private readonly manifestKey: string | undefined,
    private readonly warn: (message: string) => void,
  ) {}

  /** Whether this storage can say which version of the deploy manifest it holds. */
  get canCheckManifest(): boolean {
    return this.manifestKey !== undefined && (this.strategy.stat !== undefined || this.strategy.get !== undefined)
  }

  /**
   * The version of the deploy manifest stored now: `undefined` when there is none, `'?'` when
   * the storage names none. Asked once per deploy (see `currentManifestVersion`).
   */
  manifestVersion(): Promise<string | undefined> {
    this.versionRead ??= this.currentManifestVersion(true)
    return this.versionRead
  }

  /** Asks again: the version now, e.g. just before this deploy writes its own manifest. */
  async currentManifestVersion(first = false): Promise<string | undefined> {
    const { strategy, manifestKey } = this
    if (!manifestKey) return undefined
    if (strategy.stat) {
      const stat = strategy.stat.bind(strategy)
      const object = await this.counted('stat', (c) => stat(manifestKey, c))
      return object ? (object.version ?? '?') : undefined
    }
    if (!strategy.get) return undefined
    const get = strategy.get.bind(strategy)
    const bytes = this.counted('get', (c) => get(manifestKey, c))
    // Without stat the manifest is read whole: keep the first read for manifest().
    if (first) this.manifestRead ??= bytes.then((b) => (b ? this.parse(b) : undefined))
    const read = await bytes
    return read ? (await loadHasher())(read) : undefined
  }

  private parse(bytes: Uint8Array): RemoteManifest | undefined {
    try {
      return parseManifest(bytes, this.warn)
    } catch (error) {
      this.warn(`[collectfasta] Ignoring the remote manifest ${this.manifestKey}: ${errorText(error)}. Falling back to the listing.`)
      return undefined
    }
  }

  manifest(): Promise<RemoteManifest | undefined> {
    const { strategy, manifestKey } = this
    if (!manifestKey || !strategy.get) return Promise.resolve(undefined)
    const get = strategy.get.bind(strategy)
    // When the first question found no manifest, there is nothing to GET.
    const absent = this.versionRead?.then((version) => version === undefined, () => false) ?? Promise.resolve(false)
    this.manifestRead ??= absent.then((none) =>
      none ? undefined : this.counted('get', (c) => get(manifestKey, c)).then((bytes) => (bytes ? this.parse(bytes) : undefined)),
    )
    return this.manifestRead
  }

  listing(): Promise<Map<string, RemoteObject> | undefined> {
    const { strategy } = this
    if (!strategy.list) return Promise.resolve(undefined)
    const list = strategy.list.bind(strategy)
    this.listingRead ??= this.counted('list', async (c) => {
      const found = new Map<string, RemoteObject>()
      for await (const object of list(c)) found.set(object.key, object)
      return found
    })
    return this.listingRead
  }
}

/**
 * Compares the best digest the storage gave: our own xxh64 if stored, else MD5 (of the body as
 * stored: a compressed body is then computed, off the main thread, only here).
 */
async function sameContent(object: RemoteObject, entry: Entry): Promise<boolean> {
  if (object.xxh64) return object.xxh64 === entry.xxh64
  if (!object.md5) return false
  if ((entry.encoding || entry.large) && !entry.md5Hex) await entry.prepare() // off the main thread
  return object.md5 === entry.md5()
}

export interface DiffContext {
  strategy: Strategy
  cache: ChecksumCache
  remote: RemoteState
  /** Whether the cache may decide: nobody changed the storage since it last vouched for it. */
  cacheTrusted: boolean
  force: boolean
  trustRemoteManifest: boolean
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
  if (ctx.trustRemoteManifest && manifest) {
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
    if (ctx.trustRemoteManifest) ctx.warn('[collectfasta] trustRemoteManifest is set, but no remote manifest was found: listing the storage instead.')
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
  await runPool(
    unknown,
    async (entry) => {
      const recorded = manifest?.files[entry.path]
      let object = listing?.get(entry.key)
      if (object && recorded && object.version && object.version === recorded.version) {
        // The stored object is the one the manifest describes: its digests and headers are known.
        object = { ...object, xxh64: recorded.xxh64, md5: recorded.md5 || undefined, headersFingerprint: recorded.headers, needsStat: false, statOnMismatch: false }
      } else {
        const askStat = async () => (stat ? ctx.counted('stat', (c) => stat(entry.key, c)) : object)
        if (!listing || object?.needsStat) object = await askStat()
        else if (object?.statOnMismatch && !(await sameContent(object, entry))) object = await askStat()
      }
      if (!object) uploads.push({ entry, reason: recorded ? 'missing' : 'new' })
      else if (!(await sameContent(object, entry))) uploads.push({ entry, reason: 'changed' })
      else if (object.headersFingerprint && object.headersFingerprint !== entry.headersFingerprint) {
        uploads.push({ entry, reason: 'headers' })
      } else ctx.record(entry, object)
      entry.release() // an MD5 comparison read the file: its digest is kept, its bytes are not
    },
    { limit: ctx.concurrency, stopOnError: true },
  )
  return uploads
}
