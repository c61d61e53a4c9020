import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FlatCache } from 'flat-cache'

/** Bumped when the stored shape changes; another format is treated as empty, with a warning. */
const CACHE_FORMAT = 1
const CACHE_ID = 'checksums.json'

/** What we know was stored: [xxh64, header fingerprint, size, md5 or '', storage version or ''] */
export type CacheRecord = [xxh64: string, headersFingerprint: string, size: number, md5: string, version: string]

interface TargetRecords {
  format: number
  entries: Record<string, CacheRecord>
}

/**
 * The checksum store: for each target, the objects the storage confirmed. One file may serve
 * several targets. It is written atomically, so a crash leaves the old file or the new one.
 */
export class ChecksumCache {
  readonly file: string
  private readonly store: FlatCache
  private records: Record<string, CacheRecord> = {}
  private changed = false

  private constructor(
    private readonly dir: string,
    private readonly target: string,
  ) {
    this.file = join(dir, CACHE_ID)
    this.store = new FlatCache({
      cacheDir: dir,
      cacheId: CACHE_ID,
      useClone: false,
      serialize: JSON.stringify,
      deserialize: JSON.parse,
    })
  }

  /** Fails before any upload if the cache could not be saved afterwards. */
  static ensureWritable(dir: string): void {
    const probe = join(dir, `.write-test-${process.pid}`)
    try {
      mkdirSync(dir, { recursive: true })
      writeFileSync(probe, '')
      rmSync(probe)
    } catch (error) {
      throw new Error(
        `[collectfasta] The cache directory ${dir} is not writable (${(error as Error).message}). Fix it or set \`cacheDir\`; nothing was uploaded.`,
      )
    }
  }

  /** Loads the cache; anything unreadable is reported through `warn` and treated as empty. */
  static load(dir: string, target: string, warn: (message: string) => void): ChecksumCache {
    const cache = new ChecksumCache(dir, target)
    try {
      cache.store.loadFile(cache.file)
    } catch (error) {
      warn(
        `The cache file ${cache.file} could not be read (${(error as Error).message}); ` +
          'starting from an empty cache. It will be rewritten after this deploy.',
      )
      cache.store.clear()
      return cache
    }
    const stored = cache.store.getKey<TargetRecords | undefined>(target)
    if (stored === undefined) return cache
    if (stored?.format !== CACHE_FORMAT || typeof stored.entries !== 'object' || stored.entries === null) {
      warn(
        `The cache for ${target} in ${cache.file} has format ${JSON.stringify(stored?.format)}, ` +
          `this version reads format ${CACHE_FORMAT}; starting from an empty cache for this target.`,
      )
      cache.changed = true
      return cache
    }
    cache.records = stored.entries
    return cache
  }

  get(key: string): CacheRecord | undefined {
    const record = this.records[key]
    return Array.isArray(record) ? record : undefined
  }

  /** Record an object the storage confirmed. */
  set(key: string, record: CacheRecord): void {
    this.records[key] = record
    this.changed = true
  }

  delete(key: string): void {
    if (key in this.records) {
      delete this.records[key]
      this.changed = true
    }
  }

  /** Forget keys of this target that are no longer deployed. */
  retainOnly(keys: Set<string>): void {
    for (const key of Object.keys(this.records)) if (!keys.has(key)) this.delete(key)
  }

  get size(): number {
    return Object.keys(this.records).length
  }

  /** Writes the cache if anything changed: to a temporary file first, then renamed over the old one. */
  save(): void {
    if (!this.changed) return
    this.store.setKey(this.target, { format: CACHE_FORMAT, entries: this.records } satisfies TargetRecords)
    const tmpId = `${CACHE_ID}.${process.pid}.tmp`
    const tmpFile = join(this.dir, tmpId)
    let failure: unknown
    const onError = (error: unknown) => {
      failure = error
    }
    this.store.on('error', onError)
    try {
      if (!existsSync(this.dir)) mkdirSync(this.dir, { recursive: true })
      this.store.cacheId = tmpId
      this.store.save(true)
      if (failure) throw failure
      renameSync(tmpFile, this.file)
      this.changed = false
    } catch (error) {
      rmSync(tmpFile, { force: true })
      throw new Error(
        `[collectfasta] Could not write the cache file ${this.file}: ${(error as Error).message}. ` +
          'Check that `cacheDir` is writable; the deploy itself succeeded.',
      )
    } finally {
      this.store.cacheId = CACHE_ID
      this.store.off('error', onError)
    }
  }
}
