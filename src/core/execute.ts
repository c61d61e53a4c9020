import { DEFAULTS } from '../defaults.js'
import type { Budget } from '../pool.js'
import type { DeployReport } from '../report.js'
import type { ResolvedDeploy } from '../resolve.js'
import type { RemoteObject } from '../strategy.js'
import type { ChecksumCache } from './cache.js'
import type { createCheckpoint } from './checkpoint.js'
import { type ManifestDeploy, type RemoteManifest, historyOf, manifestFiles } from './deploy-manifest.js'
import type { Entry } from './entry.js'
import { type Plan, carriedFiles } from './plan.js'
import { executePrune } from './prune.js'
import type { RemoteState } from './remote.js'
import type { Counted } from './requests.js'
import { KEEP, type ManifestWriter, type Written, markStorage, otherPending, vouchFor, withPending, writeManifestConditionally } from './trust.js'
import { upload } from './upload.js'

/** Deploys kept in the history while prune refuses (it keeps them until their files are gone), at most. */
const MAX_HISTORY = 50

export interface ExecuteContext {
  cache: ChecksumCache
  remote: RemoteState
  counted: Counted
  memory: Budget
  signal: AbortSignal
  report: DeployReport
  checkpoint: ReturnType<typeof createCheckpoint>
  record(entry: Entry, stored?: RemoteObject): void
  /** Called once the mark is written, when another deploy wrote since the plan: plan again without the cache. */
  replan(): Promise<Plan>
}

/**
 * Carries out a plan: marks the storage (before the first write), uploads in groups, then, only
 * when every upload succeeded, prunes what the plan found stale (re-checked) and commits the
 * manifest conditionally; last, decides what the cache vouches for (core/trust).
 */
export async function execute(first: Plan, o: ResolvedDeploy, ctx: ExecuteContext): Promise<void> {
  let plan = first
  const { report, remote, cache } = ctx
  const writer: ManifestWriter = { strategy: o.strategy, counted: ctx.counted, remote }
  const staleOf = (p: Plan) => (p.prune && !p.prune.refused ? p.prune.stale : [])
  let mark: Written | undefined
  if (plan.manifest && (plan.uploads.length > 0 || staleOf(plan).length > 0)) {
    const base = { version: plan.seen, read: plan.read ?? (await remote.read()) }
    mark = await markStorage(writer, base, plan.deploy)
    if (mark.interleaved && plan.cacheTrusted) {
      o.logger.warn('[collectfasta] Another deploy wrote to the storage since this one asked: checking every file against the storage instead of the cache.')
      remote.forget()
      plan = await ctx.replan()
    }
  }

  await upload(plan.uploads, {
    strategy: o.strategy,
    concurrency: o.concurrency,
    memory: ctx.memory,
    counted: ctx.counted,
    signal: ctx.signal,
    report,
    record: ctx.record,
    progress: o.progress,
  })
  await ctx.checkpoint.settled()
  if (!o.partial) cache.retainOnly(new Set(plan.entries.map((e) => e.key)))
  const succeeded = report.failed.length === 0 && report.pending.length === 0 && !ctx.signal.aborted

  let committed: { version: string | undefined; interleaved: boolean } | undefined
  if (succeeded && plan.prune?.refused) o.logger.warn(`[collectfasta] Prune refused: ${plan.prune.refused}`)
  if (succeeded && plan.manifest) {
    const pruned = plan.prune
      ? !plan.prune.refused && (await executePrune(staleOf(plan), { strategy: o.strategy, counted: ctx.counted, report, remote, concurrency: o.concurrency, markVersion: mark?.version, recorded: plan.previous?.files, warn: o.logger.warn }))
      : true
    const keep = !o.prune ? DEFAULTS.prune.keepDeploys : pruned ? o.prune.keepDeploys : MAX_HISTORY
    const files = manifestFiles(plan.entries, cache, o.partial ? carriedFiles(plan.previous, plan.entries) : {})
    const id = plan.deploy.id
    const build = (current: RemoteManifest | undefined): Omit<RemoteManifest, 'format' | 'tool'> => {
      const deploys: ManifestDeploy[] = historyOf([plan.deploy, ...(current ? withPending(current, id) : [])]).slice(0, keep)
      const pending = otherPending(current, id ?? '')
      return pending ? { deploys, files, pending } : { deploys, files }
    }
    const base = mark ? { version: mark.version, read: { state: 'ok' as const, manifest: mark.manifest } } : { version: plan.seen, read: plan.read ?? (await remote.read()) }
    try {
      const written = await writeManifestConditionally(writer, base, build)
      committed = { version: written.version, interleaved: Boolean(mark?.interleaved) || written.interleaved }
      report.manifest = { key: remote.manifestKey ?? '', size: written.size }
      if (committed.interleaved) o.logger.warn('[collectfasta] Another deploy ran at the same time as this one: both are recorded in the manifest, and the next deploy checks every file against the storage.')
    } catch (error) {
      o.logger.warn(
        `[collectfasta] The site is deployed, but the manifest ${remote.manifestKey} could not be committed (${(error as Error).message}). The next deploy will list the storage instead.`,
      )
    }
  }

  const vouch = vouchFor({
    succeeded,
    partial: o.partial,
    cacheTrusted: plan.cacheTrusted,
    forced: o.force,
    seen: plan.seen,
    read: plan.read?.state ?? 'not read',
    pendingFound: plan.previous?.pending !== undefined,
    committed,
    marked: mark !== undefined,
  })
  if (vouch !== KEEP) cache.manifestVersion = vouch
  report.vouched = vouch === KEEP ? plan.cacheTrusted : vouch !== undefined
}
