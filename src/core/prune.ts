import { foldPath, validatePath } from '../paths.js'
import { runPool } from '../pool.js'
import { type DeleteReason, type DeployReport, errorText } from '../report.js'
import type { RemoteObject, Strategy } from '../strategy.js'
import type { ManifestDeploy, ManifestPruning, ManifestRead, RemoteManifest } from './deploy-manifest.js'
import { type ManifestWriter, PRUNE_LEASE_MS, type Written, deploysSince, leaseMayRun, mayBeWriting, waitForPrune, withPending, writeManifestConditionally } from './trust.js'
import type { RemoteState } from './remote.js'
import type { Counted } from './requests.js'

import type { ResolvedPrune } from '../resolve.js'
import { releaseFolder } from './release.js'
import { releaseGarbage } from './release-prune.js'
import { shrinkGuard } from './shrink-guard.js'

export interface StaleObject {
  key: string
  reason: DeleteReason
}

/** The folder of `path` and each folder above it, with a trailing slash: `a/b/c.js` → `a/b/`, `a/`. */
function foldersOf(path: string): string[] {
  const folders: string[] = []
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) folders.push(path.slice(0, i + 1))
  return folders
}

export interface PruneInput {
  /** The deploy history to record, newest first, this deploy included (first). */
  history: ManifestDeploy[]
  prune: ResolvedPrune
  defaultMinShare: number
  site: string
  remote: RemoteState
  /** The manifest as read at the start. */
  read: ManifestRead
  manifestPath: string | false
  prefix: string
  strategy: Strategy
  counted: Counted
  concurrency: number
}

export interface PrunePlan {
  stale: StaleObject[]
  /** Why nothing may be deleted, or undefined. */
  refused?: string
  /** The guard found this deploy far smaller than the largest kept one. */
  shrunk: boolean
  /** Let through by a lowered `minShare` although it shrank: the guard's reference restarts here. */
  accepted: boolean
  /** Records and kept copies of releases leaving the kept window (core/release.ts), deleted after the commit. */
  releases?: string[]
}

/**
 * What prune deletes, or why it refuses: a manifest that exists but cannot be read (no history
 * to trust), another site's deploys in the history (two sites on one prefix would delete each
 * other's live files), a build that shrank (the shrink guard), more deletes than `maxDeletes`.
 * Objects under a folder that holds another deploy manifest (a site deployed under this one's
 * prefix) are never deleted. The dry run and the real run both ask this.
 */
export async function planPrune(input: PruneInput): Promise<PrunePlan> {
  const { history, prune, site, read } = input
  const none = { stale: [], shrunk: false, accepted: false }
  if (read.state === 'unreadable') {
    return {
      ...none,
      refused:
        `the deploy manifest ${input.remote.manifestKey} exists but cannot be read (${read.why}), so the history prune needs is unknown; nothing was deleted. ` +
        (read.newer ? 'Upgrade vite-plugin-collectfasta.' : 'Delete that object once to start a new history (the next deploy records one).'),
    }
  }
  const others = [...new Set(history.map((d) => d.site).filter((s): s is string => s !== undefined && s !== site))]
  if (others.length > 0) {
    const refused =
      `the deploy manifest records deploys of another site (${others.map((o) => JSON.stringify(o)).join(', ')}) under this prefix, ` +
      `and deleting what site ${JSON.stringify(site)} does not use would break it; nothing was deleted. ` +
      'Give each site its own prefix, or the same `site` if they are one site.'
    return { ...none, refused }
  }
  const [current, ...previous] = history
  if (!current) return none
  const guard = shrinkGuard(current, previous, prune.minShare, input.defaultMinShare)
  // The caps come before any request per path: a manifest (which others can write) of 500,000
  // stale paths costs its parse and a refusal, never a request each.
  let stale = await findStale(input)
  if (guard.shrunk && guard.reference) {
    const refused =
      `this deploy has ${current.paths.length} file(s), fewer than ${Math.round(prune.minShare * 100)}% of the ${guard.reference.paths.length} of the largest full deploy kept: ` +
      `the build looks broken (a failed step, a wrong outDir), so nothing was deleted${stale.length ? ` (${stale.length} stale object(s) kept)` : ''}, and every later deploy is compared with that one too. ` +
      'If the site really shrank, set prune.minShare: 0 for one deploy.'
    return { stale, refused, shrunk: true, accepted: false }
  }
  const tooMany = (count: number): PrunePlan => ({
    stale,
    shrunk: false,
    accepted: guard.accepted,
    refused:
      `${count} stale objects exceed prune.maxDeletes (${prune.maxDeletes}); nothing was deleted. ` +
      'Check that prefix and keepDeploys are what you mean, then raise maxDeletes for one deploy.',
  })
  // Without a listing the nested-site check asks one object per folder: cap first.
  if (stale.length > prune.maxDeletes && !input.strategy.list) return tooMany(stale.length)
  stale = await withoutNestedSites(stale, input)
  if (stale.length > prune.maxDeletes) return tooMany(stale.length)
  // Our own objects (records, kept copies) of releases leaving the window: not the site's files, not capped by maxDeletes.
  const releases = input.manifestPath ? await releaseGarbage(history, prune.keepDeploys, releaseFolder(input.prefix, input.manifestPath), input.strategy, input.counted, input.concurrency) : []
  return { stale, shrunk: false, accepted: guard.accepted, releases }
}

/**
 * Objects to delete: those of deploys older than the grace period that no kept deploy uses,
 * and (with `unknown`) those under the prefix that no recorded deploy wrote.
 */
async function findStale({ history, prune, remote, manifestPath, prefix, strategy }: PruneInput): Promise<StaleObject[]> {
  // Where two spellings name one file (a case-insensitive directory), a stale key that is a live
  // file under another spelling is kept: compare folded.
  const fold = strategy.caseInsensitive ? foldPath : (path: string) => path
  const kept = new Set<string>()
  for (const deploy of history.slice(0, prune.keepDeploys)) for (const path of deploy.paths) kept.add(fold(path))
  const stale = new Map<string, DeleteReason>()
  for (const deploy of history.slice(prune.keepDeploys)) {
    // A path the manifest should never hold (`..`, absolute) is never turned into a delete.
    for (const path of deploy.paths) if (!kept.has(fold(path)) && validatePath(path) === undefined) stale.set(prefix + path, 'stale')
  }
  if (prune.unknown) {
    const recorded = new Set(history.flatMap((d) => d.paths))
    for (const key of (await remote.listing())?.keys() ?? []) {
      const path = key.slice(prefix.length)
      // Our own folder (the manifest, release records, kept copies) is never a site's unknown file.
      if (!key.startsWith(prefix) || kept.has(fold(path)) || (manifestPath !== false && (fold(path) === fold(manifestPath) || fold(path).startsWith(fold(releaseFolder('', manifestPath))))) || stale.has(key)) continue
      stale.set(key, recorded.has(path) ? 'stale' : 'unknown')
    }
  }
  return [...stale].map(([key, reason]) => ({ key, reason }))
}

/**
 * Drops every stale key under a folder that holds a deploy manifest of its own (another site
 * deployed under this prefix). Bounded by one listing: the listing when the plan read it, else
 * one `stat` per folder while there are no more folders than the listing would have pages
 * (about one per 1,000 files of this deploy), else the listing. A strategy that cannot list is
 * asked one `stat` per folder, after `maxDeletes` capped the stale keys.
 */
async function withoutNestedSites(stale: StaleObject[], input: PruneInput): Promise<StaleObject[]> {
  const { manifestPath, prefix, strategy, remote } = input
  if (!manifestPath) return stale
  let listing = await remote.listingIfRead()
  const folders = new Set<string>()
  if (!listing) {
    const pages = strategy.list ? Math.ceil((input.history[0]?.paths.length ?? 0) / 1000) : Number.POSITIVE_INFINITY
    for (const item of stale) {
      for (const folder of foldersOf(item.key.slice(prefix.length))) folders.add(folder)
      if (folders.size > pages) break
    }
    if (folders.size === 0) return stale
    if (folders.size > pages || !strategy.stat) listing = await remote.listing()
  }
  const nested = new Set<string>()
  if (listing) {
    const suffix = `/${manifestPath}`
    for (const key of listing.keys()) {
      if (key.startsWith(prefix) && key.endsWith(suffix) && key.length > prefix.length + suffix.length) nested.add(key.slice(prefix.length, -manifestPath.length))
    }
  } else if (strategy.stat) {
    const stat = strategy.stat.bind(strategy)
    await runPool(
      [...folders],
      async (folder) => {
        if (await input.counted('stat', (c) => stat(prefix + folder + manifestPath, c))) nested.add(folder)
      },
      { limit: input.concurrency, stopOnError: true },
    )
  }
  if (nested.size === 0) return stale
  return stale.filter((item) => !foldersOf(item.key.slice(prefix.length)).some((folder) => nested.has(folder)))
}

/** The version of each object as the plan saw it: listed, or recorded in the manifest it read. */
async function knownVersions(run: PruneRun): Promise<Map<string, string>> {
  const versions = new Map<string, string>()
  const prefix = run.strategy.prefix ?? ''
  for (const [path, file] of Object.entries(run.recorded ?? {})) if (file.version) versions.set(prefix + path, file.version)
  for (const [key, object] of (await run.remote.listingIfRead()) ?? []) if (object.version) versions.set(key, object.version)
  return versions
}

export interface PruneRun {
  strategy: Strategy
  counted: Counted
  report: DeployReport
  remote: RemoteState
  concurrency: number
  /** Writes the manifest (the lease before the first delete). */
  writer: ManifestWriter
  /** The manifest as this deploy's mark wrote it, and its version: the lease is written on it. */
  mark: Written
  /** This deploy's id. */
  self: string | undefined
  /** The manifest the plan read: deploys it does not record marked the storage since. */
  before: RemoteManifest | undefined
  /** The files the manifest recorded when the plan read it. */
  recorded?: RemoteManifest['files']
  /** Other prunes' leases this run already waited out (they died): replaced, not waited for again. */
  waitedOut?: Set<string>
  signal?: AbortSignal
  warn(message: string): void
}

/** The lease write met another prune's lease: this one waits for it first. */
class OtherPrune extends Error {
  constructor(readonly pruning: ManifestPruning) {
    super('another prune holds the lease')
  }
}

/** What a prune did: whether it ran whole, and the lease it wrote (the commit is written on it). */
export interface PruneOutcome {
  whole: boolean
  lease?: Written
}

/**
 * Deletes what the plan found stale, under a lease (docs/guarantees.md, steps 7 and 8). First it
 * records itself in the manifest, conditionally on the version it last wrote, with the paths it
 * may delete: minus every path of every deploy that marked the storage since the plan read it (a
 * conflict reads again and spares them too). A deploy that marks later sees the lease and waits
 * for it before trusting a listing. Then, object by object, it spares what was written after
 * this deploy began (by the storage's clock, or another version than the plan saw) and what is
 * gone, and sends the deletes while its lease lasts. What was deleted is in the report even when
 * a delete fails, and a failure is loud (warning, summary, exit code).
 */
export async function executePrune(stale: StaleObject[], run: PruneRun): Promise<PruneOutcome> {
  const { strategy, report } = run
  if (stale.length === 0 || !strategy.delete) return { whole: true }
  const prefix = strategy.prefix ?? ''
  const fold = strategy.caseInsensitive ? foldPath : (path: string) => path
  let candidates = stale
  let began = performance.now()
  const waitedOut = run.waitedOut ?? new Set<string>()
  let base: { version: string | undefined; read: ManifestRead } = { version: run.mark.version, read: { state: 'ok', manifest: run.mark.manifest } }
  let lease: Written | undefined
  while (!lease) {
    began = performance.now()
    try {
      lease = await writeManifestConditionally(run.writer, base, (current) => {
        // One prune at a time. Another's lease stays until that prune commits or its lease runs
        // out: replaced while its prune still deletes, a deploy planning then would trust a listing
        // of what it is deleting.
        const other = current?.pruning
        if (other && other.id !== run.self && !waitedOut.has(other.id) && leaseMayRun(other)) throw new OtherPrune(other)
        // Spared: every path of a deploy since the plan, and of one that may still be writing (it may write pages after this lease).
        const writing = current ? withPending(current, run.self).filter((d) => mayBeWriting(d)) : []
        const spared = new Set([...deploysSince(current, run.before, run.self), ...writing].flatMap((d) => d.paths.map(fold)))
        candidates = stale.filter(({ key }) => !spared.has(fold(key.slice(prefix.length))))
        const pruning = { id: run.self ?? '', at: new Date().toISOString(), paths: candidates.map(({ key }) => key.slice(prefix.length)) }
        return { deploys: current?.deploys ?? [], files: current?.files ?? {}, ...(current?.pending ? { pending: current.pending } : {}), pruning }
      })
    } catch (error) {
      if (!(error instanceof OtherPrune)) throw error
      run.warn(`[collectfasta] Another deploy is pruning: this prune waits for it to finish (${Math.round(PRUNE_LEASE_MS / 1000)} s at most).`)
      if ((await waitForPrune(run.remote, error.pruning, run.signal ?? new AbortController().signal)) === 'expired') waitedOut.add(error.pruning.id)
      base = await run.remote.reread()
    }
  }
  const spared = stale.length - candidates.length
  if (spared > 0) run.warn(`[collectfasta] Prune kept ${spared} object(s) that a deploy running at the same time deploys.`)
  let doomed = candidates
  if (strategy.stat && doomed.length > 0) {
    const stat = strategy.stat.bind(strategy)
    const now = await run.remote.currentManifest()
    const current = new Map<string, RemoteObject | undefined>()
    await runPool(doomed, async ({ key }) => void current.set(key, await run.counted('stat', (c) => stat(key, c))), { limit: run.concurrency, stopOnError: true })
    // Written since this deploy began: later than the lease by the storage's clock, or (clocks of
    // one-second resolution) another version than the one the plan saw listed or recorded.
    const seen = await knownVersions(run)
    const newer = (object: RemoteObject) =>
      (object.modified !== undefined && now.modified !== undefined && object.modified > now.modified) ||
      (object.version !== undefined && seen.has(object.key) && seen.get(object.key) !== object.version)
    const before = doomed
    doomed = before.filter(({ key }) => {
      const object = current.get(key)
      return object !== undefined && !newer(object)
    })
    const newerOnes = before.filter(({ key }) => current.get(key) && !doomed.some((d) => d.key === key))
    if (newerOnes.length > 0) run.warn(`[collectfasta] Prune kept ${newerOnes.length} object(s) written after this deploy began: ${newerOnes.slice(0, 5).map((s) => s.key).join(', ')}.`)
  }
  if (doomed.length === 0) return { whole: true, lease }
  // A deploy that saw the lease waits PRUNE_LEASE_MS for it at most: no delete is sent in the second half.
  if (performance.now() - began > PRUNE_LEASE_MS / 2) {
    report.pruneFailed = `the prune's lease ran out before its deletes were sent (${doomed.length} stale object(s) kept); the next deploy prunes`
    run.warn(`[collectfasta] Prune stopped: ${report.pruneFailed}.`)
    return { whole: false, lease }
  }
  const remove = strategy.delete.bind(strategy)
  const keys = doomed.map((s) => s.key)
  const record = (deleted: readonly string[]) => {
    const done = new Set(deleted)
    report.deleted.push(...deleted)
    for (const item of doomed) if (done.has(item.key)) report.plan.push({ key: item.key, action: 'delete', reason: item.reason })
  }
  try {
    await run.counted('delete', (c) => remove(keys, c))
    record(keys)
    return { whole: true, lease }
  } catch (error) {
    const deleted = (error as { deleted?: unknown }).deleted
    record(Array.isArray(deleted) ? deleted.filter((k): k is string => typeof k === 'string' && keys.includes(k)) : [])
    report.pruneFailed = `deleting ${keys.length - (Array.isArray(deleted) ? deleted.length : 0)} stale object(s) failed: ${errorText(error)}`
    run.warn(`[collectfasta] Prune failed: ${report.pruneFailed}. The site is deployed; ${report.deleted.length} object(s) were deleted, the rest stay until the next deploy.`)
    return { whole: false, lease }
  }
}
