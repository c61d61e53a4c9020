// Whether the directory a Vite (or Rollup) build wrote is the site it publishes. The plain
// plugin deploys only then; otherwise it refuses before any request, naming what to run.
// The rules look at what the build is (other builds of the same app in this process, a server
// side, a client build without pages), never at which framework made it: the names below only
// pick a better message.
import { readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { inspect } from 'node:util'
import type { ResolvedConfig } from 'vite'
import type { Decision } from './site/decide.js'
import { CLIENT, SOME_DIR, deployCommand, isServerEnvironment, shown } from './site/layout.js'
import type { ClientOutput } from './site/tracker.js'

/** Frameworks with an integration of their own, refused as soon as their config is seen. */
const INTEGRATIONS: { name: string; plugin: RegExp; use: string }[] = [
  { name: 'VitePress', plugin: /^vitepress$/, use: "`buildEnd: collectfasta({ strategy })` from 'vite-plugin-collectfasta/vitepress' in .vitepress/config" },
  { name: 'Astro', plugin: /^astro:build$/, use: "`integrations: [collectfasta({ strategy })]` from 'vite-plugin-collectfasta/astro' in astro.config" },
  { name: 'SvelteKit', plugin: /^vite-plugin-sveltekit-setup$/, use: "`adapter: collectfasta(adapter(), { strategy })` from 'vite-plugin-collectfasta/sveltekit' in svelte.config.js" },
  { name: 'Nuxt', plugin: /^nuxt:/, use: "`modules: [collectfasta({ strategy })]` from 'vite-plugin-collectfasta/nuxt' in nuxt.config" },
]

/** Frameworks whose published directory is known, for the message of a general refusal. */
const PUBLISHED: { name: string; plugin: RegExp; dir: string }[] = [
  { name: 'React Router', plugin: /^react-router$/, dir: 'build/client' },
  { name: 'Qwik City', plugin: /^vite-plugin-qwik-city$/, dir: 'dist' },
]

/**
 * Tools that build another site from the app's own Vite config, for the message only: any build
 * that loaded the app's config itself is recognised by `otherSite`, whatever its name.
 */
const OTHER_SITES: { name: string; plugin: RegExp; dir: string }[] = [{ name: 'Storybook', plugin: /^storybook:/, dir: 'storybook-static' }]

/** The config files Vite itself looks for in a project's root. */
const VITE_CONFIG = /^vite\.config\.(?:[cm]?[jt]s)$/

/**
 * The warning for a build of another site made from the app's Vite config, if this is one: a
 * tool (Storybook, Histoire, Ladle, …) loaded the project's vite.config itself, merged its own
 * site into it and told Vite not to load a config file (`configFile: false`). Its output is
 * never the app's site, and refusing would break that tool's build: not deployed, said once. A
 * user's own build script with `configFile: false` looks the same: the warning tells it how to
 * deploy (`deploy()` after `build()`, or a build that loads the config file).
 */
export function otherSite(resolved: Pick<ResolvedConfig, 'root' | 'inlineConfig' | 'plugins' | 'build'>): string | undefined {
  if (resolved.inlineConfig?.configFile !== false) return undefined
  // The app's config sits in Vite's root, or in the folder the tool runs from when the tool
  // builds its own app elsewhere (Ladle's root is its app inside node_modules).
  const configFile = [...new Set([resolved.root, process.cwd()])]
    .flatMap((dir) => readdirSync(dir, { withFileTypes: true }))
    .find((dirent) => dirent.isFile() && VITE_CONFIG.test(dirent.name))
  if (!configFile) return undefined
  const names = resolved.plugins.map((p) => p.name)
  const found = OTHER_SITES.find((f) => names.some((name) => f.plugin.test(name)))
  const dir = found?.dir ?? shown(resolve(resolved.root, resolved.build.outDir))
  const publish = `run ${deployCommand(dir, '<target>')} after the build`
  if (found) return `[collectfasta] Not deployed: this is a ${found.name} build of the app's Vite config, not the app's site; to publish it, ${publish}.`
  // The same signs as a script of the user's own that builds the app: one sentence true of both.
  return (
    `[collectfasta] Not deployed: this build passes \`configFile: false\` beside ${configFile.name}, as Storybook, Histoire and Ladle do to build their own site from the app's config; ` +
    `to publish its output, ${publish}, or, from a build script of your own, let Vite load ${configFile.name} or call \`deploy()\` from 'vite-plugin-collectfasta' after \`build()\`.`
  )
}

/** The one sentence for a build of a framework that has its own integration, if this is one. */
export function frameworkRefusal(pluginNames: readonly string[]): string | undefined {
  const found = INTEGRATIONS.find((f) => pluginNames.some((name) => f.plugin.test(name)))
  if (!found) return undefined
  return (
    `[collectfasta] This is a ${found.name} build: Vite's output is not the finished site yet, so the Vite plugin ` +
    `would deploy it without its pages: remove collectfasta() from the Vite plugins and use ${found.use}.`
  )
}

/**
 * The refusal of a build whose output is not the published site: why, and what to run instead.
 * `serverRendered`: the build is over and its directory lacks pages a server renders, so the
 * CLI's deploy of that directory is only right where a server serves those pages.
 */
export function notFinalRefusal(why: string, pluginNames: readonly string[], fallbackDir: string, serverRendered = false): string {
  const known = PUBLISHED.find((f) => pluginNames.some((name) => f.plugin.test(name)))
  const dir = known?.dir ?? fallbackDir
  const where = serverRendered ? `, and only where a server serves the server-rendered pages that ${dir} lacks` : ''
  // One sentence: what is wrong, then what to run.
  return (
    `[collectfasta] Nothing deployed: this ${known ? `${known.name} ` : ''}build is not the whole site, as ${why}; ` +
    `run ${deployCommand(dir)} (the directory the app publishes) after the build instead, with collectfasta() removed from the Vite plugins${where}.`
  )
}

/** The sentence of a refusal the rules decided (`dir`: the build's directory, shown). */
export function refusalSentence(decision: Extract<Decision, { action: 'refuse' }>, pluginNames: readonly string[], dir: string): string {
  if (decision.rule === 'Vite 6 app build') {
    return (
      `[collectfasta] This is a Vite 6 app build (\`builder\`): pages may be rendered after the client build, and Vite 6 lets no plugin run at the end of it, ` +
      `so remove collectfasta() from the Vite plugins and run ${deployCommand(dir)} after the build (or use Vite 7 or later).`
    )
  }
  return notFinalRefusal(decision.why, pluginNames, decision.copy ?? dir, decision.serverRendered)
}

/** The sentence for a build writing into two directories: which one is published is not known. */
export const twoDirsRefusal = (dirs: string[]) =>
  `[collectfasta] This build writes to two directories (${dirs.map((dir) => shown(dir)).join(' and ')}): deploy the one you publish with ${deployCommand(SOME_DIR)} after the build.`

/** The part of a Vite environment's build options that says whether it has entries of its own. */
interface BuildInputs {
  ssr?: unknown
  lib?: unknown
  rollupOptions?: { input?: unknown }
  rolldownOptions?: { input?: unknown }
}

/** A build's entries, as Rollup (Vite 5-7) or Rolldown (Vite 8) options say them. */
const inputOf = (build: BuildInputs | undefined) => build?.rollupOptions?.input ?? build?.rolldownOptions?.input

/** Vite 6+: the name of an environment other than the browser's that this app builds, if any. */
export function serverEnvironment(environments: Record<string, { consumer?: string; build?: BuildInputs }> | undefined): string | undefined {
  const clientInput = JSON.stringify(inputOf(environments?.[CLIENT]?.build))
  for (const [name, environment] of Object.entries(environments ?? {})) {
    if (!isServerEnvironment(name, environment.consumer)) continue
    const build = environment.build ?? {}
    // Every Vite 6+ config has an `ssr` environment; it is built only when it has entries of its
    // own: the top-level `build.rollupOptions.input` it inherits is the client's (vite-ssg sets it).
    const input = inputOf(build)
    if (typeof build.ssr === 'string' || build.lib || (input && JSON.stringify(input) !== clientInput)) return name
  }
  return undefined
}

/**
 * A refusal or a failed deploy is not a bug in a plugin: the sentence, without a bundler's stack
 * trace (DEBUG=1 keeps the stack). Vite 5-7 print a failed build's `stack`; Vite 8 prints it with
 * util.inspect, which would put a stack without frames in brackets: the sentence as it is. The
 * Rollup CLI prints `name: message`, then the stack without that line: no name, so nothing twice.
 */
export function plain(error: unknown): Error {
  if (process.env.DEBUG) return error as Error
  const message = error instanceof Error ? error.message : String(error)
  return Object.assign(new Error(message), { name: '', stack: `${message}\n`, [inspect.custom]: () => message })
}

/** The bundle's bytes that are still what is on disk; a file changed or removed since is read from disk (or not deployed). */
export function stillOnDisk(output: ClientOutput): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>()
  for (const [path, written] of output.files) {
    const stat = statSync(join(output.outDir, path), { throwIfNoEntry: false })
    if (stat?.isFile() && stat.size === written.size && stat.mtimeMs === written.mtimeMs) files.set(path, written.bytes)
  }
  return files
}
