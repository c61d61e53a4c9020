import { DEFAULTS } from '../defaults.js'
import { foldPath, printable } from '../paths.js'
import { type Logger, consoleLogger, errorText } from '../report.js'
import type { RequestKind, Strategy } from '../strategy.js'
import { readManifest } from './deploy-manifest.js'
import { createCounter, emptyRequestCounts } from './requests.js'

/** `remove()`'s options. */
export interface RemoveOptions {
  /** Where the site is. It needs `get`, `list` and `delete`, as every built-in strategy has. */
  strategy: Strategy
  /**
   * List what would be deleted, and delete nothing.
   * @default false
   */
  dryRun?: boolean
  /**
   * The deploy manifest's path under the prefix: the one the site was deployed with.
   * @default '.collectfasta/manifest.json'
   */
  manifest?: string
  /**
   * Asked with the keys before anything is deleted (the CLI asks on a terminal); resolving
   * `false` deletes nothing. Without it, nothing is asked.
   */
  confirm?: (keys: string[]) => Promise<boolean>
  /** @default console */
  logger?: Logger
}

/** What `remove()` deleted (or, in a dry run, would delete). A public contract. */
export interface RemoveReport {
  target: string
  dryRun: boolean
  /** Full keys, the deploy manifest last. Empty when the confirmation was declined. */
  deleted: string[]
  /** Whether the confirmation was declined: nothing was deleted. */
  declined?: true
  durationMs: number
  requests: Record<RequestKind, number>
}

/** A target `remove` will not touch: exit 2 from the CLI, nothing deleted. */
export class RemoveRefused extends Error {
  readonly code = 'ERR_COLLECTFASTA_REFUSED'
}

const OWN_FOLDER = '.collectfasta/'
/** A deploy manifest's name wherever a site keeps it (the default path, at any depth). */
const MANIFEST_NAME = `/${DEFAULTS.manifest}`

/**
 * Takes a site down: deletes the keys its deploy manifest says this tool wrote (every path of
 * every deploy in its history, its files, a pending deploy's, a prune's), everything under the
 * prefix's `.collectfasta/` (kept copies, release records), and the manifest itself last, so a
 * remove that stopped half-way can run again. Nothing else under the prefix is deleted. It
 * refuses, before any delete, a target without a deploy manifest and a prefix holding another
 * site's deploy manifest below it.
 */
export async function remove(options: RemoveOptions): Promise<RemoveReport> {
  const started = performance.now()
  const { strategy } = options
  const logger = options.logger ?? consoleLogger
  const { get, list, delete: del } = strategy
  if (!get || !list || !del) {
    throw new TypeError(`[collectfasta] \`remove\` needs a strategy that can get, list and delete, and ${strategy.name} lacks ${[!get && 'get', !list && 'list', !del && 'delete'].filter(Boolean).join(', ')}.`)
  }
  const prefix = strategy.prefix ?? ''
  const manifestPath = options.manifest ?? DEFAULTS.manifest
  const manifestKey = prefix + manifestPath
  const requests = emptyRequestCounts()
  const counted = createCounter(requests, new AbortController().signal)
  const where = printable(strategy.target)
  try {
    const read = readManifest(await counted('get', (ctx) => get.call(strategy, manifestKey, ctx)), logger.warn)
    if (read.state === 'absent') {
      throw new RemoveRefused(`[collectfasta] Nothing this tool deployed is at ${where}: there is no deploy manifest (${printable(manifestPath)}) there, so nothing was deleted. Check --to.`)
    }
    if (read.state === 'unreadable') {
      throw new RemoveRefused(`[collectfasta] The deploy manifest at ${where}${printable(manifestPath)} cannot be read (${read.why}), so what this tool wrote there is unknown and nothing was deleted.`)
    }
    const stored = await counted('list', async (ctx) => {
      const keys: string[] = []
      for await (const object of list.call(strategy, ctx)) keys.push(object.key)
      return keys
    })
    const relative = stored.filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length))
    const nested = relative.find((path) => !path.startsWith(OWN_FOLDER) && `/${path}`.endsWith(MANIFEST_NAME))
    if (nested !== undefined) {
      throw new RemoveRefused(
        `[collectfasta] ${where} holds another site's deploy manifest below it (${printable(prefix + nested)}), so nothing was deleted: remove that site with its own --to first, or remove this one by a prefix that does not contain it.`,
      )
    }
    const { manifest } = read
    const fold = strategy.caseInsensitive ? foldPath : (path: string) => path
    const ours = new Set([...manifest.deploys, ...(manifest.pending ? [manifest.pending] : []), ...(manifest.pruning ? [manifest.pruning] : [])].flatMap((d) => d.paths).concat(Object.keys(manifest.files)).map(fold))
    // What is stored and ours: the site's files, then the tool's own folder, the manifest last.
    const site = relative.filter((path) => !path.startsWith(OWN_FOLDER) && ours.has(fold(path)))
    const own = relative.filter((path) => path.startsWith(OWN_FOLDER) && path !== manifestPath)
    const keys = [...site, ...own, manifestPath].map((path) => prefix + path)
    const report: RemoveReport = { target: strategy.target, dryRun: options.dryRun === true, deleted: [], durationMs: 0, requests }
    if (options.dryRun) {
      logger.info(`[collectfasta] ${where} (dry run): would delete ${keys.length} object(s):\n${keys.map((key) => `  delete  ${printable(key)}`).join('\n')}`)
      report.deleted = keys
    } else if (options.confirm && !(await options.confirm(keys))) {
      report.declined = true
    } else {
      for (const group of [keys.slice(0, site.length), keys.slice(site.length, -1), keys.slice(-1)]) {
        if (group.length === 0) continue
        try {
          await counted('delete', (ctx) => del.call(strategy, group, ctx))
        } catch (error) {
          const deleted = (error as { deleted?: string[] }).deleted ?? []
          report.deleted.push(...deleted)
          throw Object.assign(new Error(`[collectfasta] ${where}: deleted ${report.deleted.length} of ${keys.length} object(s), then: ${errorText(error).replace(/\.?$/, '.')} Run remove again to finish.`, { cause: error }), { report })
        }
        report.deleted.push(...group)
      }
      logger.info(`[collectfasta] ${where}: removed ${keys.length} object(s) (${site.length} of the site), ${Object.values(requests).reduce((a, b) => a + b, 0)} request(s).`)
    }
    report.durationMs = Math.round(performance.now() - started)
    return report
  } finally {
    await strategy.dispose?.()
  }
}
