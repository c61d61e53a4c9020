import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { ChecksumCache } from './cache.js'
import { compressionPlan } from './compress.js'
import { loadHasher, md5Hex } from './hash.js'
import { fingerprintHeaders } from './headers.js'
import { type Entry, GROUP_HASHED, GROUP_LAST, GROUP_OTHER, buildManifest, validatePath } from './manifest.js'
import { DEFAULTS, type DeployCommonOptions, type PruneOptions, validateOptions } from './options.js'
import { runPool } from './pool.js'
import { backoff, createThrottle, isThrottle } from './throttle.js'
import { MANIFEST_FORMAT, type RemoteManifest, parseManifest, serializeManifest } from './remote-manifest.js'
import { type Logger, consoleLogger, createProgress, summarize } from './report.js'
import type { RemoteObject, RequestKind, Strategy, StrategyContext, UploadFile } from './strategy.js'

export type UploadReason = 'new' | 'changed' | 'headers' | 'forced' | 'missing'
export type DeleteReason = 'stale' | 'unknown'

/** One decision of the deploy, with its reason: the dry-run plan, and the record of a real run. */
export type PlanItem =
  | { key: string; action: 'upload'; reason: UploadReason }
  | { key: string; action: 'delete'; reason: DeleteReason }

/** The deploy report: returned by `deploy()` and written to `reportFile`. A public contract. */
export interface DeployReport {
  target: string
  dryRun: boolean
  /** Uploaded objects; in a dry run, the objects that would be uploaded. */
  uploaded: { key: string; size: number; reason: UploadReason }[]
  /** Keys already stored with the same content and headers. */
  skipped: string[]
  failed: { key: string; error: string }[]
  /** Keys held back because an earlier group failed or the deploy was cancelled. */
  pending: string[]
  /** Deleted keys (`prune`); in a dry run, the keys that would be deleted. */
  deleted: string[]
  /** Bytes uploaded; in a dry run, the bytes that would be uploaded. */
  bytesUploaded: number
  durationMs: number
  /** Requests made to the storage: LIST pages, HEADs, GETs, uploads or parts, delete batches. */
  requests: Record<RequestKind, number>
  /** Every upload and delete decided, with its reason. */
  plan: PlanItem[]
  /** The deploy manifest written after the site's files, if one was written. */
  manifest?: { key: string; size: number }
  /** Why `prune` deleted nothing although there were stale objects. */
  pruneRefused?: string
}

export interface DeployOptions extends DeployCommonOptions {
  /** The directory to deploy. */
  outDir: string
  /** Files already in memory, by POSIX path relative to outDir; the rest is read from outDir. */
  files?: Map<string, Uint8Array>
  /** Vite's `build.assetsDir`: files under it have hashed names. @default 'assets' */
  assetsDir?: string
  /** Root for relative `cacheDir` and `reportFile`. @default process.cwd() */
  root?: string
  /** Cancels the deploy: no new upload starts; the cache keeps what was confirmed. */
  signal?: AbortSignal
  /** Where messages go. @default console */
  logger?: Logger
  /** Show a progress line on an interactive terminal when uploads take long. @default true */
  progress?: boolean
  /**
   * On SIGINT or SIGTERM, start no new upload, let those in flight finish, save the cache and
   * fail with a one-line account (a second signal ends the process at once). The plugin sets it.
   * @default false
   */
  handleSignals?: boolean
}

/** Thrown when some uploads failed; `report` says which. */
export class DeployError extends Error {
  constructor(
    message: string,
    readonly report: DeployReport,
  ) {
    super(message)
    this.name = 'DeployError'
  }
}

/** Fails before any upload if the cache could not be saved afterwards. */
function ensureWritable(dir: string): void {
  const probe = join(dir, `.write-test-${process.pid}`)
  try {
    mkdirSync(dir, { recursive: true })
    writeFileSync(probe, '')
    rmSync(probe)
  } catch (error) {
    throw new Error(
      `[collectfasta] The cache directory ${dir} is not writable (${errorText(error)}). Fix it or set \`cacheDir\`; nothing was uploaded.`,
    )
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function envFlag(name: string): boolean | undefined {
  const value = process.env[name]?.trim().toLowerCase()
  if (value === undefined || value === '') return undefined
  return !['0', 'false', 'no', 'off'].includes(value)
}

/** `dryRun` as the environment overrides it (`COLLECTFASTA_DRY_RUN=1`). */
export function resolveDryRun(option: boolean | undefined): boolean {
  return envFlag('COLLECTFASTA_DRY_RUN') ?? option ?? DEFAULTS.dryRun
}

/** `enabled` as the environment overrides it (`COLLECTFASTA_ENABLED=false`). */
export function resolveEnabled(option: boolean | undefined): boolean {
  return (envFlag('COLLECTFASTA_ENABLED') ?? true) && (option ?? DEFAULTS.enabled)
}

/** Counts a strategy's requests; a call that counts nothing of its own kind counts as one. */
function createCounter(requests: Record<RequestKind, number>, signal: AbortSignal) {
  return async <T>(kind: RequestKind, call: (ctx: StrategyContext) => Promise<T>): Promise<T> => {
    let counted = false
    const ctx: StrategyContext = {
      signal,
      count(k, n = 1) {
        requests[k] += n
        if (k === kind) counted = true
      },
    }
    try {
      return await call(ctx)
    } finally {
      if (!counted) requests[kind] += 1
    }
  }
}

interface Plan {
  entry: Entry
  reason: UploadReason
}

type Counted = ReturnType<typeof createCounter>

/**
 * What the storage holds, asked lazily and at most once per deploy: the remote manifest (one
 * GET) and the listing (one LIST per 1,000 keys).
 */
class RemoteState {
  private manifestRead?: Promise<RemoteManifest | undefined>
  private listingRead?: Promise<Map<string, RemoteObject> | undefined>

  constructor(
    private readonly strategy: Strategy,
    private readonly counted: Counted,
    private readonly manifestKey: string | undefined,
    private readonly warn: (message: string) => void,
  ) {}

  manifest(): Promise<RemoteManifest | undefined> {
    const { strategy, manifestKey } = this
    if (!manifestKey || !strategy.get) return Promise.resolve(undefined)
    const get = strategy.get.bind(strategy)
    this.manifestRead ??= this.counted('get', (c) => get(manifestKey, c)).then((bytes) => {
      if (!bytes) return undefined
      try {
        return parseManifest(bytes)
      } catch (error) {
        this.warn(`[collectfasta] Ignoring the remote manifest ${manifestKey}: ${errorText(error)}. Falling back to the listing.`)
        return undefined
      }
    })
    return this.manifestRead
  }

  listing(): Promise<Map<string, RemoteObject> | undefined> {
    const { strategy } = this
    if (!strategy.list) return Promise.resolve(undefined)
    const list = strategy.list.bind(strategy)
    this.listingRead ??= this.counted('list', async (c) => {
      const found = new Map<string, RemoteObject>()
      for await (const object of list(c)) found.set(object.key, object)
      return found
    })
    return this.listingRead
  }
}

function compressionFor(compress: DeployCommonOptions['compress'], strategy: Strategy) {
  const plan = compressionPlan(compress)
  return plan && { plan, mode: strategy.compression ?? 'in-place' }
}

function resolvePrune(prune: DeployCommonOptions['prune']): Required<PruneOptions> | undefined {
  if (!prune) return undefined
  const options = prune === true ? {} : prune
  return {
    keepDeploys: options.keepDeploys ?? DEFAULTS.keepDeploys,
    maxDeletes: options.maxDeletes ?? DEFAULTS.maxDeletes,
    unknown: options.unknown ?? false,
  }
}

/**
 * Deploys a directory: hashes every file in memory, skips what the cache (or, on a miss, the
 * remote manifest and one listing of the storage) shows as stored, uploads the rest in groups
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
  const controller = new AbortController()
  const signal = controller.signal
  if (options.signal?.aborted) controller.abort(options.signal.reason)
  options.signal?.addEventListener('abort', () => controller.abort(options.signal?.reason), { once: true })
  let caughtSignal: NodeJS.Signals | undefined
  const onSignal = (name: NodeJS.Signals) => {
    caughtSignal = name
    logger.warn(`[collectfasta] ${name}: finishing the uploads in flight and saving the cache (send it again to stop at once).`)
    controller.abort(new Error(name))
  }
  const manifestPath = options.manifest === undefined ? DEFAULTS.manifest : options.manifest
  const prune = resolvePrune(options.prune)
  const requests: Record<RequestKind, number> = { list: 0, stat: 0, get: 0, upload: 0, delete: 0 }
  const counted = createCounter(requests, signal)
  const report: DeployReport = {
    target: strategy.target,
    dryRun,
    uploaded: [],
    skipped: [],
    failed: [],
    pending: [],
    deleted: [],
    bytesUploaded: 0,
    durationMs: 0,
    requests,
    plan: [],
  }

  if (!existsSync(outDir) || !statSync(outDir).isDirectory()) {
    throw new Error(`[collectfasta] The output directory ${outDir} does not exist. Build first, or fix \`outDir\`.`)
  }
  const entries = (
    await buildManifest({
      outDir,
      prefix,
      inMemory: options.files,
      include: options.include,
      exclude: options.exclude,
      assetsDir: options.assetsDir ?? DEFAULTS.assetsDir,
      defaultCacheControl: options.defaultCacheControl ?? DEFAULTS.defaultCacheControl,
      rules: options.headers ?? DEFAULTS.headers,
      compression: compressionFor(options.compress, strategy),
      warn: logger.warn,
    })
  ).filter((entry) => entry.path !== manifestPath)
  if (entries.length === 0) {
    throw new Error(
      `[collectfasta] Nothing to deploy: ${outDir} has no files${options.include || options.exclude ? ' that pass include/exclude' : ''}. Build first, or check outDir, include and exclude.`,
    )
  }

  const cacheDir = resolve(root, options.cacheDir ?? DEFAULTS.cacheDir)
  if (!dryRun) ensureWritable(cacheDir)
  const cache = ChecksumCache.load(cacheDir, strategy.target, logger.warn)
  const record = (entry: Entry, stored?: RemoteObject) =>
    cache.set(entry.key, [entry.xxh64, entry.headersFingerprint, entry.size, entry.md5Hex ?? '', stored?.version ?? ''])
  const remote = new RemoteState(strategy, counted, manifestPath ? prefix + manifestPath : undefined, logger.warn)
  const handleSignals = options.handleSignals === true && !dryRun
  if (handleSignals) {
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  }

  try {
    const plan = await diff(entries, {
      strategy,
      cache,
      remote,
      force: options.force ?? DEFAULTS.force,
      trustRemoteManifest: options.trustRemoteManifest ?? DEFAULTS.trustRemoteManifest,
      counted,
      concurrency,
      record,
      warn: logger.warn,
    })
    const planned = new Set(plan.map((p) => p.entry.key))
    for (const entry of entries) if (!planned.has(entry.key)) report.skipped.push(entry.key)
    for (const { entry, reason } of plan) report.plan.push({ key: entry.key, action: 'upload', reason })

    if (dryRun) {
      for (const { entry, reason } of plan) {
        report.uploaded.push({ key: entry.key, size: entry.body().byteLength, reason })
        report.bytesUploaded += entry.body().byteLength
      }
      if (prune && plan.length > 0) {
        const stale = await findStale(entries, prune, remote, manifestPath, prefix)
        for (const item of stale) report.plan.push({ key: item.key, action: 'delete', reason: item.reason })
        report.deleted.push(...stale.map((item) => item.key))
      }
      for (const item of report.plan) logger.info(`[collectfasta] would ${item.action} ${item.key} (${REASONS[item.reason]})`)
    } else {
      await upload(plan, { strategy, concurrency, counted, signal, report, record, progress: options.progress ?? true })
      cache.retainOnly(new Set(entries.map((e) => e.key)))
      const succeeded = report.failed.length === 0 && report.pending.length === 0 && !signal.aborted
      // A deploy that changed nothing writes nothing: no prune, no manifest, zero requests.
      if (succeeded && plan.length > 0) {
        const previous = await remote.manifest()
        let history = [{ at: new Date().toISOString(), paths: entries.map((e) => e.path) }, ...(previous?.deploys ?? [])]
        if (prune) {
          const stale = await findStale(entries, prune, remote, manifestPath, prefix)
          if (stale.length > prune.maxDeletes) {
            report.pruneRefused =
              `${stale.length} stale objects exceed prune.maxDeletes (${prune.maxDeletes}); nothing was deleted. ` +
              'Check that prefix and keepDeploys are what you mean, then raise maxDeletes for one deploy.'
            logger.warn(`[collectfasta] ${report.pruneRefused}`)
          } else if (stale.length > 0) {
            await deleteStale(stale, { strategy, counted, report })
          }
          // Forget deploys beyond the grace period only once their files are gone.
          if (!report.pruneRefused) history = history.slice(0, prune.keepDeploys)
        } else {
          history = history.slice(0, DEFAULTS.keepDeploys)
        }
        if (manifestPath && strategy.get) {
          await writeManifest(entries, history, { strategy, counted, cache, report, key: prefix + manifestPath, logger })
        }
      }
    }
  } finally {
    if (handleSignals) {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
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
  if (signal.aborted && report.failed.length === 0) {
    const why = caughtSignal ?? errorText(signal.reason ?? 'aborted')
    throw new DeployError(
      `[collectfasta] Deploy cancelled (${why}): ${report.uploaded.length} uploaded, ${report.pending.length} not uploaded; the cache is saved, so the next run uploads only what is missing.`,
      report,
    )
  }
  if (report.failed.length > 0 || report.pending.length > 0) {
    const lines = report.failed.map((f) => `  ${f.key}: ${f.error}`)
    const held = report.pending.length
      ? `\n${report.pending.length} file(s) were held back so that HTML never points at missing files: ${report.pending.join(', ')}`
      : ''
    throw new DeployError(
      `[collectfasta] ${report.failed.length} upload(s) to ${strategy.target} failed:\n${lines.join('\n')}${held}\n` +
        'Every confirmed upload is cached: run the deploy again to upload only what is missing.',
      report,
    )
  }
  if (!dryRun && options.onDeployed) {
    try {
      await options.onDeployed(report)
    } catch (error) {
      throw new Error(`[collectfasta] The deploy succeeded, but \`onDeployed\` failed: ${errorText(error)}`, { cause: error })
    }
  }
  return report
}

const REASONS: Record<UploadReason | DeleteReason, string> = {
  new: 'new file',
  changed: 'content changed',
  headers: 'headers changed',
  forced: 'forced',
  missing: 'missing remotely',
  stale: 'not in the recent deploys kept by prune.keepDeploys',
  unknown: 'written by no recorded deploy (prune.unknown)',
}

/** Compares the best digest the storage gave: our own xxh64 if stored, else MD5. */
function sameContent(object: RemoteObject, entry: Entry): boolean {
  if (object.xxh64) return object.xxh64 === entry.xxh64
  if (object.md5) return object.md5 === entry.md5()
  return false
}

interface DiffContext {
  strategy: Strategy
  cache: ChecksumCache
  remote: RemoteState
  force: boolean
  trustRemoteManifest: boolean
  concurrency: number
  counted: Counted
  record(entry: Entry, stored?: RemoteObject): void
  warn(message: string): void
}

/**
 * Decides what to upload: the cache first; for what it cannot answer, the remote manifest and
 * one listing (or, trusted, the manifest alone); `stat` only where those cannot decide.
 */
async function diff(entries: Entry[], ctx: DiffContext): Promise<Plan[]> {
  if (ctx.force) return entries.map((entry) => ({ entry, reason: 'forced' }))
  const plan: Plan[] = []
  const unknown: Entry[] = []
  for (const entry of entries) {
    const cached = ctx.cache.get(entry.key)
    if (!cached) unknown.push(entry)
    else if (cached[0] !== entry.xxh64) plan.push({ entry, reason: 'changed' })
    else if (cached[1] !== entry.headersFingerprint) plan.push({ entry, reason: 'headers' })
  }
  if (unknown.length === 0) return plan

  const { strategy, remote } = ctx
  // The manifest and the listing are independent requests: ask both at once.
  const listed = ctx.trustRemoteManifest ? undefined : remote.listing()
  listed?.catch(() => {}) // awaited below; this only keeps an early failure from going unhandled
  const manifest = await remote.manifest()
  const prefix = strategy.prefix ?? ''
  let listing: Map<string, RemoteObject> | undefined
  if (ctx.trustRemoteManifest && manifest) {
    listing = new Map(Object.entries(manifest.files).map(([path, file]) => [prefix + path, { key: prefix + path, ...file }]))
  } else {
    if (ctx.trustRemoteManifest) ctx.warn('[collectfasta] trustRemoteManifest is set, but no remote manifest was found: listing the storage instead.')
    listing = await (listed ?? remote.listing())
  }
  const stat = strategy.stat?.bind(strategy)
  await runPool(unknown, ctx.concurrency, async (entry) => {
    const recorded = manifest?.files[entry.path]
    let object = listing?.get(entry.key)
    if (object && recorded && object.version && object.version === recorded.version) {
      // The stored object is the one the manifest describes: its digests and headers are known.
      object = { ...object, xxh64: recorded.xxh64, md5: recorded.md5, headersFingerprint: recorded.headers, needsStat: false, statOnMismatch: false }
    } else {
      const askStat = async () => (stat ? ctx.counted('stat', (c) => stat(entry.key, c)) : object)
      if (!listing || object?.needsStat) object = await askStat()
      else if (object?.statOnMismatch && !sameContent(object, entry)) object = await askStat()
    }
    if (!object) plan.push({ entry, reason: recorded ? 'missing' : 'new' })
    else if (!sameContent(object, entry)) plan.push({ entry, reason: 'changed' })
    else if (object.headersFingerprint && object.headersFingerprint !== entry.headersFingerprint) {
      plan.push({ entry, reason: 'headers' })
    } else ctx.record(entry, object)
  })
  return plan
}

interface UploadContext {
  strategy: Strategy
  concurrency: number
  counted: Counted
  signal: AbortSignal
  report: DeployReport
  progress: boolean
  record(entry: Entry, stored?: RemoteObject): void
}

function toUploadFile(entry: Entry): UploadFile {
  return {
    key: entry.key,
    body: entry.body(),
    size: entry.body().byteLength,
    xxh64: entry.xxh64,
    md5: entry.md5,
    headers: entry.headers,
    headersFingerprint: entry.headersFingerprint,
  }
}

/** Retries of one upload after a throttling answer, on top of the SDK's own retries. */
const THROTTLE_RETRIES = 5

/**
 * Uploads group by group; a failure in one group holds back every later group. Throttling
 * answers lower the concurrency and retry the upload after a jittered pause.
 */
async function upload(plan: Plan[], ctx: UploadContext): Promise<void> {
  const { strategy, report } = ctx
  const progress = createProgress(plan.length, ctx.progress)
  const throttle = createThrottle(ctx.concurrency)
  const attempt = async (entry: Entry): Promise<RemoteObject | undefined> => {
    for (let retry = 1; ; retry++) {
      await throttle.acquire()
      try {
        ensureUnchanged(entry)
        const stored = await ctx.counted('upload', (c) => strategy.upload(toUploadFile(entry), c))
        throttle.succeeded()
        return stored
      } catch (error) {
        if (!isThrottle(error) || retry > THROTTLE_RETRIES || ctx.signal.aborted) throw error
        throttle.slowDown()
      } finally {
        throttle.release()
      }
      await new Promise((resolve) => setTimeout(resolve, backoff(retry)))
    }
  }
  for (const group of [GROUP_HASHED, GROUP_OTHER, GROUP_LAST]) {
    const items = plan.filter((p) => p.entry.group === group)
    if (report.failed.length > 0 || ctx.signal.aborted) {
      report.pending.push(...items.map((p) => p.entry.key))
      continue
    }
    const started = new Set<Plan>()
    await runPool(
      items,
      ctx.concurrency,
      async (item) => {
        started.add(item)
        const { entry, reason } = item
        try {
          const stored = await attempt(entry)
          ctx.record(entry, stored)
          report.uploaded.push({ key: entry.key, size: entry.body().byteLength, reason })
          report.bytesUploaded += entry.body().byteLength
        } catch (error) {
          report.failed.push({ key: entry.key, error: errorText(error) })
        }
        progress.tick()
      },
      ctx.signal,
    )
    for (const item of items) if (!started.has(item)) report.pending.push(item.entry.key)
  }
  progress.done()
}

/** A file read from disk must still be what was hashed: never upload bytes under a stale hash. */
function ensureUnchanged(entry: Entry): void {
  if (!entry.source) return
  let now: { size: number; mtimeMs: number } | undefined
  try {
    now = statSync(entry.source.file)
  } catch {
    now = undefined
  }
  if (!now || now.size !== entry.source.size || now.mtimeMs !== entry.source.mtimeMs) {
    throw new Error(
      `${now ? 'changed' : 'disappeared'} on disk while deploying (something is still writing to outDir); not uploaded. Deploy again once the build has finished.`,
    )
  }
}

interface StaleObject {
  key: string
  reason: DeleteReason
}

/**
 * Objects to delete: those of deploys older than the grace period that no kept deploy uses,
 * and (with `unknown`) those under the prefix that no recorded deploy wrote.
 */
async function findStale(
  entries: Entry[],
  prune: Required<PruneOptions>,
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

async function deleteStale(stale: StaleObject[], ctx: { strategy: Strategy; counted: Counted; report: DeployReport }) {
  const { strategy, report } = ctx
  if (!strategy.delete) return
  const remove = strategy.delete.bind(strategy)
  const keys = stale.map((s) => s.key)
  try {
    await ctx.counted('delete', (c) => remove(keys, c))
    report.deleted.push(...keys)
    for (const item of stale) report.plan.push({ key: item.key, action: 'delete', reason: item.reason })
  } catch (error) {
    report.pruneRefused = `Deleting stale objects failed: ${errorText(error)}`
  }
}

/** Writes the deploy manifest, after every file of the site. Its failure is a warning, never a lie. */
async function writeManifest(
  entries: Entry[],
  deploys: RemoteManifest['deploys'],
  ctx: { strategy: Strategy; counted: Counted; cache: ChecksumCache; report: DeployReport; key: string; logger: Logger },
) {
  const files: RemoteManifest['files'] = {}
  for (const entry of entries) {
    const cached = ctx.cache.get(entry.key)
    files[entry.path] = {
      xxh64: entry.xxh64,
      headers: entry.headersFingerprint,
      size: entry.size,
      md5: cached?.[3] || entry.md5(),
      version: cached?.[4] ?? '',
    }
  }
  const body = serializeManifest({ format: MANIFEST_FORMAT, tool: 'vite-plugin-collectfasta', deploys, files })
  const hash = await loadHasher()
  const headers = { contentType: 'application/json; charset=utf-8', cacheControl: 'no-cache' }
  let md5: string | undefined
  const file: UploadFile = {
    key: ctx.key,
    body,
    size: body.byteLength,
    xxh64: hash(body),
    md5: () => (md5 ??= md5Hex(body)),
    headers,
    headersFingerprint: hash(Buffer.from(fingerprintHeaders(headers))),
  }
  try {
    await ctx.counted('upload', (c) => ctx.strategy.upload(file, c))
    ctx.report.manifest = { key: ctx.key, size: body.byteLength }
  } catch (error) {
    ctx.logger.warn(
      `[collectfasta] The site is deployed, but the manifest ${ctx.key} could not be written (${errorText(error)}). ` +
        'The next cold-cache deploy will list the storage instead.',
    )
  }
}
