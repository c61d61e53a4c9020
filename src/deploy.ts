import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ChecksumCache } from './cache.js'
import { type Entry, GROUP_HASHED, GROUP_LAST, GROUP_OTHER, buildManifest } from './manifest.js'
import { DEFAULTS, type DeployCommonOptions, validateOptions } from './options.js'
import { runPool } from './pool.js'
import { type Logger, consoleLogger, createProgress, summarize } from './report.js'
import type { RemoteObject, RequestKind, Strategy, StrategyContext } from './strategy.js'

export type UploadReason = 'new' | 'changed' | 'headers' | 'forced'

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
  deleted: string[]
  /** Bytes uploaded; in a dry run, the bytes that would be uploaded. */
  bytesUploaded: number
  durationMs: number
  /** Requests made to the storage: LIST pages, HEADs, uploads or parts, delete batches. */
  requests: Record<RequestKind, number>
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

/**
 * Deploys a directory: hashes every file in memory, skips what the cache (or, on a miss, one
 * listing of the storage) shows as stored, and uploads the rest in groups, HTML last.
 */
export async function deploy(options: DeployOptions): Promise<DeployReport> {
  validateOptions(options)
  const started = performance.now()
  const logger = options.logger ?? consoleLogger
  const strategy: Strategy = options.strategy
  const root = options.root ?? process.cwd()
  const outDir = resolve(root, options.outDir)
  const dryRun = resolveDryRun(options.dryRun)
  const concurrency = options.concurrency ?? strategy.concurrency ?? DEFAULTS.concurrency
  const signal = options.signal ?? new AbortController().signal
  const requests: Record<RequestKind, number> = { list: 0, stat: 0, upload: 0, delete: 0 }
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
  }

  if (!existsSync(outDir) || !statSync(outDir).isDirectory()) {
    throw new Error(`[collectfasta] The output directory ${outDir} does not exist. Build first, or fix \`outDir\`.`)
  }
  const entries = await buildManifest({
    outDir,
    prefix: strategy.prefix ?? '',
    inMemory: options.files,
    include: options.include,
    exclude: options.exclude,
    assetsDir: options.assetsDir ?? DEFAULTS.assetsDir,
    defaultCacheControl: options.defaultCacheControl ?? DEFAULTS.defaultCacheControl,
    rules: options.headers ?? DEFAULTS.headers,
    warn: logger.warn,
  })
  if (entries.length === 0) {
    logger.warn(`[collectfasta] Nothing to deploy: ${outDir} has no files that pass include/exclude.`)
  }

  const cache = ChecksumCache.load(resolve(root, options.cacheDir ?? DEFAULTS.cacheDir), strategy.target, logger.warn)
  const record = (entry: Entry) =>
    cache.set(entry.key, [entry.xxh64, entry.headersFingerprint, entry.size, entry.md5Hex ?? ''])

  try {
    const plan = await diff(entries, { strategy, cache, force: options.force ?? DEFAULTS.force, counted, concurrency, record })
    const planned = new Set(plan.map((p) => p.entry.key))
    for (const entry of entries) if (!planned.has(entry.key)) report.skipped.push(entry.key)

    if (dryRun) {
      for (const { entry, reason } of plan) {
        report.uploaded.push({ key: entry.key, size: entry.size, reason })
        report.bytesUploaded += entry.size
      }
    } else {
      await upload(plan, { strategy, concurrency, counted, signal, report, record, progress: options.progress ?? true })
      cache.retainOnly(new Set(entries.map((e) => e.key)))
    }
  } finally {
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
  return report
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
  force: boolean
  concurrency: number
  counted: ReturnType<typeof createCounter>
  record(entry: Entry): void
}

/** Decides what to upload: the cache first, the storage only for the keys the cache cannot answer. */
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

  const { strategy } = ctx
  let remote: Map<string, RemoteObject> | undefined
  if (strategy.list) {
    const list = strategy.list.bind(strategy)
    remote = await ctx.counted('list', async (c) => {
      const found = new Map<string, RemoteObject>()
      for await (const object of list(c)) found.set(object.key, object)
      return found
    })
  }
  const stat = strategy.stat?.bind(strategy)
  await runPool(unknown, ctx.concurrency, async (entry) => {
    let object = remote ? remote.get(entry.key) : undefined
    const askStat = async () => (stat ? ctx.counted('stat', (c) => stat(entry.key, c)) : object)
    if (!remote || object?.needsStat) object = await askStat()
    else if (object?.statOnMismatch && !sameContent(object, entry)) object = await askStat()
    if (!object) {
      plan.push({ entry, reason: 'new' })
      return
    }
    if (!sameContent(object, entry)) plan.push({ entry, reason: 'changed' })
    else if (object.headersFingerprint && object.headersFingerprint !== entry.headersFingerprint) {
      plan.push({ entry, reason: 'headers' })
    } else ctx.record(entry)
  })
  return plan
}

interface UploadContext {
  strategy: Strategy
  concurrency: number
  counted: ReturnType<typeof createCounter>
  signal: AbortSignal
  report: DeployReport
  progress: boolean
  record(entry: Entry): void
}

/** Uploads group by group; a failure in one group holds back every later group. */
async function upload(plan: Plan[], ctx: UploadContext): Promise<void> {
  const { strategy, report } = ctx
  const progress = createProgress(plan.length, ctx.progress)
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
          await ctx.counted('upload', (c) =>
            strategy.upload(
              {
                key: entry.key,
                body: entry.bytes,
                size: entry.size,
                xxh64: entry.xxh64,
                md5: entry.md5,
                headers: entry.headers,
                headersFingerprint: entry.headersFingerprint,
              },
              c,
            ),
          )
          ctx.record(entry)
          report.uploaded.push({ key: entry.key, size: entry.size, reason })
          report.bytesUploaded += entry.size
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
