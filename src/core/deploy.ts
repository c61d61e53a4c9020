import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DEFAULTS, type DeployOptions, resolveDryRun, resolvePrune, validateOptions } from '../options.js'
import { DeployError, type DeployReport, REASONS, consoleLogger, errorText, failureMessage, summarize } from '../report.js'
import type { RemoteObject, Strategy } from '../strategy.js'
import { ChecksumCache } from './cache.js'
import { compressionPlan } from './compress.js'
import { writeManifest } from './deploy-manifest.js'
import { RemoteState, diff } from './diff.js'
import type { Entry } from './entry.js'
import { findStale, prune, refusal } from './prune.js'
import { createCounter, emptyRequestCounts } from './requests.js'
import { scan } from './scan.js'
import { upload } from './upload.js'

/**
 * Deploys a directory: scans and hashes every file, skips what the cache (or, on a miss, the
 * deploy manifest and one listing of the storage) shows as stored, uploads the rest in groups
 * with HTML last, then prunes stale objects and writes the deploy manifest.
 */
export async function deploy(options: DeployOptions): Promise<DeployReport> {
  validateOptions(options)
  const started = performance.now()
  const logger = options.logger ?? consoleLogger
  const strategy: Strategy = options.strategy
  const prefix = strategy.prefix ?? ''
  const root = options.root ?? process.cwd()
  const outDir = resolve(root, options.outDir)
  const dryRun = resolveDryRun(options.dryRun)
  const concurrency = options.concurrency ?? strategy.concurrency ?? DEFAULTS.concurrency
  const manifestPath = options.manifest === undefined ? DEFAULTS.manifest : options.manifest
  const pruning = resolvePrune(options.prune)
  const stop = stopController(options, logger.warn)
  const requests = emptyRequestCounts()
  const counted = createCounter(requests, stop.signal)
  const report: DeployReport = { target: strategy.target, dryRun, uploaded: [], skipped: [], failed: [], pending: [], deleted: [], bytesUploaded: 0, durationMs: 0, requests, plan: [] }

  // 1. Scan: every file of the output, hashed, with its headers and upload group.
  if (!existsSync(outDir) || !statSync(outDir).isDirectory()) {
    throw new Error(`[collectfasta] The output directory ${outDir} does not exist. Build first, or fix \`outDir\`.`)
  }
  const compression = compressionPlan(options.compress)
  const entries = (
    await scan({
      outDir,
      prefix,
      inMemory: options.files,
      include: options.include,
      exclude: options.exclude,
      assetsDir: options.assetsDir ?? DEFAULTS.assetsDir,
      defaultCacheControl: options.defaultCacheControl ?? DEFAULTS.defaultCacheControl,
      rules: options.headers ?? [],
      compression: compression && { plan: compression, mode: strategy.compression ?? 'in-place' },
      warn: logger.warn,
    })
  ).filter((entry) => entry.path !== manifestPath)
  if (entries.length === 0) {
    const filtered = options.include || options.exclude ? ' that pass include/exclude' : ''
    throw new Error(`[collectfasta] Nothing to deploy: ${outDir} has no files${filtered}. Build first, or check outDir, include and exclude.`)
  }

  const cacheDir = resolve(root, options.cacheDir ?? DEFAULTS.cacheDir)
  if (!dryRun) ChecksumCache.ensureWritable(cacheDir)
  const cache = ChecksumCache.load(cacheDir, strategy.target, logger.warn)
  const record = (entry: Entry, stored?: RemoteObject) =>
    cache.set(entry.key, [entry.xxh64, entry.headersFingerprint, entry.size, entry.md5Hex ?? '', stored?.version ?? ''])
  const remote = new RemoteState(strategy, counted, manifestPath ? prefix + manifestPath : undefined, logger.warn)
  if (!dryRun && options.handleSignals) stop.listen()

  try {
    // 2. Diff: what the storage lacks or holds differently.
    const uploads = await diff(entries, {
      strategy,
      cache,
      remote,
      counted,
      concurrency,
      record,
      warn: logger.warn,
      force: options.force ?? DEFAULTS.force,
      trustRemoteManifest: options.trustRemoteManifest ?? DEFAULTS.trustRemoteManifest,
    })
    const planned = new Set(uploads.map((u) => u.entry.key))
    for (const entry of entries) if (!planned.has(entry.key)) report.skipped.push(entry.key)
    for (const { entry, reason } of uploads) report.plan.push({ key: entry.key, action: 'upload', reason })

    if (dryRun) {
      for (const { entry, reason } of uploads) report.uploaded.push({ key: entry.key, size: entry.body().byteLength, reason })
      report.bytesUploaded = report.uploaded.reduce((sum, u) => sum + u.size, 0)
      if (pruning && uploads.length > 0) {
        const stale = await findStale(entries, pruning, remote, manifestPath, prefix)
        // The dry run refuses what the real run would refuse.
        report.pruneRefused = refusal(stale.length, pruning)
        if (report.pruneRefused) logger.warn(`[collectfasta] ${report.pruneRefused}`)
        else {
          for (const item of stale) report.plan.push({ key: item.key, action: 'delete', reason: item.reason })
          report.deleted.push(...stale.map((item) => item.key))
        }
      }
      for (const item of report.plan) logger.info(`[collectfasta] would ${item.action} ${item.key} (${REASONS[item.reason]})`)
    } else {
      // 3. Upload in groups: hashed assets, other files, then HTML and manifests.
      await upload(uploads, { strategy, concurrency, counted, signal: stop.signal, report, record, progress: options.progress ?? DEFAULTS.progress })
      cache.retainOnly(new Set(entries.map((e) => e.key)))
      const succeeded = report.failed.length === 0 && report.pending.length === 0 && !stop.signal.aborted
      // 4. Prune and the deploy manifest, only after every upload succeeded. A deploy that
      // changed nothing writes nothing: zero requests.
      if (succeeded && uploads.length > 0) {
        const previous = await remote.manifest()
        const history = [{ at: new Date().toISOString(), paths: entries.map((e) => e.path) }, ...(previous?.deploys ?? [])]
        const keep = await prune(entries, pruning, history, DEFAULTS.prune.keepDeploys, { strategy, counted, report, remote, manifestPath, warn: logger.warn })
        if (manifestPath && strategy.get) await writeManifest(entries, keep, { strategy, counted, cache, report, key: prefix + manifestPath, logger })
      }
    }
  } finally {
    stop.unlisten()
    // 5. Save the cache, whatever happened: it holds only what the storage confirmed.
    if (!dryRun) {
      try {
        cache.save()
      } catch (error) {
        logger.warn(errorText(error))
      }
    }
    await strategy.dispose?.()
  }

  report.durationMs = Math.round(performance.now() - started)
  if (options.reportFile) {
    const file = resolve(root, options.reportFile)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  }
  logger.info(summarize(report))
  const failure = failureMessage(report, stop.signal, stop.caught)
  if (failure) throw new DeployError(failure, report)
  if (!dryRun && options.onDeployed) {
    try {
      await options.onDeployed(report)
    } catch (error) {
      throw new Error(`[collectfasta] The deploy succeeded, but \`onDeployed\` failed: ${errorText(error)}`, { cause: error })
    }
  }
  return report
}

/**
 * The deploy's own abort signal: the caller's `signal`, and (once `listen()` is called) SIGINT
 * or SIGTERM, on which no new upload starts and the cache is saved.
 */
function stopController(options: Pick<DeployOptions, 'signal'>, warn: (message: string) => void) {
  const controller = new AbortController()
  const outer = options.signal
  if (outer?.aborted) controller.abort(outer.reason)
  outer?.addEventListener('abort', () => controller.abort(outer.reason), { once: true })
  const state = { signal: controller.signal, caught: undefined as NodeJS.Signals | undefined, listen, unlisten }
  function onSignal(name: NodeJS.Signals) {
    state.caught = name
    warn(`[collectfasta] ${name}: finishing the uploads in flight and saving the cache (send it again to stop at once).`)
    controller.abort(new Error(name))
  }
  function listen() {
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  }
  function unlisten() {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  return state
}
