import { dirname } from 'node:path'
import type { Plugin, ResolvedConfig } from 'vite'
import { deploy } from './core/deploy.js'
import { type CollectfastaOptions, DEFAULTS, resolveEnabled, validateOptions } from './options.js'
import { DeployError, type DeployReport, type Logger } from './report.js'

const PLUGIN_NAME = 'vite-plugin-collectfasta'

/** What the plugin exposes to other plugins and tests as `plugin.api`. */
export interface CollectfastaApi {
  /** The report of the last deploy of this plugin instance. */
  readonly report: DeployReport | undefined
}

/**
 * Deploys the client build to the storage of `options.strategy` at the end of `vite build`
 * (or a Rollup build), uploading only what changed.
 */
export function collectfasta(options: CollectfastaOptions): Plugin<CollectfastaApi> {
  validateOptions(options)
  if (!resolveEnabled(options.enabled)) return { name: PLUGIN_NAME }
  let config: ResolvedConfig | undefined
  let lastReport: DeployReport | undefined

  return {
    name: PLUGIN_NAME,
    apply: 'build',
    enforce: 'post',
    // Vite 6+: only the browser build is deployed, never SSR or other environments.
    applyToEnvironment: (environment) => environment.name === 'client',
    configResolved(resolved) {
      config = resolved
    },
    writeBundle: {
      order: 'post',
      sequential: true,
      async handler(output, bundle) {
        if (config?.build.ssr) return // Vite 5 has no environments: skip its SSR build here.
        const environment = (this as { environment?: { name: string } }).environment
        if (environment && environment.name !== 'client') return
        if (this.meta.watchMode && !(options.watch ?? DEFAULTS.watch)) return
        const outDir = output.dir ?? (output.file ? dirname(output.file) : undefined)
        if (!outDir) this.error('[collectfasta] The output has neither `dir` nor `file`: set `build.outDir` (or Rollup `output.dir`).')

        let files: Map<string, Uint8Array> | undefined
        if ((options.source ?? DEFAULTS.source) === 'bundle') {
          files = new Map()
          for (const [fileName, item] of Object.entries(bundle)) {
            const content = item.type === 'chunk' ? item.code : item.source
            files.set(fileName, typeof content === 'string' ? Buffer.from(content) : content)
          }
        }
        const logger: Logger = {
          info: (message) => (config ? config.logger.info(message) : this.info(message)),
          warn: (message) => this.warn(message),
        }
        try {
          lastReport = await deploy({
            ...options,
            outDir,
            files,
            assetsDir: config?.build.assetsDir ?? DEFAULTS.assetsDir,
            root: config?.root ?? process.cwd(),
            logger,
            progress: config ? config.logLevel === 'info' : true,
            handleSignals: true,
          })
        } catch (error) {
          if (error instanceof DeployError) lastReport = error.report
          this.error(error instanceof Error ? error.message : String(error))
        }
      },
    },
    api: {
      get report() {
        return lastReport
      },
    },
  }
}
