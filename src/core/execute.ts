import { DEFAULTS } from '../defaults.js'
import type { Budget } from '../pool.js'
import type { DeployReport } from '../report.js'
import type { ResolvedDeploy } from '../resolve.js'
import type { RemoteObject } from '../strategy.js'
import type { ChecksumCache } from './cache.js'
import type { createCheckpoint } from './checkpoint.js'
import { pathRecord } from '../paths.js'
import { type ManifestDeploy, type ReleaseSummary, type RemoteManifest, deployIdentity, manifestFiles } from './deploy-manifest.js'
import type { Entry } from './entry.js'
import { type Plan, carriedFiles } from './plan.js'
import { type PruneOutcome, executePrune } from './prune.js'
import { type Overwrite, hashedName, keepBeforeOverwrite, recordRelease, releaseFolder, releaseSource } from './release.js'
import { pruneReleases, stillNeeded } from './release-prune.js'
import { endUncommitted } from './end-record.js'
import type { RemoteState } from './remote.js'
import type { Counted } from './requests.js'
import { KEEP, type ManifestWriter, PRUNE_LEASE_MS, type Written, deploysSince, historyToCommit, leaseMayRun, markStorage, otherPending, pruneThreat, settled, vouchFor, waitForPrune, withPending, writeManifestConditionally } from './trust.js'
import { createThrottle } from './throttle.js'
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
  /** Called once the mark is written, when another deploy wrote since the plan or is pruning: plan again from the storage. */
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
  const id = plan.deploy.id
  let mark: Written | undefined
  // Where this deploy comes from, for its release record: git runs beside the first requests.
  const source = plan.manifest && id && o.manifestPath ? releaseSource(o.root, o.release) : undefined
  /** Other deploys' prunes this one waited out: not carried into its commit. */
  const waitedOut = new Set<string>()
  /** Whether `manifest` records another deploy's prune that may delete one of this deploy's paths. */
  const threatens = (manifest: RemoteManifest | undefined) => pruneThreat(manifest, id, plan.entries.map((e) => e.path), o.strategy.caseInsensitive) !== undefined
  if (plan.manifest && (plan.uploads.length > 0 || staleOf(plan).length > 0)) {
    const base = { version: plan.seen, read: plan.read ?? (await remote.read()) }
    mark = await markStorage(writer, base, plan.deploy)
    // Step 4 of the protocol: a prune recorded before this mark may be deleting what the plan saw listed.
    const threat = threatens(mark.manifest) ? mark.manifest.pruning : undefined
    if (threat) {
      o.logger.warn(`[collectfasta] Another deploy is pruning files this one deploys: waiting for it to finish (${Math.round(PRUNE_LEASE_MS / 1000)} s at most).`)
      if ((await waitForPrune(remote, threat, ctx.signal)) === 'expired') waitedOut.add(threat.id)
    }
    // Anything written since the plan read the storage may have deleted or replaced what it saw:
    // plan again, after the mark, from the storage itself.
    if (mark.interleaved || threat) {
      o.logger.warn('[collectfasta] Another deploy wrote to the storage since this one asked: checking every file against the storage again.')
      remote.forget()
      plan = await ctx.replan()
      plan.manifest ??= 'repair' // the mark is written: it is committed whatever the new plan finds
    }
  }

  const throttle = createThrottle(o.concurrency)
  // The release, before the first page goes out (core/release.ts): the live content of the pages
  // this deploy replaces is copied first, then its record is written. The commit names it.
  let release: ReleaseSummary | undefined
  if (plan.manifest && id && o.manifestPath) {
    const folder = releaseFolder(o.prefix, o.manifestPath)
    const keep = { strategy: o.strategy, counted: ctx.counted, concurrency: o.concurrency, folder, signal: ctx.signal, throttle, warn: o.logger.warn, info: o.logger.info }
    // Where a deploy left the manifest pending, what a page holds is less sure: a kept copy already stored is never copied over.
    if (mark) await keepBeforeOverwrite(overwrites(plan), await keptAlready(remote, folder), { ...keep, statFirst: plan.previous !== undefined && !settled(plan.previous) })
    const carried = o.partial ? carriedFiles(plan.previous, plan.entries) : {}
    release = await recordRelease({ id, at: plan.deploy.at, entries: plan.entries, carried, source: (await source) ?? {} }, keep)
  }
  await upload(plan.uploads, {
    throttle,
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
    if (release) plan.deploy.release = release
    let pruned: PruneOutcome = { whole: true }
    if (plan.prune && !plan.prune.refused && mark) {
      pruned = await executePrune(staleOf(plan), {
        strategy: o.strategy,
        counted: ctx.counted,
        report,
        remote,
        concurrency: o.concurrency,
        writer,
        mark,
        self: id,
        before: first.previous,
        recorded: plan.previous?.files,
        waitedOut,
        signal: ctx.signal,
        warn: o.logger.warn,
      })
    }
    const keep = !o.prune ? DEFAULTS.prune.keepDeploys : plan.prune && !plan.prune.refused && pruned.whole ? o.prune.keepDeploys : MAX_HISTORY
    const files = manifestFiles(plan.entries, cache, o.partial ? carriedFiles(plan.previous, plan.entries) : {})
    let contested = false
    const build = (current: RemoteManifest | undefined): Omit<RemoteManifest, 'format' | 'tool'> => {
      // What a deploy that marked since the plan writes may overwrite this one's files: the
      // committed record keeps only what the storage is known to hold.
      // Measured from the first plan: a re-plan reads the manifest after this deploy's own mark,
      // which already holds the deploys it met.
      const others = deploysSince(current, first.previous, id, cache.ended)
      const theirs = new Set(others.flatMap((d) => d.paths))
      const mine = theirs.size === 0 ? files : withoutPaths(files, theirs)
      const pending = otherPending(current, id ?? '')
      const prune = current?.pruning
      const pruning = prune && prune.id !== id && !waitedOut.has(prune.id) && leaseMayRun(prune) ? prune : undefined
      // A prune recorded on none of this deploy's paths cannot delete what it stored: the commit may vouch.
      contested = others.length > 0 || (pruning !== undefined && threatens(current))
      // A deploy running at the same time stays in the kept history: its pages may be the live ones.
      // Kept, so the manifest stays unsettled: an open line among those that wrote since the plan
      // (this deploy did not list after its end), and any open line for a partial deploy (it did not look at every file).
      const since = new Set(others.map(deployIdentity))
      const spare = (d: ManifestDeploy) => d.open === true && (o.partial || since.has(deployIdentity(d)))
      return { deploys: historyToCommit(plan.deploy, current, keep + others.length, spare), files: mine, ...(pending ? { pending } : {}), ...(pruning ? { pruning } : {}) }
    }
    const written = pruned.lease ?? mark
    const base = written ? { version: written.version, read: { state: 'ok' as const, manifest: written.manifest } } : { version: plan.seen, read: plan.read ?? (await remote.read()) }
    try {
      const stored = await writeManifestConditionally(writer, base, build)
      committed = { version: stored.version, interleaved: Boolean(mark?.interleaved) || stored.interleaved || contested }
      report.manifest = { key: remote.manifestKey ?? '', size: stored.size }
      if (o.manifestPath && plan.prune?.releases?.length && !plan.prune.refused && mark) {
        const since = (await remote.currentManifest()).modified
        const keep = { strategy: o.strategy, counted: ctx.counted, concurrency: o.concurrency, folder: releaseFolder(o.prefix, o.manifestPath), warn: o.logger.warn }
        const planned = first.previous ? withPending(first.previous) : []
        const garbage = await stillNeeded(plan.prune.releases, withPending(stored.manifest), planned, id, keep.folder, o.strategy, ctx.counted, o.concurrency)
        await pruneReleases(garbage, plan.entries, since, keep)
      }
      if (committed.interleaved) o.logger.warn('[collectfasta] Another deploy ran at the same time as this one: both are recorded in the manifest, and the next deploy checks every file against the storage.')
    } catch (error) {
      o.logger.warn(
        `[collectfasta] The site is deployed, but the manifest ${remote.manifestKey} could not be committed (${(error as Error).message}). The next deploy will list the storage instead.`,
      )
    }
  }

  // Marked and not committed: say so where another's mark moved this deploy into the history.
  if (mark && !committed && id) await endUncommitted(writer, id, report).catch(() => {})

  const vouch = vouchFor({
    succeeded,
    partial: o.partial,
    cacheTrusted: plan.cacheTrusted,
    forced: o.force,
    seen: plan.seen,
    read: plan.read?.state ?? 'not read',
    pendingFound: plan.previous?.pending !== undefined || threatens(plan.previous),
    committed,
    marked: mark !== undefined,
  })
  if (vouch !== KEEP) cache.manifestVersion = vouch
  // Marked and not committed, with this process alive to say so: the next deploy from this cache
  // knows the pending mark it finds is no deploy still writing.
  if (mark && !committed && id) cache.ended = id
  report.vouched = vouch === KEEP ? plan.cacheTrusted : vouch !== undefined
}

/** The files this deploy replaces with other content, as the live manifest records them: their content is kept first. */
function overwrites(plan: Plan): Overwrite[] {
  const live = plan.previous?.files
  if (!live) return []
  return plan.uploads.flatMap(({ entry, reason }) => {
    const recorded = live[entry.path]
    if (!recorded || reason === 'missing' || hashedName(entry.headers)) return []
    return recorded.xxh64 !== entry.xxh64 || recorded.headers !== entry.headersFingerprint ? [{ key: entry.key, recorded }] : []
  })
}

/** The kept copies a listing of this run saw already: not copied again. */
async function keptAlready(remote: RemoteState, folder: string): Promise<Set<string>> {
  const listing = await remote.listingIfRead()
  return new Set([...(listing?.keys() ?? [])].filter((key) => key.startsWith(`${folder}kept/`)))
}

/** `files` without `paths`. */
function withoutPaths(files: RemoteManifest['files'], paths: Set<string>): RemoteManifest['files'] {
  const kept = pathRecord<RemoteManifest['files'][string]>()
  for (const [path, file] of Object.entries(files)) if (!paths.has(path)) kept[path] = file
  return kept
}
