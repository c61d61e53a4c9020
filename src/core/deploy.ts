import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DEFAULTS, type DeployOptions } from '../options.js'
import { validateOptions } from '../validate.js'
import { resolveDirectoryIndex, resolveDryRun, resolvePrune, resolveSite } from '../resolve.js'
import { DeployError, type DeployReport, REASONS, consoleLogger, errorText, failureMessage, summarize } from '../report.js'
import { githubActionsEnabled, group, reportToGithubActions } from '../github-actions.js'
import { pathRecord } from '../paths.js'
import { createBudget, runPool } from '../pool.js'
import type { RemoteObject, Strategy } from '../strategy.js'
import { ChecksumCache } from './cache.js'
import { createCheckpoint } from './checkpoint.js'
import { compressionPlan } from './compress.js'
import { type ManifestDeploy, type RemoteManifest, writeManifest } from './deploy-manifest.js'
import { RemoteState, type Upload, diff } from './diff.js'
import type { Entry } from './entry.js'
import { planPrune, prune } from './prune.js'
import { admitEntries } from './keys.js'
import { siteRedirects } from './redirects.js'
import { createCounter, emptyRequestCounts } from './requests.js'
import { scan } from './scan.js'
import { upload, uploadedItem } from './upload.js'

/**
 * Deploys a directory: scans and hashes every file, skips what the cache (or, on a miss, the
 * deploy manifest and one listing of the storage) shows as stored, uploads the rest in groups
 * with HTML last, then prunes stale objects and writes the deploy manifest.
 */
export async function deploy(options: DeployOptions): Promise<DeployReport> {
  validateOptions(options)
  const root = options.root ?? process.cwd()
  // One rule for every relative path in the options: the project root (`root`).
  options.strategy.bindRoot?.(root)
  const started = performance.now()
  const logger = options.logger ?? consoleLogger
  const strategy: Strategy = options.strategy
  const prefix = strategy.prefix ?? ''
  const outDir = resolve(root, options.outDir)
  const dryRun = resolveDryRun(options.dryRun)
  const concurrency = options.concurrency ?? strategy.concurrency ?? DEFAULTS.concurrency
  const manifestPath = options.manifest === undefined ? DEFAULTS.manifest : options.manifest
  const pruning = resolvePrune(options.prune)
  const stop = stopController(options, logger.warn)
  const requests = emptyRequestCounts()
  // Bodies in memory for uploads (whole files and parts) share one bound, whatever the concurrency.
  const memory = createBudget(DEFAULTS.uploadMemory)
  const counted = createCounter(requests, stop.signal, concurrency, memory)
  const report: DeployReport = { target: strategy.target, dryRun, uploaded: [], skipped: [], failed: [], pending: [], deleted: [], bytesUploaded: 0, durationMs: 0, requests, plan: [] }
  const github = githubActionsEnabled(options.githubActions)
  const writeReport = () => {
    report.durationMs = Math.round(performance.now() - started)
    if (!options.reportFile) return
    const file = resolve(root, options.reportFile)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  }
  try {
    await phases()
  } catch (error) {
    // Stopped before its end (bad input, refused credentials, a missing bucket): the report
    // still says why, in `failed` with the key '' (the deploy as a whole), and goes with the error.
    if (!(error instanceof DeployError)) {
      report.failed.push({ key: '', error: errorText(error) })
      writeReport()
      if (github) reportToGithubActions(report, logger)
      Object.assign(error as object, { report })
    }
    throw error
  } finally {
    // Whatever stopped the deploy (the first request goes out before the scan): release the client.
    await strategy.dispose?.()
  }

  writeReport()
  if (github) reportToGithubActions(report, logger)
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

  /** Steps 1 to 5; the report is filled in as they go. */
  async function phases(): Promise<void> {
    if (!existsSync(outDir) || !statSync(outDir).isDirectory()) {
      throw new Error(`[collectfasta] The output directory ${outDir} does not exist. Build first, or fix \`outDir\`.`)
    }
    const cacheDir = resolve(root, options.cacheDir ?? DEFAULTS.cacheDir)
    if (!dryRun) ChecksumCache.ensureWritable(cacheDir)
    const partial = Boolean(options.include || options.exclude)
    const trustCache = options.trustCache ?? DEFAULTS.trustCache
    const force = options.force ?? DEFAULTS.force
    const trustRemoteManifest = options.trustRemoteManifest ?? DEFAULTS.trustRemoteManifest
    const remote = new RemoteState(strategy, counted, manifestPath ? prefix + manifestPath : undefined, logger.warn)
    // The one cheap question of a warm deploy (has anyone deployed since this cache did?),
    // asked first so that it and the SDK import overlap the scan.
    const startVersion = trustCache || !remote.canCheckManifest ? undefined : remote.manifestVersion()
    startVersion?.catch(() => {}) // awaited below; this only keeps an early failure from going unhandled
    const cache = ChecksumCache.load(cacheDir, strategy.target, logger.warn)
    const cacheVouches = (seen: string | undefined) =>
      trustCache || (!remote.canCheckManifest && !strategy.list) || (seen !== undefined && seen !== '?' && seen === cache.manifestVersion)
    // A cache that cannot vouch sends the diff to the manifest and the listing: ask for both as
    // soon as that is known, so that their round trips (a LIST per 1,000 keys) overlap the scan.
    if (!trustCache && !force) {
      ;(startVersion ?? Promise.resolve(undefined)).then((seen) => {
        if (cacheVouches(seen)) return
        remote.manifest().catch(() => {}) // awaited by the diff, which reports a failure
        if (!trustRemoteManifest) remote.listing().catch(() => {})
      }, () => {})
    }

    // 1. Scan: every file of the output, hashed, with its headers and upload group.
    const compressionMode = strategy.compression ?? 'in-place'
    const compression = compressionPlan(options.compress, compressionMode)
    const scanned = await scan({
      outDir,
      prefix,
      inMemory: options.files,
      include: options.include,
      exclude: options.exclude,
      assetsDir: options.assetsDir ?? DEFAULTS.assetsDir,
      defaultCacheControl: options.defaultCacheControl ?? DEFAULTS.defaultCacheControl,
      rules: options.headers ?? [],
      compression: compression && { plan: compression, mode: compressionMode },
      directoryIndex: resolveDirectoryIndex(options.directoryIndex),
      warn: logger.warn,
    })
    if (strategy.websiteRedirects) scanned.push(...(await siteRedirects(options.redirects ?? [], outDir, prefix, logger.warn)))
    // Every entry's path and key checked, the manifest's path kept for the manifest, one entry per key.
    const entries = admitEntries(scanned, manifestPath, logger.warn)
    if (entries.length === 0) {
      const filtered = options.include || options.exclude ? ' that pass include/exclude' : ''
      throw new Error(`[collectfasta] Nothing to deploy: ${outDir} has no files${filtered}. Build first, or check outDir, include and exclude.`)
    }

    const site = resolveSite(options.site, root)
    const recordEntry = (entry: Entry, stored?: RemoteObject) =>
      cache.set(entry.key, [entry.xxh64, entry.headersFingerprint, entry.size, entry.md5Hex ?? '', stored?.version ?? ''])
    if (!dryRun && options.handleSignals) stop.listen()
    const checkpoint = createCheckpoint(cache, logger.warn)

    try {
      // 2. Diff: what the storage lacks or holds differently. The cache decides only while the
      // storage's manifest is the version it last vouched for (or the user trusts it outright; or
      // the storage can tell nothing at all).
      const seen = await startVersion
      const cacheTrusted = cacheVouches(seen)
      const uploads = await diff(entries, {
        cacheTrusted,
        strategy,
        cache,
        remote,
        counted,
        concurrency,
        record: recordEntry,
        warn: logger.warn,
        force,
        trustRemoteManifest,
      })
      checkDeterminism(entries, uploads, report, logger.warn)
      const planned = new Set(uploads.map((u) => u.entry.key))
      for (const entry of entries) if (!planned.has(entry.key)) report.skipped.push(entry.key)
      for (const { entry, reason } of uploads) report.plan.push({ key: entry.key, action: 'upload', reason })

      if (dryRun) {
        await runPool(
          uploads,
          async ({ entry, reason }, i) => {
            await entry.prepare(false) // the size is enough: no MD5
            report.uploaded[i] = uploadedItem(entry, reason) // in plan order
            entry.release()
          },
          { limit: concurrency },
        )
        report.bytesUploaded = report.uploaded.reduce((sum, u) => sum + u.size, 0)
        if (pruning && uploads.length > 0) {
          const previous = await remote.manifest()
          const history = [thisDeploy(entries, previous, site, partial), ...(previous?.deploys ?? [])]
          // The dry run refuses what the real run would refuse.
          const { stale, refused } = await planPrune(history, pruning, site, remote, manifestPath, prefix)
          report.pruneRefused = refused
          if (refused) logger.warn(`[collectfasta] Prune refused: ${refused}`)
          else {
            for (const item of stale) report.plan.push({ key: item.key, action: 'delete', reason: item.reason })
            report.deleted.push(...stale.map((item) => item.key))
          }
        }
        const lines = report.plan.map((item) => `[collectfasta] would ${item.action} ${item.key} (${REASONS[item.reason]})`)
        group(`collectfasta dry run: ${lines.length} decision(s) for ${strategy.target}`, lines, logger, github)
      } else {
        // 3. Upload in groups: hashed assets, other files, then HTML and manifests.
        const record = (entry: Entry, stored?: RemoteObject) => {
          recordEntry(entry, stored)
          checkpoint.confirmed()
        }
        // The deploy history is needed after the uploads: fetch it during them (one round trip less).
        if (uploads.length > 0) remote.manifest().catch(() => {})
        await upload(uploads, { strategy, concurrency, memory, counted, signal: stop.signal, report, record, progress: options.progress ?? DEFAULTS.progress })
        await checkpoint.settled()
        if (!partial) cache.retainOnly(new Set(entries.map((e) => e.key)))
        const succeeded = report.failed.length === 0 && report.pending.length === 0 && !stop.signal.aborted
        if (succeeded && uploads.length === 0 && !cacheTrusted && seen !== undefined && seen !== '?') {
          // Every file was checked against the storage and found stored: vouch for what was seen.
          cache.manifestVersion = seen
        }
        // 4. Prune and the deploy manifest, only after every upload succeeded. A deploy that
        // changed nothing writes nothing.
        if (succeeded && uploads.length > 0) {
          const previous = await remote.manifest()
          const history = [thisDeploy(entries, previous, site, partial), ...(previous?.deploys ?? [])]
          const keep = await prune(pruning, history, DEFAULTS.prune.keepDeploys, { strategy, counted, report, remote, manifestPath, site, warn: logger.warn })
          if (manifestPath && strategy.get) {
            // Someone else deployed while this deploy ran if the manifest changed since it began:
            // then neither deploy's cache may vouch for the storage (the next run checks it).
            const interleaved = !trustCache && (await remote.currentManifestVersion()) !== seen
            const carried = partial ? carriedFiles(previous, entries) : {}
            const written = await writeManifest(entries, keep, carried, { strategy, counted, cache, report, key: prefix + manifestPath, logger })
            cache.manifestVersion = interleaved ? undefined : written
          }
        }
      }
    } finally {
      stop.unlisten()
      for (const entry of entries) entry.release() // temporary compressed copies of large files
      // 5. Save the cache, whatever happened: it holds only what the storage confirmed.
      if (!dryRun) {
        await checkpoint.settled()
        await cache.save().catch((error: unknown) => logger.warn(errorText(error)))
      }
    }
  }
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

/** This deploy's line in the history; a partial one also keeps the last deploy's paths. */
function thisDeploy(entries: Entry[], previous: RemoteManifest | undefined, site: string, partial: boolean): ManifestDeploy {
  const paths = entries.map((e) => e.path)
  if (!partial) return { at: new Date().toISOString(), site, paths }
  const all = new Set([...(previous?.deploys[0]?.paths ?? []), ...paths])
  return { at: new Date().toISOString(), site, paths: [...all], partial: true }
}

/** The previous manifest's files that a partial deploy did not look at: they are still stored. */
function carriedFiles(previous: RemoteManifest | undefined, entries: Entry[]): RemoteManifest['files'] {
  const files = pathRecord(previous?.files)
  for (const entry of entries) delete files[entry.path]
  return files
}

