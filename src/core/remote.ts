import { loadHasher } from '../hash.js'
import { MAX_KEY_BYTES } from '../paths.js'
import type { RemoteObject, Strategy } from '../strategy.js'
import { type ManifestRead, type RemoteManifest, readManifest } from './deploy-manifest.js'
import type { Counted } from './requests.js'

/**
 * What the storage holds, asked lazily and at most once per deploy: the deploy manifest's
 * version (one HEAD-like `stat`, no body), the manifest itself (one GET) and the listing (one
 * LIST per 1,000 keys). `reread()` asks again, uncached, when a conditional write conflicts.
 */
export class RemoteState {
  private manifestRead?: Promise<ManifestRead>
  /** The manifest once `manifestRead` has settled: what the scan may already use. */
  private manifestKnown?: ManifestRead
  private listingRead?: Promise<Map<string, RemoteObject> | undefined>
  private versionRead?: Promise<string | undefined>

  constructor(
    private readonly strategy: Strategy,
    private readonly counted: Counted,
    /** The manifest's full key (prefix included), or undefined when it is off. */
    readonly manifestKey: string | undefined,
    private readonly warn: (message: string) => void,
  ) {}

  /** The longest path a key under this prefix can have: longer paths in a manifest are dropped. */
  private get maxPathBytes(): number {
    return MAX_KEY_BYTES - Buffer.byteLength(this.strategy.prefix ?? '')
  }

  /** Whether this storage can say which version of the deploy manifest it holds. */
  get canCheckManifest(): boolean {
    return this.manifestKey !== undefined && (this.strategy.stat !== undefined || this.strategy.get !== undefined)
  }

  /**
   * The version of the deploy manifest stored at the start: `undefined` when there is none, `'?'`
   * when the storage names none. Asked once per deploy (the one cheap question of a warm deploy).
   */
  manifestVersion(): Promise<string | undefined> {
    this.versionRead ??= this.currentManifestVersion(true)
    return this.versionRead
  }

  /** Asks again: the version now (before deleting, before committing). */
  async currentManifestVersion(first = false): Promise<string | undefined> {
    return (await this.currentManifest(first)).version
  }

  /** The manifest's version and modification time now, by the storage's clock. */
  async currentManifest(first = false): Promise<{ version: string | undefined; modified?: number }> {
    const { strategy, manifestKey } = this
    if (!manifestKey) return { version: undefined }
    if (strategy.stat) {
      const stat = strategy.stat.bind(strategy)
      const object = await this.counted('stat', (c) => stat(manifestKey, c))
      return object ? { version: object.version ?? '?', modified: object.modified } : { version: undefined }
    }
    if (!strategy.get) return { version: undefined }
    const get = strategy.get.bind(strategy)
    const bytes = this.counted('get', (c) => get(manifestKey, c))
    // Without stat the manifest is read whole: keep the first read for manifest().
    if (first) this.manifestRead ??= bytes.then((b) => this.parse(b))
    const read = await bytes
    return { version: read ? (await loadHasher())(read) : undefined }
  }

  private parse(bytes: Uint8Array | undefined): ManifestRead {
    const read = readManifest(bytes, this.warn, this.maxPathBytes)
    if (read.state === 'unreadable') this.warn(`[collectfasta] The deploy manifest ${this.manifestKey} cannot be used: ${read.why}. Checking the storage by listing it instead.`)
    return read
  }

  /** The manifest as read once per deploy (absent, usable, or unreadable). */
  read(): Promise<ManifestRead> {
    const { strategy, manifestKey } = this
    if (!manifestKey || !strategy.get) return Promise.resolve({ state: 'absent' })
    const get = strategy.get.bind(strategy)
    // When the first question found no manifest, there is nothing to GET.
    const absent = this.versionRead?.then((version) => version === undefined, () => false) ?? Promise.resolve(false)
    if (!this.manifestRead) {
      const read: Promise<ManifestRead> = absent.then((none) => (none ? { state: 'absent' } : this.counted('get', (c) => get(manifestKey, c)).then((bytes) => this.parse(bytes))))
      this.manifestRead = read
      read.then((known) => {
        if (this.manifestRead === read) this.manifestKnown = known
      }, () => {})
    }
    return this.manifestRead
  }

  /** The manifest if `read()` has been answered already, else `undefined` (nothing is asked). */
  readSoFar(): ManifestRead | undefined {
    return this.manifestKnown
  }

  /** The manifest when it is usable; `undefined` when absent or unreadable. */
  async manifest(): Promise<RemoteManifest | undefined> {
    const read = await this.read()
    return read.state === 'ok' ? read.manifest : undefined
  }

  /** The manifest and its version now, read again (after a conditional write conflicted). */
  async reread(): Promise<{ version: string | undefined; read: ManifestRead }> {
    const { version } = await this.currentManifest()
    if (version === undefined || !this.manifestKey || !this.strategy.get) return { version, read: { state: 'absent' } }
    const get = this.strategy.get.bind(this.strategy)
    const key = this.manifestKey
    const read = readManifest(await this.counted('get', (c) => get(key, c)), this.warn, this.maxPathBytes)
    return { version, read }
  }

  /** The listing if one was asked for already (none is started). */
  listingIfRead(): Promise<Map<string, RemoteObject> | undefined> {
    return this.listingRead ?? Promise.resolve(undefined)
  }

  /** Forgets every answer: the next questions go to the storage again (another deploy wrote meanwhile). */
  forget(): void {
    this.manifestRead = undefined
    this.manifestKnown = undefined
    this.listingRead = undefined
    this.versionRead = undefined
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
