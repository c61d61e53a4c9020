import { foldPath, validatePath } from '../paths.js'
import { runPool } from '../pool.js'
import { type DeleteReason, type DeployReport, errorText } from '../report.js'
import type { RemoteObject, Strategy } from '../strategy.js'
import type { ManifestDeploy, ManifestRead, RemoteManifest } from './deploy-manifest.js'
import type { RemoteState } from './remote.js'
import type { Counted } from './requests.js'

import type { ResolvedPrune } from '../resolve.js'

export interface StaleObject {
  key: string
  reason: DeleteReason
}

/**
 * The shrink guard. The reference is the largest full deploy kept in the history that the guard
 * did not refuse, back to the newest deploy the user let through with a lowered `minShare`
 * (where the reference restarts). A deploy far smaller than it looks broken: `shrunk`, and it
 * never becomes a reference, so a broken build deployed again and again keeps being refused.
 */
export function shrinkGuard(
  current: ManifestDeploy,
  previous: ManifestDeploy[],
  minShare: number,
  defaultMinShare: number,
): { shrunk: boolean; accepted: boolean; reference?: ManifestDeploy } {
  if (current.partial) return { shrunk: false, accepted: false }
  let reference: ManifestDeploy | undefined
  for (const deploy of previous) {
    if (!deploy.partial && !deploy.shrunk && deploy.paths.length > (reference?.paths.length ?? -1)) reference = deploy
    if (deploy.accepted) break
  }
  if (!reference) return { shrunk: false, accepted: false }
  const size = current.paths.length
  if (size < reference.paths.length * minShare) return { shrunk: true, accepted: false, reference }
  return { shrunk: false, accepted: size < reference.paths.length * defaultMinShare, reference }
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
  const stale = await withoutNestedSites(await findStale(input), input)
  if (guard.shrunk && guard.reference) {
    const refused =
      `this deploy has ${current.paths.length} file(s), fewer than ${Math.round(prune.minShare * 100)}% of the ${guard.reference.paths.length} of the largest full deploy kept: ` +
      `the build looks broken (a failed step, a wrong outDir), so nothing was deleted${stale.length ? ` (${stale.length} stale object(s) kept)` : ''}, and every later deploy is compared with that one too. ` +
      'If the site really shrank, set prune.minShare: 0 for one deploy.'
    return { stale, refused, shrunk: true, accepted: false }
  }
  if (stale.length <= prune.maxDeletes) return { stale, shrunk: false, accepted: guard.accepted }
  return {
    stale,
    shrunk: false,
    accepted: guard.accepted,
    refused:
      `${stale.length} stale objects exceed prune.maxDeletes (${prune.maxDeletes}); nothing was deleted. ` +
      'Check that prefix and keepDeploys are what you mean, then raise maxDeletes for one deploy.',
  }
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
      if (!key.startsWith(prefix) || kept.has(fold(path)) || (manifestPath !== false && fold(path) === fold(manifestPath)) || stale.has(key)) continue
      stale.set(key, recorded.has(path) ? 'stale' : 'unknown')
    }
  }
  return [...stale].map(([key, reason]) => ({ key, reason }))
}

/**
 * Drops every stale key under a folder that holds a deploy manifest of its own (another site
 * deployed under this prefix): from the listing when there is one, else one `stat` per folder.
 */
async function withoutNestedSites(stale: StaleObject[], input: PruneInput): Promise<StaleObject[]> {
  const { manifestPath, prefix, strategy, remote } = input
  if (stale.length === 0 || !manifestPath) return stale
  const folders = new Set(stale.flatMap((item) => foldersOf(item.key.slice(prefix.length))))
  if (folders.size === 0) return stale
  const nested = new Set<string>()
  const listing = input.prune.unknown ? await remote.listing() : undefined
  if (listing) {
    for (const folder of folders) if (listing.has(prefix + folder + manifestPath)) nested.add(folder)
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
  /** The manifest version this deploy's mark wrote: prune runs only while it is still the stored one. */
  markVersion: string | undefined
  /** The files the manifest recorded when the plan read it. */
  recorded?: RemoteManifest['files']
  warn(message: string): void
}

/**
 * Deletes what the plan found stale, after checking once more right before: that nobody marked
 * or committed a deploy since this one marked the storage (else it skips: the other deploy's
 * files may be among them), and, object by object, that it was not written after the mark (by
 * the storage's clock) and still exists. Resolves with whether prune ran whole; what was deleted
 * is in the report even when a delete fails, and a failure is loud (warning, summary, exit code).
 */
export async function executePrune(stale: StaleObject[], run: PruneRun): Promise<boolean> {
  const { strategy, report } = run
  if (stale.length === 0 || !strategy.delete) return true
  const now = await run.remote.currentManifest()
  if (now.version !== run.markVersion) {
    report.pruneRefused = 'another deploy changed the storage while this one ran, so nothing was deleted (its files may be among the stale ones); the next deploy prunes.'
    run.warn(`[collectfasta] Prune skipped: ${report.pruneRefused}`)
    return false
  }
  let doomed = stale
  if (strategy.stat) {
    const stat = strategy.stat.bind(strategy)
    const current = new Map<string, RemoteObject | undefined>()
    await runPool(stale, async ({ key }) => void current.set(key, await run.counted('stat', (c) => stat(key, c))), { limit: run.concurrency, stopOnError: true })
    // Written since this deploy began: later than the mark by the storage's clock, or (clocks of
    // one-second resolution) another version than the one the plan saw listed or recorded.
    const seen = await knownVersions(run)
    const newer = (object: RemoteObject) =>
      (object.modified !== undefined && now.modified !== undefined && object.modified > now.modified) ||
      (object.version !== undefined && seen.has(object.key) && seen.get(object.key) !== object.version)
    doomed = stale.filter(({ key }) => {
      const object = current.get(key)
      return object !== undefined && !newer(object)
    })
    const spared = stale.filter(({ key }) => current.get(key) && !doomed.some((d) => d.key === key))
    if (spared.length > 0) run.warn(`[collectfasta] Prune kept ${spared.length} object(s) written after this deploy began: ${spared.slice(0, 5).map((s) => s.key).join(', ')}.`)
  }
  if (doomed.length === 0) return true
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
    return true
  } catch (error) {
    const deleted = (error as { deleted?: unknown }).deleted
    record(Array.isArray(deleted) ? deleted.filter((k): k is string => typeof k === 'string' && keys.includes(k)) : [])
    report.pruneFailed = `deleting ${keys.length - (Array.isArray(deleted) ? deleted.length : 0)} stale object(s) failed: ${errorText(error)}`
    run.warn(`[collectfasta] Prune failed: ${report.pruneFailed}. The site is deployed; ${report.deleted.length} object(s) were deleted, the rest stay until the next deploy.`)
    return false
  }
}
