import { randomBytes } from 'node:crypto'
import { DEFAULTS } from '../defaults.js'
import { pathRecord } from '../paths.js'
import type { DeployReport } from '../report.js'
import type { ResolvedDeploy } from '../resolve.js'
import type { ChecksumCache } from './cache.js'
import { type ManifestDeploy, type ManifestRead, type RemoteManifest, historyOf } from './deploy-manifest.js'
import { type Upload, diff } from './diff.js'
import type { Entry } from './entry.js'
import { type PrunePlan, planPrune } from './prune.js'
import type { RemoteState } from './remote.js'
import type { Counted } from './requests.js'
import { cacheMayDecide, withPending } from './trust.js'

/**
 * A deploy's plan: everything decided before the first write, each decision with its reason.
 * The dry run prints it; the real run carries it out (core/execute.ts). Both share every decision.
 */
export interface Plan {
  entries: Entry[]
  /** What to upload, each with its reason, in scan order. */
  uploads: Upload[]
  /** Keys already stored with the same content and headers. */
  skipped: string[]
  /** Whether the cache decided (nobody changed the storage since it last vouched). */
  cacheTrusted: boolean
  /** The manifest version found at the start (`undefined`: none, `'?'`: unnamed). */
  seen: string | undefined
  /** The manifest as read, when the plan needed it. */
  read?: ManifestRead
  /** That manifest when it was usable. */
  previous?: RemoteManifest
  /**
   * Whether the deploy manifest is written, and why: `changed` (something is uploaded), `repair`
   * (nothing to upload, but the stored one is missing, unreadable or left pending by a deploy
   * that stopped early), or undefined (nothing to write).
   */
  manifest?: 'changed' | 'repair'
  /** This deploy's line in the history (with the guard's verdict). */
  deploy: ManifestDeploy
  /** The history after this deploy, newest first, this deploy first, before prune trims it. */
  history: ManifestDeploy[]
  /** What prune deletes or why it refuses; undefined when prune is off or nothing is written. */
  prune?: PrunePlan
}

export interface PlanContext {
  cache: ChecksumCache
  remote: RemoteState
  counted: Counted
  /** The version probe started before the scan (undefined when none was asked). */
  probe: Promise<string | undefined> | undefined
  record(entry: Entry, stored?: import('../strategy.js').RemoteObject): void
  /** This run's id, recorded with its pending mark. */
  id?: string
  /** Decide without the cache even where it could vouch (another deploy wrote since the probe). */
  distrustCache?: boolean
}

/** A new deploy id: tells this deploy's pending mark from another's. */
export function deployId(): string {
  return randomBytes(8).toString('hex')
}

/** Computes the plan. It only reads the storage. */
export async function makePlan(o: ResolvedDeploy, entries: Entry[], ctx: PlanContext): Promise<Plan> {
  const { cache, remote } = ctx
  let seen = await ctx.probe
  const cacheTrusted =
    !ctx.distrustCache &&
    cacheMayDecide({
      trustCache: o.trustCache,
      verify: o.verify,
      canProbe: remote.canCheckManifest,
      canList: o.strategy.list !== undefined,
      seen,
      cacheVersion: cache.manifestVersion,
    })
  const uploads = await diff(entries, {
    cacheTrusted,
    strategy: o.strategy,
    cache,
    remote,
    counted: ctx.counted,
    concurrency: o.concurrency,
    record: ctx.record,
    warn: o.logger.warn,
    force: o.force,
    trustRemoteManifest: o.trustRemoteManifest && !o.verify,
    compareHeaders: o.verify,
  })
  const planned = new Set(uploads.map((u) => u.entry.key))
  const skipped = entries.filter((entry) => !planned.has(entry.key)).map((entry) => entry.key)

  const canWrite = o.manifestPath !== false && o.strategy.get !== undefined
  let manifest: Plan['manifest']
  let read: ManifestRead | undefined
  if (canWrite && uploads.length > 0) manifest = 'changed'
  else if (canWrite && !cacheTrusted && !o.partial) {
    // Every file was compared with the storage and is there: a missing, unreadable or pending
    // manifest is repaired, so that the next warm deploy asks one question again.
    read = await remote.read()
    if (read.state === 'absent' || (read.state === 'unreadable' && !read.newer) || (read.state === 'ok' && read.manifest.pending)) manifest = 'repair'
  }
  if (manifest) {
    // The conditional writes need the version the manifest is built from: ask it now if the start did not.
    if (!ctx.probe) seen = await remote.manifestVersion()
    read ??= await remote.read()
  }
  const previous = read?.state === 'ok' ? read.manifest : undefined
  const deploy = thisDeploy(entries, previous, o, ctx.id)
  const history = historyOf([deploy, ...(previous ? withPending(previous, ctx.id) : [])])
  let prune: PrunePlan | undefined
  if (manifest && o.prune && read) {
    prune = await planPrune({
      history,
      prune: o.prune,
      defaultMinShare: DEFAULTS.prune.minShare,
      site: o.site,
      remote,
      read,
      manifestPath: o.manifestPath,
      prefix: o.prefix,
      strategy: o.strategy,
      counted: ctx.counted,
      concurrency: o.concurrency,
    })
    if (prune.shrunk) deploy.shrunk = true
    if (prune.accepted) deploy.accepted = true
  }
  return { entries, uploads, skipped, cacheTrusted, seen, read, previous, manifest, deploy, history, prune }
}

/**
 * The paths whose pages may be live before this deploy: every deploy recorded since the last full
 * deploy that committed (a pending or open one may have written its pages, a partial one replaced
 * none), and that one's; past it, every line still open, ended or not (moved into the history
 * before its commit, it may have written its pages after that deploy). A partial deploy keeps them
 * all, so that its prune deletes none of them.
 */
export function livePaths(previous: RemoteManifest | undefined, self: string | undefined): string[] {
  const paths = new Set<string>()
  let full = false
  for (const d of previous ? withPending(previous, self) : []) {
    if (full && !d.open) continue
    for (const path of d.paths) paths.add(path)
    if (!d.open && !d.partial) full = true
  }
  return [...paths]
}

/** This deploy's line in the history; a partial one also keeps the paths whose pages may be live. */
function thisDeploy(entries: Entry[], previous: RemoteManifest | undefined, o: ResolvedDeploy, id: string | undefined): ManifestDeploy {
  const at = new Date().toISOString()
  const paths = entries.map((e) => e.path)
  const deploy: ManifestDeploy = { at, site: o.site, paths }
  if (o.partial) {
    deploy.paths = [...new Set([...livePaths(previous, id), ...paths])]
    deploy.partial = true
  }
  if (id) deploy.id = id
  return deploy
}

/** The previous manifest's files that a partial deploy did not look at: they are still stored. */
export function carriedFiles(previous: RemoteManifest | undefined, entries: Entry[]): RemoteManifest['files'] {
  const files = pathRecord(previous?.files)
  for (const entry of entries) delete files[entry.path]
  return files
}

/** Fills the report's decisions from the plan (both runs); deletes are added as they happen, or by the dry run. */
export function reportPlan(plan: Plan, report: DeployReport): void {
  report.skipped.push(...plan.skipped)
  for (const { entry, reason } of plan.uploads) report.plan.push({ key: entry.key, action: 'upload', reason })
  if (plan.prune?.refused) report.pruneRefused = plan.prune.refused
}
