import { validatePath } from '../paths.js'
import { type DeleteReason, type DeployReport, errorText } from '../report.js'
import type { Strategy } from '../strategy.js'
import type { RemoteManifest } from './deploy-manifest.js'
import type { RemoteState } from './diff.js'
import type { Counted } from './requests.js'

/** `prune` with every default filled in. */
export interface ResolvedPrune {
  keepDeploys: number
  maxDeletes: number
  unknown: boolean
  minShare: number
}

export interface StaleObject {
  key: string
  reason: DeleteReason
}

/**
 * Objects to delete: those of deploys older than the grace period that no kept deploy uses,
 * and (with `unknown`) those under the prefix that no recorded deploy wrote. `history` is the
 * deploy history newest first, this deploy included.
 */
async function findStale(
  history: RemoteManifest['deploys'],
  prune: ResolvedPrune,
  remote: RemoteState,
  manifestPath: string | false,
  prefix: string,
): Promise<StaleObject[]> {
  const kept = new Set<string>()
  for (const deploy of history.slice(0, prune.keepDeploys)) for (const path of deploy.paths) kept.add(path)
  const stale = new Map<string, DeleteReason>()
  for (const deploy of history.slice(prune.keepDeploys)) {
    // A path the manifest should never hold (`..`, absolute) is never turned into a delete.
    for (const path of deploy.paths) if (!kept.has(path) && validatePath(path) === undefined) stale.set(prefix + path, 'stale')
  }
  if (prune.unknown) {
    const recorded = new Set(history.flatMap((d) => d.paths))
    for (const key of (await remote.listing())?.keys() ?? []) {
      const path = key.slice(prefix.length)
      if (!key.startsWith(prefix) || kept.has(path) || path === manifestPath || stale.has(key)) continue
      stale.set(key, recorded.has(path) ? 'stale' : 'unknown')
    }
  }
  return [...stale].map(([key, reason]) => ({ key, reason }))
}

export interface PrunePlan {
  stale: StaleObject[]
  /** Why nothing may be deleted, or undefined. */
  refused?: string
}

/**
 * What prune would delete, or why it refuses: another site's deploys in the history (two sites
 * on one prefix would delete each other's live files), or more deletes than `maxDeletes`.
 * The dry run and the real run both ask this, so a dry run reports what the real run does.
 */
export async function planPrune(
  history: RemoteManifest['deploys'],
  prune: ResolvedPrune,
  site: string,
  remote: RemoteState,
  manifestPath: string | false,
  prefix: string,
): Promise<PrunePlan> {
  const others = [...new Set(history.map((d) => d.site).filter((s): s is string => s !== undefined && s !== site))]
  if (others.length > 0) {
    const refused =
      `the deploy manifest records deploys of another site (${others.map((o) => JSON.stringify(o)).join(', ')}) under this prefix, ` +
      `and deleting what site ${JSON.stringify(site)} does not use would break it; nothing was deleted. ` +
      'Give each site its own prefix, or the same `site` if they are one site.'
    return { stale: [], refused }
  }
  const stale = await findStale(history, prune, remote, manifestPath, prefix)
  // A build that looks broken (far fewer files than the last full deploy) must not delete the
  // live site. A partial deploy (include/exclude) is judged by the files it did look at: never.
  const [current, ...previous] = history
  const lastFull = previous.find((d) => !d.partial)
  if (current && !current.partial && lastFull && stale.length > 0 && current.paths.length < lastFull.paths.length * prune.minShare) {
    const refused =
      `this deploy has ${current.paths.length} file(s), fewer than ${Math.round(prune.minShare * 100)}% of the last full deploy's ${lastFull.paths.length}: ` +
      `the build looks broken (a failed step, a wrong outDir), so the ${stale.length} stale object(s) were not deleted. ` +
      'If the site really shrank, set prune.minShare: 0 for one deploy.'
    return { stale, refused }
  }
  if (stale.length <= prune.maxDeletes) return { stale }
  return {
    stale,
    refused:
      `${stale.length} stale objects exceed prune.maxDeletes (${prune.maxDeletes}); nothing was deleted. ` +
      'Check that prefix and keepDeploys are what you mean, then raise maxDeletes for one deploy.',
  }
}

export interface PruneContext {
  strategy: Strategy
  counted: Counted
  report: DeployReport
  remote: RemoteState
  manifestPath: string | false
  site: string
  warn(message: string): void
}

/**
 * After a successful deploy: deletes what is stale (unless refused) and returns the deploy
 * history to record, newest first. Deploys beyond the grace period are forgotten only once
 * their files are gone, so a refused prune can still delete them later.
 */
export async function prune(
  options: ResolvedPrune | undefined,
  history: RemoteManifest['deploys'],
  keepWithoutPrune: number,
  ctx: PruneContext,
): Promise<RemoteManifest['deploys']> {
  if (!options) return history.slice(0, keepWithoutPrune)
  const { strategy, report } = ctx
  const { stale, refused } = await planPrune(history, options, ctx.site, ctx.remote, ctx.manifestPath, strategy.prefix ?? '')
  if (refused) {
    report.pruneRefused = refused
    ctx.warn(`[collectfasta] Prune refused: ${refused}`)
    return history
  }
  if (stale.length > 0 && strategy.delete) {
    const remove = strategy.delete.bind(strategy)
    const keys = stale.map((s) => s.key)
    try {
      await ctx.counted('delete', (c) => remove(keys, c))
      report.deleted.push(...keys)
      for (const item of stale) report.plan.push({ key: item.key, action: 'delete', reason: item.reason })
    } catch (error) {
      report.pruneRefused = `Deleting stale objects failed: ${errorText(error)}`
      return history
    }
  }
  return history.slice(0, options.keepDeploys)
}
