import { existsSync, realpathSync, statSync } from 'node:fs'
import { basename, dirname, join, sep } from 'node:path'
import { DEFAULTS, type DeployOptions } from '../options.js'
import { type ResolvedDeploy, resolveOptions } from '../resolve.js'
import { DeployError, type DeployReport, REASONS, errorText, failureMessage, summarize } from '../report.js'
import { githubActionsEnabled, group } from '../github-actions.js'
import { createBudget, runPool } from '../pool.js'
import type { RemoteObject } from '../strategy.js'
import { ChecksumCache } from './cache.js'
import { createCheckpoint } from './checkpoint.js'
import type { Upload } from './diff.js'
import type { Entry } from './entry.js'
import { execute } from './execute.js'
import { publishReport, runOnDeployed, stoppedRun } from './publish.js'
import { type Plan, deployId, makePlan, reportPlan } from './plan.js'
import { RemoteState } from './remote.js'
import { createCounter, emptyRequestCounts } from './requests.js'
import { scanSite } from './scan-site.js'
import { deployedPaths } from './scan.js'
import { guardServerCode } from '../site/guard.js'
import { cacheMayDecide } from './trust.js'
import { uploadedItem } from './upload.js'

/**
 * Deploys a directory as a plan, then a commit: resolve the options once, scan and hash every
 * file, plan (what to upload, what to delete, what the manifest will say, each with its reason;
 * reads only), then print the plan (dry run) or carry it out (mark the storage, upload in groups
 * with HTML last, prune, commit the manifest conditionally), and save the cache.
 */
export async function deploy(options: DeployOptions): Promise<DeployReport> {
  const started = performance.now()
  const o = resolveOptions(options)
  const { strategy, logger, dryRun } = o
  const stop = stopController(o.signal, logger.warn)
  const requests = emptyRequestCounts()
  // Bodies in memory for uploads (whole files and parts) share one bound, whatever the concurrency.
  const memory = createBudget(DEFAULTS.uploadMemory)
  const counted = createCounter(requests, stop.signal, o.concurrency, memory)
  const report: DeployReport = { target: strategy.target, dryRun, uploaded: [], skipped: [], failed: [], pending: [], deleted: [], bytesUploaded: 0, durationMs: 0, requests, plan: [] }
  const github = githubActionsEnabled(o.githubActions)
  const publish = () => publishReport(report, started, { reportFile: o.reportFile, github, logger })
  try {
    await steps()
  } catch (error) {
    throw stoppedRun(error, report, publish)
  } finally {
    // Whatever stopped the deploy (the first request goes out before the scan): release the client.
    await strategy.dispose?.()
  }

  publish()
  logger.info(summarize(report))
  const failure = failureMessage(report, stop.signal, stop.caught)
  if (failure) throw new DeployError(failure, report)
  if (!dryRun) await runOnDeployed(o.onDeployed, report, 'deploy')
  if (report.pruneFailed) throw new DeployError(`[collectfasta] The site is deployed, but prune failed: ${report.pruneFailed}`, report)
  return report

  async function steps(): Promise<void> {
    if (!existsSync(o.outDir) || !statSync(o.outDir).isDirectory()) {
      throw new Error(`[collectfasta] The output directory ${o.outDir} does not exist. Build first, or fix \`outDir\`.`)
    }
    // Server code (a server bundle beside the public half, `_worker.js`) is refused here, before
    // the first request, for every door alike.
    guardServerCode(o.outDir, deployedPaths(o.include, o.exclude), o.root)
    if (strategy.localDir !== undefined) refuseLocalDir(o.outDir, strategy.localDir, strategy.name)
    if (!dryRun) ChecksumCache.ensureWritable(o.cacheDir)
    const remote = new RemoteState(strategy, counted, o.manifestPath ? o.prefix + o.manifestPath : undefined, logger.warn)
    // The one cheap question of a warm deploy (has anyone changed the storage since this cache
    // vouched for it?), asked first so that it and the client's import overlap the scan.
    const probe = o.trustCache || !remote.canCheckManifest ? undefined : remote.manifestVersion()
    probe?.catch(() => {}) // awaited by the plan; this only keeps an early failure from going unhandled
    const cache = ChecksumCache.load(o.cacheDir, strategy.target, logger.warn)
    // A cache that cannot vouch sends the plan to the manifest and the listing: ask for both as
    // soon as that is known, so that their round trips (a LIST per 1,000 keys) overlap the scan.
    if (!o.force) {
      ;(probe ?? Promise.resolve(undefined)).then((seen) => {
        const trusted = cacheMayDecide({ trustCache: o.trustCache, verify: o.verify, canProbe: remote.canCheckManifest, canList: strategy.list !== undefined, seen, cacheVersion: cache.manifestVersion })
        if (trusted) return
        remote.read().catch(() => {}) // awaited by the plan, which reports a failure
        if (!o.trustRemoteManifest || o.verify) remote.listing().catch(() => {})
      }, () => {})
    }

    // 1. Scan: every file of the output, hashed, with its headers and upload group. A file is
    // likely uploaded, and kept from the scan, unless the cache or (a cold cache) the deploy
    // manifest, if it has arrived, records these bytes at its key.
    const entries = await scanSite(o, (key, path, size, xxh64) => {
      const cached = cache.get(key)
      const read = cached ? undefined : remote.readSoFar()
      const recorded = cached ? { size: cached[2], xxh64: cached[0] } : read?.state === 'ok' ? read.manifest.files[path] : undefined
      return recorded?.size !== size || (xxh64 !== undefined && recorded.xxh64 !== xxh64)
    })
    const record = (entry: Entry, stored?: RemoteObject) =>
      cache.set(entry.key, [entry.xxh64, entry.headersFingerprint, entry.size, entry.md5Hex ?? '', stored?.version ?? ''])
    if (!dryRun && o.handleSignals) stop.listen()
    const checkpoint = createCheckpoint(cache, logger.warn)
    const id = dryRun ? undefined : deployId()
    const planContext = { cache, remote, counted, probe, record, id }

    try {
      // 2. Plan: reads only.
      const plan = await makePlan(o, entries, planContext)
      checkDeterminism(entries, plan.uploads, report, logger.warn)
      reportPlan(plan, report)
      // 3. Print it, or carry it out.
      if (dryRun) await describe(plan, o, report, github)
      else {
        await execute(plan, o, {
          cache,
          remote,
          counted,
          memory,
          signal: stop.signal,
          report,
          checkpoint,
          record: (entry, stored) => {
            record(entry, stored)
            checkpoint.confirmed()
          },
          replan: async () => {
            const again = await makePlan(o, entries, { ...planContext, probe: remote.manifestVersion(), distrustCache: true })
            report.skipped.length = 0
            report.plan.length = 0
            reportPlan(again, report)
            return again
          },
        })
      }
    } finally {
      stop.unlisten()
      for (const entry of entries) entry.release(true) // temporary compressed copies of large files, and what the scan kept
      // 4. Save the cache, whatever happened: it holds only what the storage confirmed.
      if (!dryRun) {
        await checkpoint.settled()
        await cache.save().catch((error: unknown) => logger.warn(errorText(error)))
      }
    }
  }
}

/** The dry run: the plan's decisions in the report, and one line each, changing nothing. */
async function describe(plan: Plan, o: ResolvedDeploy, report: DeployReport, github: boolean): Promise<void> {
  await runPool(
    plan.uploads,
    async ({ entry, reason }, i) => {
      await entry.prepare(false) // the size is enough: no MD5
      report.uploaded[i] = uploadedItem(entry, reason) // in plan order
      entry.release()
    },
    { limit: o.concurrency },
  )
  report.bytesUploaded = report.uploaded.reduce((sum, u) => sum + u.size, 0)
  if (plan.prune?.refused) o.logger.warn(`[collectfasta] Prune refused: ${plan.prune.refused}`)
  else if (plan.prune) {
    for (const item of plan.prune.stale) report.plan.push({ key: item.key, action: 'delete', reason: item.reason })
    report.deleted.push(...plan.prune.stale.map((item) => item.key))
  }
  // Made as they are printed: a million lines are not held at once.
  function* lines() {
    for (const item of report.plan) yield `[collectfasta] would ${item.action} ${item.key} (${REASONS[item.reason]})`
    if (plan.manifest) yield `[collectfasta] would write the deploy manifest ${o.prefix}${o.manifestPath} (${plan.manifest === 'changed' ? 'this deploy changes the storage' : 'the stored one is missing, unreadable or left pending'})`
  }
  const count = report.plan.length + (plan.manifest ? 1 : 0)
  group(`collectfasta dry run: ${count} decision(s) for ${o.strategy.target}`, lines(), o.logger, github)
}

/**
 * The deploy's own abort signal: the caller's `signal`, and (once `listen()` is called) SIGINT
 * or SIGTERM, on which no new request starts, reads still waiting for their answer are
 * abandoned, uploads in flight finish (within their deadlines) and the cache is saved. A second
 * signal ends the process at once.
 */
function stopController(outer: AbortSignal | undefined, warn: (message: string) => void) {
  const controller = new AbortController()
  if (outer?.aborted) controller.abort(outer.reason)
  outer?.addEventListener('abort', () => controller.abort(outer.reason), { once: true })
  const state = { signal: controller.signal, caught: undefined as NodeJS.Signals | undefined, listen, unlisten }
  function onSignal(name: NodeJS.Signals) {
    if (state.caught) {
      warn(`[collectfasta] ${name} again: stopping now; the uploads in flight are abandoned (the cache keeps what the storage confirmed).`)
      unlisten()
      process.kill(process.pid, name) // no listener left: the default action ends the process
      return
    }
    state.caught = name
    warn(`[collectfasta] ${name}: stopping; no new request starts, the uploads in flight finish and the cache is saved (send it again to stop at once).`)
    controller.abort(new Error(name))
  }
  function listen() {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }
  function unlisten() {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  return state
}

/** Below this many unhashed files, most of them changing is normal (a small site's pages). */
const DETERMINISM_MIN_FILES = 20

/**
 * Records how many files without a content hash changed content since the last deploy, and
 * warns once when most did: a build that is not deterministic re-uploads them every time.
 */
function checkDeterminism(entries: Entry[], uploads: Upload[], report: DeployReport, warn: (message: string) => void): void {
  const unhashed = (entry: Entry) => !entry.headers.cacheControl?.includes('immutable')
  const of = entries.filter(unhashed).length
  const changed = uploads.filter((u) => u.reason === 'changed' && unhashed(u.entry))
  report.unhashedChanged = { changed: changed.length, of }
  if (of < DETERMINISM_MIN_FILES || changed.length * 2 <= of) return
  const examples = changed.slice(0, 3).map((u) => u.entry.path).join(', ')
  warn(
    `[collectfasta] ${changed.length} of ${of} files without a content hash in their name changed since the last deploy (e.g. ${examples}). ` +
      'A build that is not deterministic (timestamps, random ids, unstable ordering) re-uploads them every time: build the same commit twice and compare the outputs (diff -r) to find the cause.',
  )
}

/**
 * Refuses, before any write, a local target that cannot hold the site: a file where its
 * directory should be, or a directory that is the output directory, inside it or above it
 * (the deploy would write into, and prune, the files it reads).
 */
function refuseLocalDir(outDir: string, localDir: string, name: string): void {
  const file = fileInTheWay(localDir)
  if (file) throw new Error(`[collectfasta] [${name}] The target ${file} is a file, not a directory: choose a directory to deploy into, or move the file away.`)
  const overlap = localOverlap(outDir, localDir)
  if (overlap) {
    throw new Error(
      `[collectfasta] Refusing to deploy ${outDir} into ${localDir}: the target ${overlap} the directory being deployed, so the deploy would write into (and prune) the files it reads; choose a target directory outside it, and not above it.`,
    )
  }
}

/** A path with its links resolved, as far as it exists (the rest as written). */
function realPath(path: string): string {
  if (existsSync(path)) return realpathSync(path)
  const parent = dirname(path)
  return parent === path ? path : join(realPath(parent), basename(path))
}

/** How a local target directory overlaps the output directory (by their real paths), if it does. */
function localOverlap(outDir: string, target: string): string | undefined {
  const out = realPath(outDir)
  const dir = realPath(target)
  if (out === dir) return 'is'
  if (dir.startsWith(out.endsWith(sep) ? out : out + sep)) return 'is inside'
  if (out.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return 'contains'
  return undefined
}

/** The file (not a directory) at a local target directory or at its nearest existing parent, if there is one. */
function fileInTheWay(dir: string): string | undefined {
  let stat: ReturnType<typeof statSync>
  try {
    stat = statSync(dir)
  } catch (error) {
    // Missing (ENOENT), or under a file (ENOTDIR): look at its parent. Anything else is the strategy's to report.
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined
    const parent = dirname(dir)
    return parent === dir ? undefined : fileInTheWay(parent)
  }
  return stat?.isDirectory() === false ? dir : undefined
}
