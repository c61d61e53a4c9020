import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { type ResolvedCompress, resolveCompress } from './core/compress.js'
import { DEFAULTS } from './defaults.js'
import type { CollectfastaOptions, DeployCommonOptions, DeployOptions, PruneOptions } from './options.js'
import { type Logger, consoleLogger } from './report.js'
import type { Strategy } from './strategy.js'
import { validateOptions } from './validate.js'

/** Turning options (and the environment) into the values a deploy runs with. */

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

/**
 * The project's root: the nearest folder at or above `from` that has a package.json. Relative
 * `cacheDir` and `reportFile` resolve against it, whatever inner root a framework gives Vite.
 */
export function projectRoot(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return resolve(from)
  }
}

/** `site` as given, else the project's package name: stable across runs and runners. */
export function resolveSite(option: string | undefined, root: string): string {
  if (option !== undefined) return option
  try {
    const { name } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: unknown }
    if (typeof name === 'string' && name !== '') return name
  } catch {}
  return 'site'
}

/** `prune` with every default filled in. */
export type ResolvedPrune = Required<PruneOptions>

/** `prune` with every default filled in, or `undefined` when it is off. */
export function resolvePrune(prune: DeployCommonOptions['prune']): ResolvedPrune | undefined {
  if (!prune) return undefined
  const o = prune === true ? {} : prune
  return {
    keepDeploys: o.keepDeploys ?? DEFAULTS.prune.keepDeploys,
    maxDeletes: o.maxDeletes ?? DEFAULTS.prune.maxDeletes,
    unknown: o.unknown ?? DEFAULTS.prune.unknown,
    minShare: o.minShare ?? DEFAULTS.prune.minShare,
  }
}

/** Which clean URLs `directoryIndex` stores: `dir/` and `dir` for `dir/index.html`, `page` for `page.html`. */
export type ResolvedDirectoryIndex = Required<Exclude<NonNullable<DeployCommonOptions['directoryIndex']>, boolean>>

/** `directoryIndex` with its defaults: `true` stores `dir/` for every `dir/index.html`. */
export function resolveDirectoryIndex(option: DeployCommonOptions['directoryIndex']): ResolvedDirectoryIndex | undefined {
  if (!option) return undefined
  const o = option === true ? {} : option
  return { slash: o.slash ?? DEFAULTS.directoryIndex.slash, bare: o.bare ?? DEFAULTS.directoryIndex.bare, html: o.html ?? DEFAULTS.directoryIndex.html }
}

/** Every option of a deploy with its default filled in: what every phase reads, once. */
export interface ResolvedDeploy {
  root: string
  outDir: string
  strategy: Strategy
  prefix: string
  dryRun: boolean
  concurrency: number
  cacheDir: string
  files: Map<string, Uint8Array> | undefined
  include: string | string[] | undefined
  exclude: string | string[] | undefined
  /** Run with `include`: it looks at some files only (`exclude` filters the site, it is not partial). */
  partial: boolean
  force: boolean
  trustCache: boolean
  trustRemoteManifest: boolean
  verify: boolean
  /** The manifest's path under the prefix, or false. */
  manifestPath: string | false
  site: string
  /** The user's label for this deploy's release. */
  release: string | undefined
  prune: ResolvedPrune | undefined
  compress: ResolvedCompress | undefined
  /** How the strategy stores compressed bytes: in place of the original (object storages), or beside it. */
  compressionMode: 'in-place' | 'siblings'
  directoryIndex: ResolvedDirectoryIndex | undefined
  redirects: { from: string; to: string }[]
  headers: NonNullable<DeployCommonOptions['headers']>
  defaultCacheControl: string
  assetsDir: string
  reportFile: string | undefined
  githubActions: boolean | undefined
  onDeployed: DeployCommonOptions['onDeployed']
  signal: AbortSignal | undefined
  logger: Logger
  progress: boolean
  handleSignals: boolean
}

/** Checks `options` and resolves them once into one fully defaulted object. */
export function resolveOptions(options: DeployOptions): ResolvedDeploy {
  validateOptions(options)
  const root = options.root ?? process.cwd()
  // One rule for every relative path in the options: the project root (`root`).
  options.strategy.bindRoot?.(root)
  const strategy = options.strategy
  return {
    root,
    outDir: resolve(root, options.outDir),
    strategy,
    prefix: strategy.prefix ?? '',
    dryRun: resolveDryRun(options.dryRun),
    concurrency: options.concurrency ?? strategy.concurrency ?? DEFAULTS.concurrency,
    cacheDir: resolve(root, options.cacheDir ?? DEFAULTS.cacheDir),
    files: options.files,
    include: options.include,
    exclude: options.exclude,
    partial: options.include !== undefined,
    force: options.force ?? DEFAULTS.force,
    trustCache: options.trustCache ?? DEFAULTS.trustCache,
    trustRemoteManifest: options.trustRemoteManifest ?? DEFAULTS.trustRemoteManifest,
    verify: options.verify ?? DEFAULTS.verify,
    manifestPath: options.manifest === undefined ? DEFAULTS.manifest : options.manifest,
    site: resolveSite(options.site, root),
    release: options.release,
    prune: resolvePrune(options.prune),
    compress: resolveCompress(options.compress, strategy.compression ?? 'in-place'),
    compressionMode: strategy.compression ?? 'in-place',
    directoryIndex: resolveDirectoryIndex(options.directoryIndex),
    redirects: options.redirects ?? [],
    headers: options.headers ?? [],
    defaultCacheControl: options.defaultCacheControl ?? DEFAULTS.defaultCacheControl,
    assetsDir: options.assetsDir ?? DEFAULTS.assetsDir,
    reportFile: options.reportFile === undefined ? undefined : resolve(root, options.reportFile),
    githubActions: options.githubActions,
    onDeployed: options.onDeployed,
    signal: options.signal,
    logger: options.logger ?? consoleLogger,
    progress: options.progress ?? DEFAULTS.progress,
    handleSignals: options.handleSignals ?? false,
  }
}

/** The plugin's own options with their defaults: what its hooks read, once. */
export interface ResolvedPluginOptions {
  enabled: boolean
  source: NonNullable<CollectfastaOptions['source']>
  watch: boolean
  notDeployed: NonNullable<CollectfastaOptions['notDeployed']>
  /** Vite's default `build.assetsDir`, for a plain Rollup build. */
  assetsDir: string
}

/** Checks the plugin's options and resolves its own once (the deploy's are resolved by `resolveOptions`). */
export function resolvePluginOptions(options: CollectfastaOptions): ResolvedPluginOptions {
  validateOptions(options)
  return {
    enabled: resolveEnabled(options.enabled),
    source: options.source ?? DEFAULTS.source,
    watch: options.watch ?? DEFAULTS.watch,
    notDeployed: options.notDeployed ?? DEFAULTS.notDeployed,
    assetsDir: DEFAULTS.assetsDir,
  }
}
