import { printable } from './paths.js'
import type { RequestKind } from './strategy.js'

export type UploadReason = 'new' | 'changed' | 'headers' | 'forced' | 'missing'
export type DeleteReason = 'stale' | 'unknown'

/** Each reason in words, for the dry-run plan and messages. */
export const REASONS: Record<UploadReason | DeleteReason, string> = {
  new: 'new file',
  changed: 'content changed',
  headers: 'headers changed',
  forced: 'forced',
  missing: 'missing remotely',
  stale: 'not in the recent deploys kept by prune.keepDeploys',
  unknown: 'written by no recorded deploy (prune.unknown)',
}

/** One decision of the deploy, with its reason: the dry-run plan, and the record of a real run. */
export type PlanItem =
  | { key: string; action: 'upload'; reason: UploadReason }
  | { key: string; action: 'delete'; reason: DeleteReason }

/** The deploy report: returned by `deploy()` and written to `reportFile`. A public contract. */
export interface DeployReport {
  target: string
  dryRun: boolean
  /**
   * Uploaded objects; in a dry run, the objects that would be uploaded. `immutable` marks those
   * stored with an immutable Cache-Control (hashed names): a CDN never needs to forget them.
   */
  uploaded: { key: string; size: number; reason: UploadReason; immutable?: true }[]
  /** Keys already stored with the same content and headers. */
  skipped: string[]
  failed: { key: string; error: string }[]
  /** Keys held back because an earlier group failed or the deploy was cancelled. */
  pending: string[]
  /** Deleted keys (`prune`); in a dry run, the keys that would be deleted. */
  deleted: string[]
  /** Bytes uploaded; in a dry run, the bytes that would be uploaded. */
  bytesUploaded: number
  durationMs: number
  /** Requests made to the storage: LIST pages, HEADs, GETs, uploads or parts, delete batches. */
  requests: Record<RequestKind, number>
  /** Every upload and delete decided, with its reason. */
  plan: PlanItem[]
  /** The deploy manifest written after the site's files, if one was written. */
  manifest?: { key: string; size: number }
  /** Why `prune` deleted nothing although there were stale objects. */
  pruneRefused?: string
  /**
   * Why deleting stale objects failed part-way (`deleted` lists what was deleted before): the
   * site is deployed, and the deploy still fails so that the failure is seen.
   */
  pruneFailed?: string
  /**
   * Whether the deploy's cache vouches for the storage afterwards (the next warm deploy then asks
   * one question): false after a partial, interleaved, failed or cancelled deploy.
   */
  vouched?: boolean
  /**
   * Files whose names carry no content hash (not cached for good): how many there are, and how
   * many of them changed content since the last deploy. Most of them changing every deploy
   * means the build is not deterministic.
   */
  unhashedChanged?: { changed: number; of: number }
  /** A rollback's releases: the one live before it (`from`), the one restored (`to`), and the new release that records it (`id`). */
  rollback?: { from?: string; to: string; id?: string }
}

/** Thrown when some uploads failed or the deploy was cancelled; `report` says which. */
export class DeployError extends Error {
  constructor(
    message: string,
    readonly report: DeployReport,
  ) {
    super(message)
    this.name = 'DeployError'
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Keys named in a failure message; the report lists them all. */
const MAX_NAMED = 20

/** The message of the DeployError a finished deploy ends with, or `undefined` when it succeeded. */
export function failureMessage(report: DeployReport, signal: AbortSignal, caught?: string): string | undefined {
  if (signal.aborted && report.failed.length === 0) {
    const why = caught ?? errorText(signal.reason ?? 'aborted')
    return `[collectfasta] Deploy cancelled (${why}): ${report.uploaded.length} uploaded, ${report.pending.length} not uploaded; the cache is saved, so the next run uploads only what is missing.`
  }
  if (report.failed.length === 0 && report.pending.length === 0) return undefined
  // Grouped by cause, at most MAX_NAMED keys in all: a failure of 30,000 keys is a few lines,
  // and the report has every key.
  const byCause = new Map<string, string[]>()
  // Keys and causes through `printable`: a name from outside (a listed key in a delete error)
  // never starts a line of its own.
  for (const { key, error } of report.failed) byCause.set(printable(error), [...(byCause.get(printable(error)) ?? []), printable(key)])
  const lines: string[] = []
  let named = 0
  for (const [cause, keys] of byCause) {
    const shown = keys.slice(0, Math.max(1, MAX_NAMED - named))
    named += shown.length
    const more = keys.length > shown.length ? ` and ${keys.length - shown.length} more` : ''
    lines.push(keys.length === 1 ? `  ${keys[0]}: ${cause}` : `  ${shown.join(', ')}${more}: ${cause}`)
  }
  const pending = report.pending.length
  const held = pending
    ? `\n${pending} file(s) were held back so that HTML never points at missing files: ${report.pending.slice(0, MAX_NAMED).map(printable).join(', ')}${pending > MAX_NAMED ? ` and ${pending - MAX_NAMED} more` : ''}`
    : ''
  const all = report.failed.length + pending > MAX_NAMED ? ' (every key is in the report)' : ''
  return (
    `[collectfasta] ${report.failed.length} upload(s) to ${report.target} failed${all}:\n${lines.join('\n')}${held}\n` +
    'Every confirmed upload is cached: run the deploy again to upload only what is missing.'
  )
}

export interface Logger {
  info(message: string): void
  warn(message: string): void
}

export const consoleLogger: Logger = {
  info: (message) => console.log(message),
  warn: (message) => console.warn(message),
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = bytes / 1000
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

/** The one summary line. */
export function summarize(report: DeployReport): string {
  const verb = report.dryRun ? 'would upload' : 'uploaded'
  const parts = [
    `${verb} ${report.uploaded.length} file(s) (${formatBytes(report.bytesUploaded)})`,
    `${report.skipped.length} unchanged`,
  ]
  if (report.failed.length) parts.push(`${report.failed.length} failed`)
  if (report.pending.length) parts.push(`${report.pending.length} held back`)
  if (report.deleted.length) parts.push(`${report.deleted.length} ${report.dryRun ? 'would be deleted' : 'deleted'}`)
  if (report.pruneFailed) parts.push('prune failed')
  const requests = Object.values(report.requests).reduce((a, b) => a + b, 0)
  const dry = report.dryRun ? ' (dry run)' : ''
  return `[collectfasta] ${printable(report.target)}${dry}: ${parts.join(', ')}, ${requests} request(s) in ${(report.durationMs / 1000).toFixed(2)} s`
}

const PROGRESS_AFTER_MS = 1000

/**
 * A progress line on an interactive terminal, shown once uploading has taken a second:
 * files done / total, bytes, rate and time left, redrawn at most ten times a second and
 * replaced by the summary line.
 */
export function createProgress(total: number, totalBytes: number, enabled: boolean, stream: NodeJS.WriteStream = process.stderr) {
  const interactive = enabled && stream.isTTY === true && !process.env.CI
  const started = Date.now()
  let done = 0
  let bytes = 0
  let shown = false
  let lastDraw = 0
  return {
    tick(size = 0) {
      done++
      bytes += size
      if (!interactive) return
      const now = Date.now()
      if (now - started < PROGRESS_AFTER_MS || now - lastDraw < 100) return
      lastDraw = now
      shown = true
      const rate = bytes / ((now - started) / 1000)
      const left = rate > 0 ? Math.ceil((totalBytes - bytes) / rate) : 0
      stream.write(`\r\x1b[K[collectfasta] uploading ${done}/${total} files, ${formatBytes(bytes)} of ${formatBytes(totalBytes)}, ${formatBytes(rate)}/s, ${left} s left`)
    },
    done() {
      if (shown) stream.write('\r\x1b[K')
    },
  }
}
