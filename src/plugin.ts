import { statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import type { Plugin, ResolvedConfig } from 'vite'
import { deploy } from './core/deploy.js'
import { type CollectfastaOptions, DEFAULTS } from './options.js'
import { validateOptions } from './validate.js'
import { publishedCopy } from './published-copy.js'
import { projectRoot, resolveEnabled } from './resolve.js'
import type { DeployReport, Logger } from './report.js'
import { type ClientOutput, buildRegistry, deployedRedirects, frameworkRefusal, hasPage, missingPage, notFinalRefusal, otherSite, plain, serverEnvironment, shellQuote, stillOnDisk, toPosix } from './published.js'

const PLUGIN_NAME = 'vite-plugin-collectfasta'

/** What the plugin exposes to other plugins and tests as `plugin.api`. */
export interface CollectfastaApi {
  /** The report of the last deploy of this plugin instance. */
  readonly report: DeployReport | undefined
  /** The options it was given: what `collectfasta deploy` reads from a vite.config. */
  readonly options: CollectfastaOptions
}

/** The parts of Vite's plugin context the plugin reads (Vite 6+ environments; Vite 7+ its version). */
interface BuildContext {
  environment?: { name: string; config?: { consumer?: string } }
  meta: { watchMode: boolean; viteVersion?: string }
}

/** The parts of Vite's builder (Vite 7+ `buildApp`) the plugin reads. */
interface BuilderLike {
  config: { builder?: unknown }
  environments: Record<string, { isBuilt?: boolean; config: ResolvedConfig }>
}

/**
 * Deploys the site to the storage of `options.strategy` at the true end of `vite build` (or a
 * Rollup build), uploading only what changed: once every plugin's `closeBundle` has written its
 * files (service workers, precache manifests, sitemaps), or, in a Vite 7+ app build (the
 * Environment API's `buildApp`: a server environment, prerendering), once the whole app is
 * built. Where the output is not the published site, it refuses before any request.
 */
export function collectfasta(options: CollectfastaOptions): Plugin<CollectfastaApi> {
  validateOptions(options)
  if (!resolveEnabled(options.enabled)) return { name: PLUGIN_NAME, api: { report: undefined, options } }
  const registry = buildRegistry()
  // Vite 5 builds run one inside another (a framework's client build inside its server build)
  // and may share this instance: the config of the build in progress is the last one resolved.
  const configs: ResolvedConfig[] = []
  let lastReport: DeployReport | undefined
  /** Builds this instance saw start and not yet end (so an end is counted once). */
  let open = 0
  /** What each client build in progress wrote, by its config (builds may overlap). */
  const outputs = new Map<ResolvedConfig | undefined, ClientOutput>()
  let deploying: Promise<void> | undefined
  /** Whether a watch session without `watch: true` was told it deploys nothing. */
  let toldWatch = false

  const rootOf = (resolved: ResolvedConfig | undefined) => resolve(resolved?.root ?? process.cwd())
  const pluginNames = (resolved: ResolvedConfig | undefined) => resolved?.plugins.map((p) => p.name) ?? []
  const relativeDir = (dir: string) => toPosix(relative(process.cwd(), dir)) || '.'

  /** The config of the build a hook belongs to: Vite 6+ gives each environment its own. */
  const configOf = (context: BuildContext) => (context.environment?.config as ResolvedConfig | undefined) ?? configs.at(-1)

  /** This build's role: the browser's build, or a server (SSR) one; Vite 6+ says it per environment. */
  const isClient = (context: BuildContext) => {
    const environment = context.environment
    if (environment) return environment.name === 'client' && (environment.config?.consumer ?? 'client') === 'client'
    return !configOf(context)?.build.ssr
  }

  /** A build of this instance ended (closed, or failed): it no longer counts, and Vite 5's config stack unwinds. */
  const ended = (resolved: ResolvedConfig | undefined) => {
    if (open === 0) return
    open--
    const root = rootOf(resolved)
    const left = (registry.running.get(root) ?? 1) - 1
    if (left > 0) registry.running.set(root, left)
    else registry.running.delete(root)
    if (configs.length > 1 && configs.at(-1) === resolved) configs.pop()
  }

  /** Why a client build copied into another folder, with pages written there after it, is not the site. */
  const copiedTo = (outDir: string, copy: string) =>
    `Vite's client build (${relativeDir(outDir)}) is copied into ${relativeDir(copy)}, where the app writes its pages after it`

  /** Why the output of this client build (not a Vite 7+ app build) is not the published site, if it is not. */
  const notFinal = (resolved: ResolvedConfig | undefined, outDir: string): string | undefined => {
    const root = rootOf(resolved)
    if (registry.running.has(root)) return 'another build of this app is running in this process (its pages are rendered or copied after this one)'
    if (registry.servers.has(root)) return 'a server (SSR) build of this app ran before it in this process'
    const server = serverEnvironment(resolved?.environments as never)
    if (server) return `the app has a \`${server}\` environment that renders its pages`
    if (resolved?.build.ssrManifest) return 'it writes an SSR manifest, for a server that renders the pages'
    // A Vite app (not a library) with no page at all: a server or a later step renders them
    // (Qwik City's static adapter, a backend reading the manifest).
    if (resolved && !resolved.build.lib && !hasPage(outDir)) return 'it has no HTML page (a server, or a later build step, renders the pages)'
    return undefined
  }

  async function run(outDir: string, files: Map<string, Uint8Array> | undefined, resolved: ResolvedConfig | undefined, logger: Logger) {
    lastReport = undefined // never the previous build's
    try {
      lastReport = await deploy({
        ...options,
        outDir,
        files,
        assetsDir: resolved?.build.assetsDir ?? DEFAULTS.assetsDir,
        // Relative paths (cacheDir, reportFile, a filesystem dir) resolve against the project:
        // the folder with package.json at or above Vite's root.
        root: projectRoot(resolved?.root ?? process.cwd()),
        logger,
        // Vite's resolved logLevel is undefined unless the user set one: 'info' by default.
        progress: (resolved?.logLevel ?? 'info') === 'info',
        handleSignals: true,
      })
    } catch (error) {
      lastReport = (error as { report?: DeployReport }).report
      throw error
    }
  }

  /** Deploys an app build's client directory, or refuses it where a server renders the pages. */
  async function deployApp(client: ResolvedConfig, server: string | undefined) {
    const outDir = resolve(client.root, client.build.outDir)
    registry.waiting.delete(relativeDir(outDir))
    const copy = publishedCopy(outDir, projectRoot(client.root), undefined, (message) => client.logger.warn(message))
    if (copy) throw plain(notFinalRefusal(copiedTo(outDir, copy), pluginNames(client), relativeDir(copy)))
    if (server && !hasPage(outDir)) {
      throw plain(notFinalRefusal(`its pages are rendered by its \`${server}\` environment, not written to ${relativeDir(outDir)}`, pluginNames(client), relativeDir(outDir), true))
    }
    // Some pages written (prerendered), others left to the server: the directory is a partial site.
    const missing = server ? await missingPage(outDir, client.base, deployedRedirects(options, outDir)) : undefined
    if (missing) {
      const why = `${missing.page} links to ${missing.link}, a page not in ${relativeDir(outDir)} that its \`${server}\` environment or another server renders (prerender every page to keep the plugin)`
      throw plain(notFinalRefusal(why, pluginNames(client), relativeDir(outDir), true))
    }
    try {
      await run(outDir, undefined, client, { info: (message) => client.logger.info(message), warn: (message) => client.logger.warn(message) })
    } catch (error) {
      throw plain(error)
    }
  }

  const plugin: Plugin<CollectfastaApi> = {
    name: PLUGIN_NAME,
    apply: 'build',
    enforce: 'post',
    // Rolldown's timing check counts the deploy's network time as this plugin's build work. The
    // summary line already says how long the deploy took: take our line out of the warning, and
    // the whole warning when we are all it names.
    onLog(_level, log) {
      if (log.code !== 'PLUGIN_TIMINGS' || typeof log.message !== 'string') return
      const ours = new RegExp(`^\\s*- plugin ${PLUGIN_NAME} \\w+ .*$\\n?`, 'gm')
      if (!ours.test(log.message)) return
      const rest = log.message.replace(ours, '')
      // Other callbacks timed in the list ("(12%, 1.3s, …)") are worth the warning; ours alone is not.
      const others = rest.split('Additional callback time')[0]?.match(/^\s*- plugin .*\(\d+%, /gm)
      if (!others) return false
      log.message = rest
    },
    configResolved(resolved) {
      configs.push(resolved)
      const refusal = frameworkRefusal(pluginNames(resolved))
      if (refusal) throw plain(refusal)
      // The deploy must come after every other plugin's closeBundle and buildApp work, including
      // other enforce: 'post' plugins with 'post' hooks placed after this one (TanStack Start
      // prerenders in such a buildApp hook): this plugin goes last. Vite sorts each hook's
      // plugins from this array when the hook first runs, after configResolved.
      const plugins = resolved.plugins as Plugin[]
      const index = plugins.indexOf(plugin as Plugin)
      if (index !== -1 && index !== plugins.length - 1) plugins.push(...plugins.splice(index, 1))
    },
    // Every build of the app is counted (server ones too): a client build that is not alone in
    // this process is not the site.
    async buildStart() {
      // Watch mode: Vite closes each rebuild's bundle without waiting, so the next rebuild waits for its deploy.
      await deploying
      const context = this as unknown as BuildContext
      const resolved = configOf(context)
      open++
      const root = rootOf(resolved)
      registry.running.set(root, (registry.running.get(root) ?? 0) + 1)
      if (!isClient(context)) registry.servers.add(root)
      outputs.delete(resolved)
    },
    buildEnd(error) {
      if (!error) return
      const resolved = configOf(this as unknown as BuildContext)
      outputs.delete(resolved)
      ended(resolved)
    },
    writeBundle: {
      order: 'post',
      sequential: true,
      handler(written, bundle) {
        const context = this as unknown as BuildContext
        if (!isClient(context)) return
        const resolved = configOf(context)
        let output = outputs.get(resolved)
        const outDir = written.dir ?? (written.file ? dirname(written.file) : undefined)
        if (!outDir) throw plain('[collectfasta] The output has neither `dir` nor `file`: set `build.outDir` (or Rollup `output.dir`).')
        if (output && resolve(output.outDir) !== resolve(outDir)) {
          const dirs = `${relativeDir(output.outDir)} and ${relativeDir(outDir)}`
          outputs.delete(resolved) // refused: the closeBundle that still comes deploys nothing
          throw plain(`[collectfasta] This build writes to two directories (${dirs}): deploy the one you publish with \`npx collectfasta deploy <dir>\` after the build.`)
        }
        if (!output) {
          output = { outDir, files: new Map() }
          outputs.set(resolved, output)
        }
        const keep = (options.source ?? DEFAULTS.source) === 'bundle'
        for (const [fileName, item] of Object.entries(bundle)) {
          const content = item.type === 'chunk' ? item.code : item.source
          const stat = statSync(join(outDir, fileName), { throwIfNoEntry: false })
          if (!stat) continue
          const bytes = keep ? (typeof content === 'string' ? Buffer.from(content) : content) : new Uint8Array()
          output.files.set(fileName, { bytes, size: stat.size, mtimeMs: stat.mtimeMs })
        }
      },
    },
    // The build's true end: every other plugin's closeBundle has run (they run before a
    // sequential 'post' handler of an enforce: 'post' plugin), so files they wrote are there.
    closeBundle: {
      order: 'post',
      sequential: true,
      async handler() {
        const context = this as unknown as BuildContext
        const resolved = configOf(context)
        const client = isClient(context) // before ended(): it unwinds Vite 5's config stack
        ended(resolved)
        const written = outputs.get(resolved)
        outputs.delete(resolved)
        const app = registry.apps.get(rootOf(resolved))
        if (app && written && context.environment?.name === 'client' && resolved) app.client = resolved
        if (app && context.environment?.name === app.last) {
          // The last environment of an app build whose environments Vite built after buildApp.
          registry.apps.delete(rootOf(resolved))
          if (app.client) await deployApp(app.client, app.servers[0])
          return
        }
        if (!written || !client) return
        if (context.meta.watchMode && !(options.watch ?? DEFAULTS.watch)) {
          if (!toldWatch) this.warn('[collectfasta] Not deploying in watch mode: `watch: true` deploys after each rebuild.')
          toldWatch = true // once per watch session, not once per rebuild
          return
        }
        const elsewhere = resolved && otherSite(resolved)
        if (elsewhere) return this.warn(elsewhere)
        if (resolved?.builder) {
          // A Vite app build (the Environment API): other environments, prerendering and
          // plugins' buildApp work come after this client build. Vite 7+ calls buildApp hooks at
          // the very end; Vite 6 has no such hook for plugins.
          if (context.meta.viteVersion) {
            registry.waiting.add(relativeDir(written.outDir))
            return
          }
          throw plain(
            `[collectfasta] This is a Vite 6 app build (\`builder\`): pages may be rendered after the client build, and Vite 6 lets no plugin run at the end of it. ` +
              `Remove collectfasta() from the Vite plugins and run \`npx collectfasta deploy ${shellQuote(relativeDir(written.outDir))}\` after the build (or use Vite 7 or later).`,
          )
        }
        const copy = publishedCopy(written.outDir, projectRoot(resolved?.root ?? process.cwd()), written.files.keys(), (message) => this.warn(message))
        const why = copy ? copiedTo(written.outDir, copy) : notFinal(resolved, written.outDir)
        if (why) throw plain(notFinalRefusal(why, pluginNames(resolved), copy ? relativeDir(copy) : '<dir>'))
        const files = (options.source ?? DEFAULTS.source) === 'bundle' ? stillOnDisk(written) : undefined
        // Plain Rollup has no Vite logger: its own, which follows Rollup's logLevel.
        const logger: Logger = { info: (message) => (resolved ? resolved.logger.info(message) : this.info(message)), warn: (message) => this.warn(message) }
        const done = run(written.outDir, files, resolved, logger)
        deploying = done.then(
          () => {},
          () => {},
        )
        try {
          await done
        } catch (error) {
          // Watch mode: Vite closes each rebuild's bundle without waiting for it, so a throw
          // here would be an unhandled rejection that ends the watcher: say it, keep watching.
          if (context.meta.watchMode) resolved?.logger.error(plain(error).message)
          else throw plain(error)
        }
      },
    },
    // Vite 7+ app builds: after every environment is built and every other plugin's buildApp
    // work (prerendering) is done, the client environment's directory is the published site.
    buildApp: {
      order: 'post',
      async handler(builder) {
        const app = builder as unknown as BuilderLike
        if (!app.config.builder) return // a plain `vite build`: deployed at its closeBundle
        const names = Object.keys(app.environments)
        const client = app.environments.client
        if (!client) return
        if (names.every((name) => !app.environments[name]?.isBuilt)) {
          // No buildApp built anything: Vite builds every environment after this hook, and the
          // last one's closeBundle is the end of the app build.
          registry.apps.set(rootOf(client.config), { last: names.at(-1) as string, servers: names.filter((name) => name !== 'client') })
          return
        }
        if (!client.isBuilt) return
        const server = names.find((name) => name !== 'client' && app.environments[name]?.isBuilt)
        await deployApp(client.config, server)
      },
    },
    api: {
      get report() {
        return lastReport
      },
      options,
    },
  }
  return plugin
}
