import { resolve } from 'node:path'
import type { Plugin, ResolvedConfig } from 'vite'
import { deploy } from './core/deploy.js'
import type { CollectfastaOptions } from './options.js'
import { plain, frameworkRefusal, otherSite, refusalSentence, serverEnvironment, stillOnDisk, twoDirsRefusal } from './published.js'
import { type ResolvedPluginOptions, projectRoot, resolvePluginOptions } from './resolve.js'
import { type DeployReport, type Logger, consoleLogger } from './report.js'
import { publishedCopy } from './site/copy.js'
import { CLIENT_BUILD_RULES, type ClientBuildFacts, type Decision, FINAL_RULES, decide } from './site/decide.js'
import { CLIENT, isServerEnvironment, isSiteEnvironment, shown } from './site/layout.js'
import { deployedRedirects, hasPage, missingPage } from './site/pages.js'
import { processEnd, statWalk } from './site/process-end.js'
import { type BuildContext, type ClientOutput, type Tracker, createTracker, outputDir, rootOf } from './site/tracker.js'

const PLUGIN_NAME = 'vite-plugin-collectfasta'

/** What the plugin exposes to other plugins and tests as `plugin.api`. */
export interface CollectfastaApi {
  /** The report of the last deploy of this plugin instance. */
  readonly report: DeployReport | undefined
  /** The options it was given: what `collectfasta deploy` reads from a vite.config. */
  readonly options: CollectfastaOptions
}

/** The parts of Vite's builder (Vite 7+ `buildApp`) the plugin reads. */
interface BuilderLike {
  config: { builder?: unknown }
  environments: Record<string, { isBuilt?: boolean; config: ResolvedConfig & { consumer?: string } }>
}

/** The parts of a plugin hook's `this` used to speak. */
interface Speaker {
  warn: (message: string) => void
  info: (message: string) => void
}

const pluginNames = (resolved: ResolvedConfig | undefined) => resolved?.plugins.map((p) => p.name) ?? []

/** Where a deploy's messages go: Vite's logger; plain Rollup's own (it follows Rollup's logLevel). */
const loggerOf = (resolved: ResolvedConfig | undefined, speaker?: Speaker): Logger => ({
  info: (message) => (resolved ? resolved.logger.info(message) : (speaker ?? consoleLogger).info(message)),
  warn: (message) => (speaker ?? resolved?.logger ?? consoleLogger).warn(message),
})

/**
 * Deploys the site to the storage of `options.strategy` at the true end of `vite build` (or a
 * Rollup build), uploading only what changed: once every plugin's `closeBundle` has written its
 * files (service workers, precache manifests, sitemaps), or, in a Vite 7+ app build (the
 * Environment API's `buildApp`: a server environment, prerendering), once the whole app is
 * built, or, where the process builds the same app again, once its last build is over. Where the
 * output is not the published site, it refuses before any request, and the build fails.
 */
export function collectfasta(options: CollectfastaOptions): Plugin<CollectfastaApi> {
  const o = resolvePluginOptions(options)
  if (!o.enabled) return { name: PLUGIN_NAME, api: { report: undefined, options } }
  const tracker = createTracker()
  const door = new Door(options, o, tracker)
  const plugin: Plugin<CollectfastaApi> = {
    name: PLUGIN_NAME,
    apply: 'build',
    enforce: 'post',
    onLog: (_level, log) => quietTimings(log),
    configResolved(resolved) {
      tracker.resolved(resolved)
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
    // this process is not the site until the last one is over.
    async buildStart() {
      await door.deploying // watch mode: Vite closes each rebuild's bundle without waiting, so the next rebuild waits for its deploy
      tracker.started(this as unknown as BuildContext)
    },
    buildEnd(error) {
      if (error) tracker.failed(this as unknown as BuildContext)
    },
    writeBundle: {
      order: 'post',
      sequential: true,
      handler(written, bundle) {
        const context = this as unknown as BuildContext
        if (!tracker.isClient(context)) return
        const outDir = outputDir(written)
        if (!outDir) throw plain('[collectfasta] The output has neither `dir` nor `file`: set `build.outDir` (or Rollup `output.dir`).')
        const other = tracker.wrote(context, outDir, bundle as never, o.source === 'bundle')
        if (other) throw plain(twoDirsRefusal([other, outDir]))
      },
    },
    // The build's true end: every other plugin's closeBundle has run (they run before a
    // sequential 'post' handler of an enforce: 'post' plugin), so files they wrote are there.
    closeBundle: {
      order: 'post',
      sequential: true,
      async handler() {
        const context = this as unknown as BuildContext
        const { resolved, client, written } = tracker.closed(context)
        if (await door.appEnvironmentClosed(context, resolved, written)) return
        if (written && client) await door.clientClosed(context, this as unknown as Speaker, resolved, written)
      },
    },
    // Vite 7+ app builds: after every environment is built and every other plugin's buildApp
    // work (prerendering) is done, the client environment's directory is the published site.
    buildApp: {
      order: 'post',
      handler: (builder) => door.appBuilt(builder as unknown as BuilderLike),
    },
    api: {
      get report() {
        return door.report
      },
      options,
    },
  }
  return plugin
}

/**
 * Rolldown's timing check counts the deploy's network time as this plugin's build work. The
 * summary line already says how long the deploy took: take our line out of the warning, and the
 * whole warning when we are all it names.
 */
function quietTimings(log: { code?: string; message: string }): false | undefined {
  if (log.code !== 'PLUGIN_TIMINGS' || typeof log.message !== 'string') return
  const ours = new RegExp(`^\\s*- plugin ${PLUGIN_NAME} \\w+ .*$\\n?`, 'gm')
  if (!ours.test(log.message)) return
  const rest = log.message.replace(ours, '')
  // Other callbacks timed in the list ("(12%, 1.3s, …)") are worth the warning; ours alone is not.
  const others = rest.split('Additional callback time')[0]?.match(/^\s*- plugin .*\(\d+%, /gm)
  if (!others) return false
  log.message = rest
}

/** How the plugin acts on the rules' decisions: deploys, waits, refuses; and the last report. */
class Door {
  report: DeployReport | undefined
  deploying: Promise<void> | undefined
  private readonly end = processEnd()
  private readonly warnOnly: boolean
  /** Whether a watch session without `watch: true` was told it deploys nothing. */
  private toldWatch = false

  constructor(
    private readonly options: CollectfastaOptions,
    private readonly o: ResolvedPluginOptions,
    private readonly tracker: Tracker,
  ) {
    this.warnOnly = o.notDeployed === 'warn'
  }

  /** Deploys `outDir`; files written there later in the process are noticed at its end. */
  async run(outDir: string, files: Map<string, Uint8Array> | undefined, resolved: ResolvedConfig | undefined, logger: Logger): Promise<void> {
    this.report = undefined // never the previous build's
    const before = statWalk(outDir)
    const once = (bytes: typeof files) =>
      deploy({
        ...this.options,
        outDir,
        files: bytes,
        assetsDir: resolved?.build.assetsDir ?? this.o.assetsDir,
        // Relative paths (cacheDir, reportFile, a filesystem dir) resolve against the project:
        // the folder with package.json at or above Vite's root.
        root: projectRoot(resolved?.root ?? process.cwd()),
        logger,
        // Vite's resolved logLevel is undefined unless the user set one: 'info' by default.
        progress: (resolved?.logLevel ?? 'info') === 'info',
        handleSignals: true,
      })
    try {
      this.report = await once(files)
    } catch (error) {
      this.report = (error as { report?: DeployReport }).report
      throw plain(error)
    }
    // A later deploy of the same directory registers again; this one re-deploys from disk.
    this.end.deployed(
      outDir,
      before,
      async () => {
        this.report = await once(undefined)
      },
      this.warnOnly,
    )
  }

  /** A refusal fails the build, unless `notDeployed: 'warn'`. */
  refuse(sentence: string, warn: (message: string) => void): void {
    if (this.warnOnly) warn(sentence)
    else throw plain(sentence)
  }

  /** The final checks on a directory once nothing more writes it, then the deploy (or the refusal). */
  async final(outDir: string, resolved: ResolvedConfig | undefined, server: string | undefined, logger: Logger, written?: ClientOutput, ssrManifest = false): Promise<void> {
    const dir = shown(outDir)
    const library = !resolved || Boolean(resolved.build.lib)
    const copy = publishedCopy(outDir, projectRoot(resolved?.root ?? process.cwd()), written?.files.keys(), logger.warn)
    const page = hasPage(outDir)
    const missing = server && page && !copy ? await missingPage(outDir, resolved?.base ?? '/', deployedRedirects(this.options, outDir)) : undefined
    const decision = decide(FINAL_RULES, { dir, copy: copy && shown(copy), hasPage: page, server, missing, library, ssrManifest })
    if (decision.action === 'refuse') return this.refuse(refusalSentence(decision, pluginNames(resolved), dir), logger.warn)
    const files = written && this.o.source === 'bundle' ? stillOnDisk(written) : undefined
    await this.run(outDir, files, resolved, logger)
  }

  /** A client build closed (not in a Vite 7+ app build's environments): what the rules say. */
  async clientClosed(context: BuildContext, speaker: Speaker, resolved: ResolvedConfig | undefined, written: ClientOutput): Promise<void> {
    const root = rootOf(resolved)
    const facts: ClientBuildFacts = {
      otherSite: resolved && otherSite(resolved),
      watchMode: context.meta.watchMode,
      deployInWatch: this.o.watch,
      appBuild: resolved?.builder ? (context.meta.viteVersion ? 'vite7+' : 'vite6') : undefined,
      sameRootRunning: this.tracker.sameRootRunning(root),
      serverBuiltBefore: this.tracker.serverBuilt(root),
      sameRootWaiting: this.end.waitsForEnd(root),
      serverEnvironment: serverEnvironment(resolved?.environments as never),
      ssrManifest: Boolean(resolved?.build.ssrManifest),
      hasPage: hasPage(written.outDir),
      library: !resolved || Boolean(resolved.build.lib),
    }
    const decision = decide(CLIENT_BUILD_RULES, facts)
    const logger = loggerOf(resolved, speaker)
    await this.act(decision, written, resolved, logger, context.meta.watchMode)
  }

  async act(decision: Decision, written: ClientOutput, resolved: ResolvedConfig | undefined, logger: Logger, watchMode: boolean): Promise<void> {
    const { outDir } = written
    const root = rootOf(resolved)
    const ssrManifest = Boolean(resolved?.build.ssrManifest)
    if (decision.action === 'skip') {
      if (decision.warning) logger.warn(decision.warning)
      else if (!this.toldWatch) logger.warn('[collectfasta] Not deploying in watch mode: `watch: true` deploys after each rebuild.')
      this.toldWatch ||= decision.rule === 'watch' // once per watch session, not once per rebuild
      return
    }
    if (decision.action === 'refuse') return this.refuse(refusalSentence(decision, pluginNames(resolved), shown(outDir)), logger.warn)
    if (decision.action === 'defer') {
      // Vite 7+ app builds: the end of buildApp deploys (see appBuilt); the process's end otherwise.
      const server = () => (decision.until === 'process' && this.tracker.serverBuilt(root) ? 'server (SSR) build' : undefined)
      this.end.wait(root, { dir: outDir, until: decision.until, warnOnly: this.warnOnly, run: () => this.final(outDir, resolved, server(), loggerOf(resolved), undefined, ssrManifest) })
      if (decision.until === 'process') logger.info(`[collectfasta] ${shown(outDir)}: deployed once this process's builds are over (${decision.why}).`)
      return
    }
    const done = this.final(outDir, resolved, undefined, logger, written, ssrManifest)
    this.deploying = done.then(
      () => {},
      () => {},
    )
    try {
      await done
    } catch (error) {
      // Watch mode: Vite closes each rebuild's bundle without waiting for it, so a throw
      // here would be an unhandled rejection that ends the watcher: say it, keep watching.
      if (watchMode) resolved?.logger.error(plain(error).message)
      else throw error
    }
  }

  /** An environment of a Vite 7+ app build closed: the last one ends the app build (true when handled). */
  async appEnvironmentClosed(context: BuildContext, resolved: ResolvedConfig | undefined, written: ClientOutput | undefined): Promise<boolean> {
    const root = rootOf(resolved)
    const app = this.tracker.apps.get(root)
    if (!app) return false
    if (written && context.environment && isSiteEnvironment(context.environment.name, context.environment.config?.consumer) && resolved) app.client = resolved
    if (context.environment?.name !== app.last) return false
    this.tracker.apps.delete(root)
    if (app.client) await this.appEnd(app.client, app.servers[0])
    return true
  }

  /** Vite 7+ `buildApp` (post): the app build is over, or Vite builds the environments after it. */
  async appBuilt(app: BuilderLike): Promise<void> {
    if (!app.config.builder) return // a plain `vite build`: deployed at its closeBundle
    const names = Object.keys(app.environments)
    const client = app.environments[CLIENT]
    if (!client) return
    const servers = names.filter((name) => isServerEnvironment(name, app.environments[name]?.config.consumer))
    if (names.every((name) => !app.environments[name]?.isBuilt)) {
      // No buildApp built anything: Vite builds every environment after this hook, and the
      // last one's closeBundle is the end of the app build.
      this.tracker.apps.set(rootOf(client.config), { last: names.at(-1) as string, servers })
      return
    }
    if (!client.isBuilt) return
    const server = servers.find((name) => app.environments[name]?.isBuilt)
    await this.appEnd(client.config, server)
  }

  /** The end of a Vite 7+ app build: its client directory, once final, is the site. */
  async appEnd(client: ResolvedConfig, server: string | undefined): Promise<void> {
    this.end.take(rootOf(client))
    const outDir = resolve(client.root, client.build.outDir)
    await this.final(outDir, client, server && `\`${server}\` environment`, loggerOf(client))
  }
}
