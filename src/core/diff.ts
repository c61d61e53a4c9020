import { runPool } from '../pool.js'
import type { UploadReason } from '../report.js'
import { errorText } from '../report.js'
import type { RemoteObject, Strategy } from '../strategy.js'
import type { ChecksumCache } from './cache.js'
import { type RemoteManifest, parseManifest } from './deploy-manifest.js'
import type { Entry } from './entry.js'
import type { Counted } from './requests.js'

/** One upload the diff decided on. */
export interface Upload {
  entry: Entry
  reason: UploadReason
}

/**
 * What the storage holds, asked lazily and at most once per deploy: the deploy manifest (one
 * GET) and the listing (one LIST per 1,000 keys).
 */
export class RemoteState {
  private manifestRead?: Promise<RemoteManifest | undefined>
  private listingRead?: Promise<Map<string, RemoteObject> | undefined>

  constructor(
    private readonly strategy: Strategy,
    private readonly counted: Counted,
    private readonly manifestKey: string | undefined,
    private readonly warn: (message: string) => void,
  ) {}

  manifest(): Promise<RemoteManifest | undefined> {
    const { strategy, manifestKey } = this
    if (!manifestKey || !strategy.get) return Promise.resolve(undefined)
    const get = strategy.get.bind(strategy)
    this.manifestRead ??= this.counted('get', (c) => get(manifestKey, c)).then((bytes) => {
      if (!bytes) return undefined
      try {
        return parseManifest(bytes)
      } catch (error) {
        this.warn(`[collectfasta] Ignoring the remote manifest ${manifestKey}: ${errorText(error)}. Falling back to the listing.`)
        return undefined
      }
    })
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

/** Compares the best digest the storage gave: our own xxh64 if stored, else MD5. */
function sameContent(object: RemoteObject, entry: Entry): boolean {
  if (object.xxh64) return object.xxh64 === entry.xxh64
  if (object.md5) return object.md5 === entry.md5()
  return false
}

export interface DiffContext {
  strategy: Strategy
  cache: ChecksumCache
  remote: RemoteState
  force: boolean
  trustRemoteManifest: boolean
  concurrency: number
  counted: Counted
  /** Records an object the storage was seen to hold with this entry's content and headers. */
  record(entry: Entry, stored?: RemoteObject): void
  warn(message: string): void
}

/**
 * Decides what to upload: the cache first; for what it cannot answer, the deploy manifest and
 * one listing (or, trusted, the manifest alone); `stat` only where those cannot decide.
 */
export async function diff(entries: Entry[], ctx: DiffContext): Promise<Upload[]> {
  if (ctx.force) return entries.map((entry) => ({ entry, reason: 'forced' }))
  const uploads: Upload[] = []
  const unknown: Entry[] = []
  for (const entry of entries) {
    const cached = ctx.cache.get(entry.key)
    if (!cached) unknown.push(entry)
    else if (cached[0] !== entry.xxh64) uploads.push({ entry, reason: 'changed' })
    else if (cached[1] !== entry.headersFingerprint) uploads.push({ entry, reason: 'headers' })
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
    listing = new Map(Object.entries(manifest.files).map(([path, file]) => [prefix + path, { key: prefix + path, ...file }]))
  } else {
    if (ctx.trustRemoteManifest) ctx.warn('[collectfasta] trustRemoteManifest is set, but no remote manifest was found: listing the storage instead.')
    listing = await (listed ?? remote.listing())
  }
  const stat = strategy.stat?.bind(strategy)
  await runPool(
    unknown,
    async (entry) => {
      const recorded = manifest?.files[entry.path]
      let object = listing?.get(entry.key)
      if (object && recorded && object.version && object.version === recorded.version) {
        // The stored object is the one the manifest describes: its digests and headers are known.
        object = { ...object, xxh64: recorded.xxh64, md5: recorded.md5, headersFingerprint: recorded.headers, needsStat: false, statOnMismatch: false }
      } else {
        const askStat = async () => (stat ? ctx.counted('stat', (c) => stat(entry.key, c)) : object)
        if (!listing || object?.needsStat) object = await askStat()
        else if (object?.statOnMismatch && !sameContent(object, entry)) object = await askStat()
      }
      if (!object) uploads.push({ entry, reason: recorded ? 'missing' : 'new' })
      else if (!sameContent(object, entry)) uploads.push({ entry, reason: 'changed' })
      else if (object.headersFingerprint && object.headersFingerprint !== entry.headersFingerprint) {
        uploads.push({ entry, reason: 'headers' })
      } else ctx.record(entry, object)
    },
    { limit: ctx.concurrency, stopOnError: true },
  )
  return uploads
}
