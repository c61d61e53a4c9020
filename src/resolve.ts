import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { DEFAULTS } from './defaults.js'
import type { DeployCommonOptions, PruneOptions } from './options.js'

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

/** `prune` with every default filled in, or `undefined` when it is off. */
export function resolvePrune(prune: DeployCommonOptions['prune']): Required<PruneOptions> | undefined {
  if (!prune) return undefined
  const o = prune === true ? {} : prune
  return {
    keepDeploys: o.keepDeploys ?? DEFAULTS.prune.keepDeploys,
    maxDeletes: o.maxDeletes ?? DEFAULTS.prune.maxDeletes,
    unknown: o.unknown ?? DEFAULTS.prune.unknown,
    minShare: o.minShare ?? DEFAULTS.prune.minShare,
  }
}

/** `directoryIndex` with its defaults: `true` stores `dir/` for every `dir/index.html`. */
export function resolveDirectoryIndex(option: DeployCommonOptions['directoryIndex']): { slash: boolean; bare: boolean; html: boolean } | undefined {
  if (!option) return undefined
  const o = option === true ? {} : option
  return { slash: o.slash ?? true, bare: o.bare ?? false, html: o.html ?? false }
}
