import { md5Hex } from '../../src/hash.js'
import { type ObjectHeaders, type StrategyWith, defineStrategy, storageConflict, storageError } from '../../src/strategy.js'

export interface StoredObject {
  bytes: Uint8Array
  headers: ObjectHeaders
  /** The fingerprint of `headers` it was stored with, as object storages keep it in metadata. */
  headersFingerprint?: string
  /** Our xxh64 of the bytes, as object storages keep it in metadata. */
  xxh64?: string
  /** When it was written (ms), as a storage's clock says. */
  modified?: number
}

export interface MemoryStrategy extends StrategyWith<'list' | 'stat' | 'get' | 'delete' | 'copy'> {
  objects: Map<string, StoredObject>
  /** Every call made, in order: `upload:key`, `list`, `stat:key`, `get:key`, `delete:keys`, `copy:from>to`. */
  calls: string[]
}

export interface MemoryOptions {
  prefix?: string
  /** Make the upload of matching keys fail. */
  failUpload?: (key: string) => boolean
  /** Shared storage, to simulate several runs against one bucket. */
  objects?: Map<string, StoredObject>
}

/**
 * An in-memory storage that behaves like a simple object store: it lists MD5 digests, keeps
 * headers, and records every call, so tests can count requests independently of the report.
 */
export function memory(options: MemoryOptions = {}): MemoryStrategy {
  const objects = options.objects ?? new Map<string, StoredObject>()
  const calls: string[] = []
  const prefix = options.prefix ?? ''
  return defineStrategy({
    name: 'memory',
    conditionalWrites: true,
    target: `memory://test/${prefix}`,
    prefix,
    objects,
    calls,
    async *list() {
      calls.push('list')
      for (const [key, object] of objects) {
        const md5 = md5Hex(object.bytes)
        if (key.startsWith(prefix)) yield { key, size: object.bytes.byteLength, md5, version: md5 }
      }
    },
    async stat(key) {
      calls.push(`stat:${key}`)
      const object = objects.get(key)
      return object && { key, size: object.bytes.byteLength, md5: md5Hex(object.bytes), version: md5Hex(object.bytes), xxh64: object.xxh64, modified: object.modified }
    },
    async get(key) {
      calls.push(`get:${key}`)
      return objects.get(key)?.bytes
    },
    async upload(file) {
      calls.push(`upload:${file.key}`)
      // A turn of the event loop, as a request takes (a 1 ms timer here made the explorer wait, not work).
      await new Promise((r) => setImmediate(r))
      if (options.failUpload?.(file.key)) throw new Error('simulated storage failure (503)')
      if (file.ifVersion !== undefined) {
        const current = objects.get(file.key)
        if ((current ? md5Hex(current.bytes) : null) !== file.ifVersion) throw storageConflict('memory', `${file.key}: precondition failed`)
      }
      objects.set(file.key, { bytes: Uint8Array.from(file.body), headers: structuredClone(file.headers), headersFingerprint: file.headersFingerprint, xxh64: file.xxh64 || undefined, modified: Date.now() })
      return { key: file.key, size: file.size, version: file.md5() }
    },
    async copy(from, to, ctx, copyOptions) {
      calls.push(`copy:${from}>${to}`)
      const source = objects.get(from)
      if (!source) throw storageError('memory', `Cannot copy ${from} to ${to}: there is no object at ${from}.`)
      ctx.count('copy')
      const headers = copyOptions?.headers
      const copied: StoredObject = {
        bytes: Uint8Array.from(source.bytes),
        headers: structuredClone(headers ?? source.headers),
        headersFingerprint: headers ? copyOptions?.headersFingerprint : source.headersFingerprint,
        xxh64: source.xxh64,
        modified: Date.now(),
      }
      objects.set(to, copied)
      const md5 = md5Hex(copied.bytes)
      return { key: to, size: copied.bytes.byteLength, md5, version: md5, xxh64: copied.xxh64, headersFingerprint: copied.headersFingerprint, modified: copied.modified }
    },
    async delete(keys) {
      calls.push(`delete:${keys.join(',')}`)
      for (const key of keys) objects.delete(key)
    },
  })
}
