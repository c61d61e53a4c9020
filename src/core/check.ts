import type { DeployOptions } from '../options.js'
import { resolveOptions } from '../resolve.js'
import { errorText } from '../report.js'
import type { RequestKind } from '../strategy.js'
import { diff } from './diff.js'
import { RemoteState } from './remote.js'
import { createCounter, emptyRequestCounts } from './requests.js'
import { scanSite } from './scan-site.js'

/** What `collectfasta check` found: the build against the storage, bytes and headers. A public contract. */
export interface CheckReport {
  target: string
  /** Files of the build that were compared. */
  checked: number
  /** In the build, not in the storage. */
  missing: string[]
  /** Stored with other bytes. */
  changed: string[]
  /** Stored with the same bytes and other headers. */
  headers: string[]
  /** Whether anything differs. */
  drift: boolean
  requests: Record<RequestKind, number>
}

/** Thrown by `check` when the storage differs from the build; `report` says where. */
export class DriftError extends Error {
  constructor(
    message: string,
    readonly report: CheckReport,
  ) {
    super(message)
    this.name = 'DriftError'
  }
}

/**
 * Compares the build with the storage without writing anything: one listing, and a `stat` per
 * object where the listing carries neither a digest that decides nor the stored headers (S3: a
 * HEAD each). The comparison is `verify`'s (core/compare.ts), so `deploy --verify` repairs
 * exactly what this reports. Resolves with the report when both agree; rejects with a
 * `DriftError` (its report attached) when they do not.
 */
export async function check(options: DeployOptions): Promise<CheckReport> {
  const o = resolveOptions({ ...options, dryRun: true })
  const { strategy } = o
  if (!strategy.list && !strategy.stat) {
    throw new TypeError(`[collectfasta] \`check\` needs a strategy that can list or stat, and ${strategy.name} has neither.`)
  }
  const requests = emptyRequestCounts()
  const signal = new AbortController().signal
  const counted = createCounter(requests, signal, o.concurrency)
  // No manifest: what it records is never taken for what is stored.
  const remote = new RemoteState(strategy, counted, undefined, o.logger.warn)
  try {
    const entries = await scanSite(o)
    const uploads = await diff(entries, {
      cacheTrusted: false,
      strategy,
      cache: { get: () => undefined },
      remote,
      counted,
      concurrency: o.concurrency,
      record: () => {},
      warn: o.logger.warn,
      force: false,
      trustRemoteManifest: false,
      compareHeaders: true,
    })
    const keys = (reason: string) => uploads.filter((u) => (reason === 'missing' ? u.reason === 'new' || u.reason === 'missing' : u.reason === reason)).map((u) => u.entry.key)
    const report: CheckReport = {
      target: strategy.target,
      checked: entries.length,
      missing: keys('missing'),
      changed: keys('changed'),
      headers: keys('headers'),
      drift: uploads.length > 0,
      requests,
    }
    for (const entry of entries) entry.release()
    const compared = strategy.storesHeaders === false ? 'bytes' : 'bytes and headers'
    if (!report.drift) {
      const note = strategy.storesHeaders === false ? ' (a directory keeps no headers: its web server sets them)' : ''
      o.logger.info(`[collectfasta] ${strategy.target}: all ${report.checked} file(s) of the build are stored with the same ${compared}${note}.`)
      return report
    }
    const why = new Map(uploads.map((u) => [u.entry.key, u.why ? ` (${u.why})` : '']))
    const lines = [
      ...report.missing.map((key) => `  missing  ${key}`),
      ...report.changed.map((key) => `  changed  ${key}`),
      ...report.headers.map((key) => `  headers  ${key}${why.get(key)}`),
    ]
    // Every line comes from the comparison `verify` uploads by: that deploy repairs all of them.
    throw new DriftError(
      `[collectfasta] ${strategy.target} differs from the build in ${uploads.length} of ${report.checked} file(s):\n${lines.join('\n')}\n` +
        `Deploy with \`--verify\` (or \`verify: true\`) to upload these ${uploads.length} file(s) again with the build's ${compared}.`,
      report,
    )
  } catch (error) {
    if (error instanceof DriftError) throw error
    throw new Error(errorText(error), { cause: error })
  } finally {
    await strategy.dispose?.()
  }
}
