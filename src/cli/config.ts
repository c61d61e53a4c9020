import { VITE_OUT_DIR } from '../site/layout.js'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { DeployCommonOptions } from '../options.js'
import type { Strategy } from '../strategy.js'
import { UsageError } from './targets.js'

/** `collectfasta.config.*`: the options of `deploy()` for the CLI. */
export interface CollectfastaConfig extends Omit<DeployCommonOptions, 'strategy'> {
  /** Where to deploy; `--to` overrides it. */
  strategy?: Strategy
  /** The directory to deploy (relative to the config file's folder); the CLI's `[dir]` overrides it. @default 'dist' */
  dir?: string
  /** The folder of hashed assets under `dir`, cached for good. @default 'assets' */
  assetsDir?: string
}

/** What a config file may export: the config, or a function of the mode that returns it. */
export type ConfigExport = CollectfastaConfig | ((env: { mode: string }) => CollectfastaConfig | Promise<CollectfastaConfig>)

/** Types a `collectfasta.config.ts`. */
export function defineConfig(config: ConfigExport): ConfigExport {
  return config
}

/** Options found for the CLI, and where they came from (for messages). */
export interface FoundConfig {
  config: CollectfastaConfig
  source: string
  /** `dir` is Vite's build.outDir, not a directory the user chose to deploy: the CLI looks for the published one. */
  dirFromVite?: boolean
}

const OWN = ['collectfasta.config.ts', 'collectfasta.config.mts', 'collectfasta.config.js', 'collectfasta.config.mjs']
const VITE = ['vite.config.ts', 'vite.config.mts', 'vite.config.js', 'vite.config.mjs', 'vite.config.cts', 'vite.config.cjs']

/** Imports a config file (TypeScript too) the way Vite's own CLI would run it. */
async function importConfig(file: string): Promise<unknown> {
  const { createJiti } = await import('jiti')
  // No cache on disk: jiti's is in the shared temporary folder, where another local user could
  // plant a transpiled "config" that we would then run.
  const jiti = createJiti(import.meta.url, { interopDefault: true, moduleCache: false, fsCache: false })
  try {
    return await jiti.import(file, { default: true })
  } catch (error) {
    throw new UsageError(`[collectfasta] Could not load ${file}: ${(error as Error).message}`)
  }
}

async function flattenPlugins(plugins: unknown): Promise<{ name?: string; api?: { options?: unknown } }[]> {
  const value = await plugins
  if (Array.isArray(value)) return (await Promise.all(value.map(flattenPlugins))).flat()
  return value && typeof value === 'object' ? [value as { name?: string }] : []
}

/**
 * What the CLI takes from a Vite config: the collectfasta plugin's options (if the plugin is
 * there), `build.outDir` and `build.assetsDir`. The file is imported, as Vite's own CLI would,
 * never built.
 */
async function fromViteConfig(file: string, cwd: string, mode: string): Promise<{ options?: DeployCommonOptions; build: CollectfastaConfig }> {
  const exported = await importConfig(file)
  const config = (typeof exported === 'function' ? await exported({ command: 'build', mode, isSsrBuild: false, isPreview: false }) : exported) as {
    root?: string
    build?: { outDir?: string; assetsDir?: string }
    plugins?: unknown
  }
  const plugin = (await flattenPlugins(config?.plugins)).find((p) => p.name === 'vite-plugin-collectfasta')
  const root = resolve(cwd, config?.root ?? '.')
  // No assetsDir in the config: the build's own (its manifest's), or Vite's default, is found later.
  const build = { dir: resolve(root, config?.build?.outDir ?? VITE_OUT_DIR), ...(config?.build?.assetsDir !== undefined && { assetsDir: config.build.assetsDir }) }
  return { options: plugin?.api?.options as DeployCommonOptions | undefined, build }
}

/**
 * `build.outDir` (and `build.assetsDir`) of the `vite.config.*` in `cwd`, if there is one, with
 * or without the collectfasta plugin in it: where the build wrote, for a CLI given no directory.
 */
export async function viteBuildDirs(cwd: string, mode: string): Promise<CollectfastaConfig | undefined> {
  const vite = VITE.map((name) => join(cwd, name)).find(existsSync)
  return vite ? (await fromViteConfig(vite, cwd, mode)).build : undefined
}

/**
 * The CLI's options, in order: `--config FILE`; `collectfasta.config.*`; the collectfasta
 * plugin's options in `vite.config.*` (for `--mode`), with its `build.outDir` as `dir` (the
 * plugin or not); nothing (flags alone, e.g. `--to`).
 */
export async function findConfig(cwd: string, options: { config?: string; mode: string }): Promise<FoundConfig | undefined> {
  const load = async (file: string) => {
    const exported = (await importConfig(file)) as ConfigExport
    const config = typeof exported === 'function' ? await exported({ mode: options.mode }) : exported
    if (typeof config !== 'object' || config === null) throw new UsageError(`[collectfasta] ${file} must export a config object (use defineConfig).`)
    // `dir` is relative to the config file's folder (as documented), wherever the command runs.
    return { config: { ...config, dir: config.dir === undefined ? undefined : resolve(dirname(file), config.dir) }, source: file }
  }
  if (options.config) {
    const file = resolve(cwd, options.config)
    if (!existsSync(file)) throw new UsageError(`[collectfasta] --config ${options.config}: no such file.`)
    if (VITE.some((name) => file.endsWith(name))) {
      const { options: plugin, build } = await fromViteConfig(file, cwd, options.mode)
      if (!plugin) throw new UsageError(`[collectfasta] ${file} has no collectfasta() plugin.`)
      return { config: { ...plugin, ...build }, source: file, dirFromVite: true }
    }
    return load(file)
  }
  const own = OWN.map((name) => join(cwd, name)).find(existsSync)
  if (own) return load(own)
  const vite = VITE.map((name) => join(cwd, name)).find(existsSync)
  if (vite) {
    // Without the plugin (removed as its refusals advise), the build's outDir still says where to look.
    const { options: plugin, build } = await fromViteConfig(vite, cwd, options.mode)
    return { config: { ...plugin, ...build }, source: vite, dirFromVite: true }
  }
  return undefined
}
