import { statSync } from 'node:fs'
import { type Budget, runPool } from '../pool.js'
import { type DeployReport, type UploadReason, createProgress, errorText } from '../report.js'
import type { RemoteObject, Strategy, UploadFile } from '../strategy.js'
import type { Upload } from './diff.js'
import { type Entry, GROUPS } from './entry.js'
import type { Counted } from './requests.js'
import { type Throttle, createThrottle, underThrottle } from './throttle.js'

export interface UploadContext {
  strategy: Strategy
  concurrency: number
  /** Bytes of bodies held at once: a small file's whole body counts from its read to its release. */
  memory?: Budget
  counted: Counted
  signal: AbortSignal
  report: DeployReport
  progress: boolean
  /** Records an object the storage confirmed: called at once, so a crash loses nothing confirmed. */
  record(entry: Entry, stored?: RemoteObject): void
  /** Shared with the requests that follow the uploads (the release's kept copies): what a "slow down" taught them holds. */
  throttle?: Throttle
}

const heldAlready = <T>(_bytes: number, task: () => Promise<T>): Promise<T> => task()

/** What the strategy sees of an entry (under `key`: its own, or a kept copy's); call after `entry.prepare()`. A large file's body is read only in ranges, or whole if asked. */
export function toUploadFile(entry: Entry, key = entry.key): UploadFile {
  return {
    key,
    get body() {
      return entry.body()
    },
    read: (start, end) => entry.read(start, end),
    size: entry.bodySize(),
    xxh64: entry.xxh64,
    md5: () => entry.md5(),
    headers: entry.headers,
    headersFingerprint: entry.headersFingerprint,
  }
}

/** An upload as the report lists it; `immutable` marks files cached for good (hashed names). */
export function uploadedItem(entry: Entry, reason: UploadReason): DeployReport['uploaded'][number] {
  const item: DeployReport['uploaded'][number] = { key: entry.key, size: entry.bodySize(), reason }
  if (entry.headers.cacheControl?.includes('immutable')) item.immutable = true
  return item
}

/** A file read from disk must still be what was hashed: never upload bytes under a stale hash. */
function ensureUnchanged(entry: Entry): void {
  if (!entry.source) return
  let now: { size: number; mtimeMs: number } | undefined
  try {
    now = statSync(entry.source.file)
  } catch {
    now = undefined
  }
  if (!now || now.size !== entry.source.size || now.mtimeMs !== entry.source.mtimeMs) {
    throw new Error(
      `${now ? 'changed' : 'disappeared'} on disk while deploying (something is still writing to outDir); not uploaded. Deploy again once the build has finished.`,
    )
  }
}

/**
 * Uploads group by group (hashed assets, other files, then HTML and manifests); a failure in
 * one group holds back every later group, and a cancelled deploy starts no new upload.
 * Throttling answers lower the concurrency and retry the upload after a jittered pause.
 */
export async function upload(uploads: Upload[], ctx: UploadContext): Promise<void> {
  const { strategy, report } = ctx
  const progress = createProgress(
    uploads.length,
    uploads.reduce((sum, u) => sum + u.entry.size, 0),
    ctx.progress,
  )
  const throttle = ctx.throttle ?? createThrottle(ctx.concurrency)
  const send = async (entry: Entry) => {
    ensureUnchanged(entry)
    await entry.prepare(strategy.needsMd5 !== false)
    // A small file's body is already held whole: its parts (below `multipartThreshold`'s
    // default, but a user may set it lower) take nothing more, and cannot wait on themselves.
    return ctx.counted('upload', (c) => strategy.upload(toUploadFile(entry), entry.large ? c : { ...c, hold: heldAlready }))
  }
  // Memory is taken inside a throttle slot, never while waiting for one: whoever waits for
  // memory waits on uploads that are already sending, so all of them finish. A large file's
  // parts hold their own (`ctx.hold`). Not held through a throttling pause: read again after it.
  const attempt = (entry: Entry): Promise<RemoteObject | undefined> =>
    underThrottle(throttle, ctx.signal, () => (ctx.memory && !entry.large ? ctx.memory.use(entry.size, () => send(entry)) : send(entry)), () => entry.release())
  for (const group of GROUPS) {
    const items = uploads.filter((u) => u.entry.group === group)
    if (report.failed.length > 0 || ctx.signal.aborted) {
      report.pending.push(...items.map((u) => u.entry.key))
      continue
    }
    // A failed upload is recorded and the rest of its group still goes (each file stands
    // alone); only later groups are held back.
    const { started } = await runPool(
      items,
      async ({ entry, reason }) => {
        try {
          const stored = await attempt(entry)
          ctx.record(entry, stored)
          const item = uploadedItem(entry, reason)
          report.uploaded.push(item)
          report.bytesUploaded += item.size
        } catch (error) {
          report.failed.push({ key: entry.key, error: errorText(error) })
        } finally {
          entry.release(true) // at once after its memory is given back (no await in between)
        }
        progress.tick(entry.size)
      },
      { limit: ctx.concurrency, signal: ctx.signal },
    )
    report.pending.push(...items.slice(started).map((u) => u.entry.key))
  }
  progress.done()
}
