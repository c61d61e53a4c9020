import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { lock } from 'proper-lockfile'
import { pathRecord } from '../paths.js'
import { writeJson } from './json-bytes.js'

/** Bumped when the stored shape changes; another format is treated as empty, with a warning. */
const CACHE_FORMAT = 2
const CACHE_ID = 'checksums.json'

/** What we know was stored: [xxh64, header fingerprint, size, md5 or '', storage version or ''] */
export type CacheRecord = [xxh64: string, headersFingerprint: string, size: number, md5: string, version: string]

/**
 * A record this process confirmed, held as one object of five fields (64 bytes) rather than an
 * array (two objects, 138 bytes): a first push of a million files holds a million of them.
 * Written to the file as the array.
 */
class Confirmed {
  constructor(
    readonly xxh64: string,
    readonly headersFingerprint: string,
    readonly size: number,
    readonly md5: string,
    readonly version: string,
  ) {}

  toJSON(): CacheRecord {
    return [this.xxh64, this.headersFingerprint, this.size, this.md5, this.version]
  }
}

/** A record as held: read from the file (an array), or confirmed by this process. */
type HeldRecord = CacheRecord | Confirmed

interface TargetRecords {
  format: number
  /** Bumped by every save: a save that finds another number knows another process saved. */
  revision: number
  /**
   * The version of the deploy manifest this cache last wrote: while the storage's manifest is
   * still that version, nobody else has deployed and the entries can be trusted.
   */
  manifestVersion?: string
  /**
   * The id of this cache's last deploy that marked the storage and then stopped without
   * committing (failed or cancelled, its process alive to save): the next deploy knows that
   * pending mark is not a deploy still writing.
   */
  ended?: string
  entries: Record<string, HeldRecord>
}

/**
 * The whole file: every target's records, by target. On disk it is a JSON array of
 * `{ key, value }` (the shape flat-cache wrote, so caches written by earlier versions are read,
 * and earlier versions read ours).
 */
type Store = Map<string, unknown>

/** Reads the file; absent is empty, anything else unreadable throws. */
function readStore(file: string): Store {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map()
    throw error
  }
  const parsed: unknown = JSON.parse(text)
  if (Array.isArray(parsed)) {
    const store: Store = new Map()
    for (const item of parsed as { key?: unknown; value?: unknown }[]) if (typeof item?.key === 'string') store.set(item.key, item.value)
    return store
  }
  throw new Error('it is not a list of targets')
}

/**
 * Writes the file whole or not at all: a temporary file, flushed to disk, renamed over it, and
 * the folder flushed (where it can be opened), so that after a crash or a power loss the file is
 * the old one or the new one, never empty nor half written.
 */
function writeStore(dir: string, file: string, store: Store): void {
  const tmp = join(dir, `${CACHE_ID}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fd = openSync(tmp, 'wx')
    try {
      writeJson(fd, Array.from(store, ([key, value]) => ({ key, value })))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
  } catch (error) {
    // The cleanup must not hide why the write failed (e.g. an ENOTDIR of its own).
    try {
      rmSync(tmp, { force: true })
    } catch {}
    throw error
  }
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // Windows cannot open a folder; NTFS journals the rename itself.
  }
}

/**
 * The checksum store: for each target, the objects the storage confirmed. One file may serve
 * several targets and several processes: a save takes a lock, re-reads the file and merges this
 * process's changes key by key, so nobody's confirmations are dropped. It is written to a
 * temporary file and renamed, so a crash leaves the old file or the new one.
 */
export class ChecksumCache {
  readonly file: string
  private records: Record<string, HeldRecord> = pathRecord()
  /** This process's changes since loading: a record, or null for a key forgotten. */
  private readonly changes = new Map<string, Confirmed | null>()
  private revision = 0
  private version: string | undefined
  private endedId: string | undefined
  private versionChanged = false
  /**
   * The whole file (every target) as this process last read or wrote it, and its stamp then. A
   * save reuses it while the stamp holds (nobody else wrote): a checkpoint of a 100,000-file
   * deploy then re-parses nothing, where a fresh copy of every record each time was most of the
   * deploy's garbage.
   */
  private known?: { store: Store; stamp: string }

  private constructor(
    private readonly dir: string,
    private readonly target: string,
  ) {
    this.file = join(dir, CACHE_ID)
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
    const stamp = stampOf(cache.file) // before reading: a file replaced meanwhile never matches it
    const store = cache.open(warn)
    const stored = cache.read(store, warn)
    if (stamp && stored) cache.known = { store, stamp }
    if (stored) {
      cache.records = pathRecord(stored.entries)
      cache.revision = stored.revision
      cache.version = stored.manifestVersion
      cache.endedId = stored.ended
    }
    return cache
  }

  /** The whole file (every target), or an empty store if it is absent or unreadable. Reads only. */
  private open(warn?: (message: string) => void): Store {
    try {
      return readStore(this.file)
    } catch (error) {
      warn?.(
        `The cache file ${this.file} could not be read (${(error as Error).message}); ` +
          'starting from an empty cache. It will be rewritten after this deploy.',
      )
      return new Map()
    }
  }

  /** This target's records in `store`, or undefined (absent, or another format). */
  private read(store: Store, warn?: (message: string) => void): TargetRecords | undefined {
    const stored = store.get(this.target) as Partial<TargetRecords> | undefined
    if (stored === undefined) return undefined
    if (stored?.format !== CACHE_FORMAT || typeof stored.entries !== 'object' || stored.entries === null) {
      warn?.(
        `The cache for ${this.target} in ${this.file} has format ${JSON.stringify(stored?.format)}, ` +
          `this version reads format ${CACHE_FORMAT}; starting from an empty cache for this target.`,
      )
      return undefined
    }
    const ended = typeof stored.ended === 'string' ? { ended: stored.ended } : {}
    return { format: CACHE_FORMAT, revision: Number(stored.revision) || 0, manifestVersion: stored.manifestVersion, ...ended, entries: stored.entries }
  }

  get(key: string): CacheRecord | undefined {
    const record = this.records[key]
    if (record instanceof Confirmed) return record.toJSON()
    return Array.isArray(record) ? record : undefined
  }

  /** Record an object the storage confirmed. */
  set(key: string, [xxh64, headersFingerprint, size, md5, version]: CacheRecord): void {
    const record = new Confirmed(xxh64, headersFingerprint, size, md5, version)
    this.records[key] = record
    this.changes.set(key, record)
  }

  delete(key: string): void {
    if (key in this.records) {
      delete this.records[key]
      this.changes.set(key, null)
    }
  }

  /** Forget keys of this target that are no longer deployed. */
  retainOnly(keys: Set<string>): void {
    for (const key of Object.keys(this.records)) if (!keys.has(key)) this.delete(key)
  }

  get size(): number {
    return Object.keys(this.records).length
  }

  /** The deploy manifest version this cache vouches for, if any. */
  get manifestVersion(): string | undefined {
    return this.version
  }

  /** The id of this cache's last deploy that marked the storage and stopped before its commit. */
  get ended(): string | undefined {
    return this.endedId
  }

  set ended(id: string | undefined) {
    this.endedId = id
    this.versionChanged = true
  }

  /** Vouch for a manifest version (one this process wrote), or for none (`undefined`). */
  set manifestVersion(version: string | undefined) {
    this.version = version
    this.versionChanged = true
  }

  /**
   * Merges this process's changes into the file, under a lock. If another process saved this
   * target since we read it, our manifest version is dropped: the two deploys may have
   * interleaved, so the next deploy checks the storage instead of trusting either.
   */
  async save(): Promise<void> {
    if (this.changes.size === 0 && !this.versionChanged) return
    let release: (() => Promise<void>) | undefined
    try {
      if (!existsSync(this.dir)) mkdirSync(this.dir, { recursive: true })
      release = await lock(this.dir, { lockfilePath: join(this.dir, `${CACHE_ID}.lock`), retries: { retries: 40, minTimeout: 25, maxTimeout: 500 }, stale: 30_000 })
      const stamp = stampOf(this.file)
      const known = stamp !== undefined && stamp === this.known?.stamp ? this.known : undefined
      const store = known?.store ?? this.open()
      // Unchanged since this process read or wrote it: the file holds `records` minus `changes`.
      const onDisk = known ? undefined : this.read(store)
      const entries = known ? this.records : pathRecord(onDisk?.entries)
      for (const [key, record] of this.changes) {
        if (record) entries[key] = record
        else delete entries[key]
      }
      const interleaved = !known && (onDisk?.revision ?? 0) !== this.revision
      const manifestVersion = interleaved ? undefined : this.version
      const revision = Math.max(onDisk?.revision ?? 0, this.revision) + 1
      store.set(this.target, { format: CACHE_FORMAT, revision, manifestVersion, ...(this.endedId ? { ended: this.endedId } : {}), entries } satisfies TargetRecords)
      writeStore(this.dir, this.file, store)
      this.known = { store, stamp: stampOf(this.file) ?? '' }
      this.records = entries
      this.revision = revision
      this.version = manifestVersion
      this.changes.clear()
      this.versionChanged = false
    } catch (error) {
      this.known = undefined // the store may hold what was not written
      throw new Error(
        `[collectfasta] Could not write the cache file ${this.file}: ${(error as Error).message}. ` +
          'Every upload it would have recorded is stored; the next deploy checks the storage for them. Check that `cacheDir` is writable.',
      )
    } finally {
      await release?.().catch(() => {})
    }
  }
}

/** What changes whenever a file is replaced or rewritten (a rename gives a new inode). */
function stampOf(file: string): string | undefined {
  try {
    const stat = statSync(file)
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`
  } catch {
    return undefined
  }
}
