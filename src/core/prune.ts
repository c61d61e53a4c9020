import { validatePath } from '../paths.js'
import { type DeleteReason, type DeployReport, errorText } from '../report.js'
import type { Strategy } from '../strategy.js'
import type { RemoteManifest } from './deploy-manifest.js'
import type { RemoteState } from './diff.js'
import type { Entry } from './entry.js'
import type { Counted } from './requests.js'

/** `prune` with every default filled in. */
export interface ResolvedPrune {
  keepDeploys: number
  maxDeletes: number
  unknown: boolean
}

export interface StaleObject {
  key: string
  reason: DeleteReason
}

/**
 * Objects to delete: those of deploys older than the grace period that no kept deploy uses,
 * and (with `unknown`) those under the prefix that no recorded deploy wrote.
 */
export async function findStale(
  entries: Entry[],
  prune: ResolvedPrune,
  remote: RemoteState,
  manifestPath: string | false,
  prefix: string,
): Promise<StaleObject[]> {
  const previous = (await remote.manifest())?.deploys ?? []
  const kept = new Set(entries.map((e) => e.path))
  for (const deploy of previous.slice(0, prune.keepDeploys - 1)) for (const path of deploy.paths) kept.add(path)
  const stale = new Map<string, DeleteReason>()
  for (const deploy of previous.slice(prune.keepDeploys - 1)) {
    // A path the manifest should never hold (`..`, absolute) is never turned into a delete.
    for (const path of deploy.paths) if (!kept.has(path) && validatePath(path) === undefined) stale.set(prefix + path, 'stale')
  }
  if (prune.unknown) {
    const recorded = new Set(previous.flatMap((d) => d.paths))
    for (const key of (await remote.listing())?.keys() ?? []) {
      const path = key.slice(prefix.length)
      if (!key.startsWith(prefix) || kept.has(path) || path === manifestPath || stale.has(key)) continue
      stale.set(key, recorded.has(path) ? 'stale' : 'unknown')
    }
  }
  return [...stale].map(([key, reason]) => ({ key, reason }))
}

/** Why a prune of `count` objects is refused, or `undefined` when it may go ahead. */
export function refusal(count: number, prune: ResolvedPrune): string | undefined {
  if (count <= prune.maxDeletes) return undefined
  return (
    `${count} stale objects exceed prune.maxDeletes (${prune.maxDeletes}); nothing was deleted. ` +
    'Check that prefix and keepDeploys are what you mean, then raise maxDeletes for one deploy.'
  )
}

export interface PruneContext {
  strategy: Strategy
  counted: Counted
  report: DeployReport
  remote: RemoteState
  manifestPath: string | false
  warn(message: string): void
}

/**
 * After a successful deploy: deletes what is stale (unless refused) and returns the deploy
 * history to record, newest first. Deploys beyond the grace period are forgotten only once
 * their files are gone, so a refused prune can still delete them later.
 */
export async function prune(
  entries: Entry[],
  options: ResolvedPrune | undefined,
  history: RemoteManifest['deploys'],
  keepWithoutPrune: number,
  ctx: PruneContext,
): Promise<RemoteManifest['deploys']> {
  if (!options) return history.slice(0, keepWithoutPrune)
  const { strategy, report } = ctx
  const stale = await findStale(entries, options, ctx.remote, ctx.manifestPath, strategy.prefix ?? '')
  report.pruneRefused = refusal(stale.length, options)
  if (report.pruneRefused) {
    ctx.warn(`[collectfasta] ${report.pruneRefused}`)
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
