import { dirname } from 'node:path'
import type { Plugin, ResolvedConfig } from 'vite'
import { deploy } from './core/deploy.js'
import { type CollectfastaOptions, DEFAULTS } from './options.js'
import { validateOptions } from './validate.js'
import { projectRoot, resolveEnabled } from './resolve.js'
import type { DeployReport, Logger } from './report.js'

const PLUGIN_NAME = 'vite-plugin-collectfasta'

/**
 * Frameworks whose Vite build is not the site they publish (pages are rendered, or an adapter
 * writes the output, after Vite's client build): the plain plugin would deploy a partial site.
 */
const FRAMEWORKS: { name: string; plugin: RegExp; use: string }[] = [
  { name: 'VitePress', plugin: /^vitepress$/, use: "`buildEnd: collectfasta({ strategy })` from 'vite-plugin-collectfasta/vitepress' in .vitepress/config" },
  { name: 'Astro', plugin: /^astro:build$/, use: "`integrations: [collectfasta({ strategy })]` from 'vite-plugin-collectfasta/astro' in astro.config" },
  { name: 'SvelteKit', plugin: /^vite-plugin-sveltekit-setup$/, use: "`adapter: collectfasta(adapter(), { strategy })` from 'vite-plugin-collectfasta/sveltekit' in svelte.config.js" },
  { name: 'Nuxt', plugin: /^nuxt:/, use: "`modules: [collectfasta({ strategy })]` from 'vite-plugin-collectfasta/nuxt' in nuxt.config" },
  { name: 'React Router', plugin: /^react-router$/, use: '`npx collectfasta deploy build/client` after `react-router build`' },
]

/** The one sentence for a framework build the plain plugin must not deploy, if this is one. */
export function frameworkRefusal(pluginNames: readonly string[]): string | undefined {
  const found = FRAMEWORKS.find((f) => pluginNames.some((name) => f.plugin.test(name)))
  if (!found) return undefined
  return (
    `[collectfasta] This is a ${found.name} build: Vite's output is not the finished site yet, so the Vite plugin ` +
    `would deploy it without its pages. Remove collectfasta() from the Vite plugins and use ${found.use}.`
  )
}

/** What the plugin exposes to other plugins and tests as `plugin.api`. */
export interface CollectfastaApi {
  /** The report of the last deploy of this plugin instance. */
  readonly report: DeployReport | undefined
  /** The options it was given: what `collectfasta deploy` reads from a vite.config. */
  readonly options: CollectfastaOptions
}

/**
 * Deploys the client build to the storage of `options.strategy` at the end of `vite build`
 * (or a Rollup build), uploading only what changed.
 */
export function collectfasta(options: CollectfastaOptions): Plugin<CollectfastaApi> {
  validateOptions(options)
  if (!resolveEnabled(options.enabled)) return { name: PLUGIN_NAME, api: { report: undefined, options } }
  let config: ResolvedConfig | undefined
  let lastReport: DeployReport | undefined

  return {
    name: PLUGIN_NAME,
    apply: 'build',
    enforce: 'post',
    // Vite 6+: only the browser build is deployed, never SSR or other environments.
    applyToEnvironment: (environment) => environment.name === 'client',
    // Rolldown's timing check counts the deploy's network time as this plugin's build work. The
    // summary line already says how long the deploy took: take our line out of the warning, and
    // the whole warning when we are all it names.
    onLog(_level, log) {
      if (log.code !== 'PLUGIN_TIMINGS' || typeof log.message !== 'string') return
      const ours = new RegExp(`^\\s*- plugin ${PLUGIN_NAME} writeBundle .*$\\n?`, 'm')
      if (!ours.test(log.message)) return
      const rest = log.message.replace(ours, '')
      // Other callbacks timed in the list ("(12%, 1.3s, …)") are worth the warning; ours alone is not.
      const others = rest.split('Additional callback time')[0]?.match(/^\s*- plugin .*\(\d+%, /gm)
      if (!others) return false
      log.message = rest
    },
    configResolved(resolved) {
      config = resolved
      const refusal = frameworkRefusal(resolved.plugins.map((p) => p.name))
      if (refusal) throw new Error(refusal)
    },
    writeBundle: {
      order: 'post',
      sequential: true,
      async handler(output, bundle) {
        // Vite 6+: the environment's own config says who consumes it (a framework may set
        // ssr flags on the client environment). Vite 5 has no environments: its build.ssr.
        const environment = (this as { environment?: { name: string; config?: { consumer?: string } } }).environment
        if (environment) {
          if (environment.name !== 'client' || (environment.config?.consumer ?? 'client') !== 'client') return
        } else if (config?.build.ssr) return
        if (this.meta.watchMode && !(options.watch ?? DEFAULTS.watch)) return
        lastReport = undefined // never the previous build's
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
            // Relative paths (cacheDir, reportFile, a filesystem dir) resolve against the project:
            // the folder with package.json at or above Vite's root.
            root: projectRoot(config?.root ?? process.cwd()),
            logger,
            // Vite's resolved logLevel is undefined unless the user set one: 'info' by default.
            progress: (config?.logLevel ?? 'info') === 'info',
            handleSignals: true,
          })
        } catch (error) {
          lastReport = (error as { report?: DeployReport }).report
          // A failed deploy is not a bug in a plugin: the sentence, not a bundler stack trace
          // (DEBUG=1 shows the stack).
          const message = error instanceof Error ? error.message : String(error)
          this.error(process.env.DEBUG ? (error as Error) : Object.assign(new Error(message), { stack: message }))
        }
      },
    },
    api: {
      get report() {
        return lastReport
      },
      options,
    },
  }
}
