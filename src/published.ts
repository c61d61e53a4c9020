// Whether the directory a Vite (or Rollup) build wrote is the site it publishes. The plain
// plugin deploys only then; otherwise it refuses before any request, naming what to run.
// The rules look at what the build is (other builds of the same app in this process, a server
// side, a client build without pages), never at which framework made it: the names below only
// pick a better message.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'
import { inspect } from 'node:util'
import type { ResolvedConfig } from 'vite'
import { isHtml, knownType } from './core/headers.js'
import { redirectKey, storedRedirects } from './core/redirects.js'
import type { CollectfastaOptions } from './options.js'

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
  const configFile = readdirSync(resolved.root, { withFileTypes: true }).find((dirent) => dirent.isFile() && VITE_CONFIG.test(dirent.name))
  if (!configFile) return undefined
  const names = resolved.plugins.map((p) => p.name)
  const found = OTHER_SITES.find((f) => names.some((name) => f.plugin.test(name)))
  const dir = found?.dir ?? (toPosix(relative(process.cwd(), resolve(resolved.root, resolved.build.outDir))) || '.')
  const publish = `run \`npx collectfasta deploy ${shellQuote(dir)} --to <target>\` after the build`
  if (found) return `[collectfasta] Not deployed: this is a ${found.name} build of the app's Vite config, not the app's site. To publish it, ${publish}.`
  // The same signs as a script of the user's own that builds the app: both are told what is true.
  return (
    `[collectfasta] Not deployed: this build passes \`configFile: false\` beside ${configFile.name}, as tools building their own site from the app's config do (Storybook, Histoire, Ladle). ` +
    `From a build script of your own, call \`deploy()\` from 'vite-plugin-collectfasta' after \`build()\` or let Vite load ${configFile.name}; to publish this output, ${publish}.`
  )
}

/** The one sentence for a build of a framework that has its own integration, if this is one. */
export function frameworkRefusal(pluginNames: readonly string[]): string | undefined {
  const found = INTEGRATIONS.find((f) => pluginNames.some((name) => f.plugin.test(name)))
  if (!found) return undefined
  return (
    `[collectfasta] This is a ${found.name} build: Vite's output is not the finished site yet, so the Vite plugin ` +
    `would deploy it without its pages. Remove collectfasta() from the Vite plugins and use ${found.use}.`
  )
}

/**
 * The refusal of a build whose output is not the published site: why, and what to run instead.
 * `serverRendered`: the build is over and its directory lacks pages a server renders, so the
 * CLI's deploy of that directory is only right where a server serves those pages.
 */
export function notFinalRefusal(why: string, pluginNames: readonly string[], fallbackDir: string, serverRendered = false): string {
  const known = PUBLISHED.find((f) => pluginNames.some((name) => f.plugin.test(name)))
  const dir = shellQuote(known?.dir ?? fallbackDir)
  const where = serverRendered ? `, and only where a server serves the server-rendered pages that ${dir} lacks` : ''
  // One sentence: what is wrong, then what to run.
  return (
    `[collectfasta] Nothing deployed: this ${known ? `${known.name} ` : ''}build is not the whole site, as ${why}; ` +
    `run \`npx collectfasta deploy ${dir}\` (the directory the app publishes) after the build instead, with collectfasta() removed from the Vite plugins${where}.`
  )
}

/** The part of a Vite environment's build options that says whether it has entries of its own. */
interface BuildInputs {
  ssr?: unknown
  lib?: unknown
  rollupOptions?: { input?: unknown }
  rolldownOptions?: { input?: unknown }
}

/** Vite 6+: the name of an environment other than the browser's that this app builds, if any. */
export function serverEnvironment(environments: Record<string, { consumer?: string; build?: BuildInputs }> | undefined): string | undefined {
  for (const [name, environment] of Object.entries(environments ?? {})) {
    if (name === 'client' || environment.consumer === 'client') continue
    const build = environment.build ?? {}
    // Every Vite 6+ config has an `ssr` environment; it is built only when it has entries.
    if (typeof build.ssr === 'string' || build.lib || build.rollupOptions?.input || build.rolldownOptions?.input) return name
  }
  return undefined
}

/** Builds of this process by app root, seen by every copy of the plugin (one process may load two). */
export interface BuildRegistry {
  /** Builds running now, by root. */
  running: Map<string, number>
  /** Roots that had a server (SSR) build in this process. */
  servers: Set<string>
  /**
   * Vite 7+ app builds whose environments Vite builds after every buildApp hook, by root: the
   * last environment's closeBundle deploys the client's directory.
   */
  apps: Map<string, { last: string; servers: string[]; client?: ResolvedConfig }>
  /** App builds whose deploy waits for Vite's end of `buildApp`: warned about if the process ends first. */
  waiting: Set<string>
}

const REGISTRY = Symbol.for('vite-plugin-collectfasta.builds')

export function buildRegistry(): BuildRegistry {
  const global = globalThis as { [REGISTRY]?: BuildRegistry }
  if (!global[REGISTRY]) {
    const registry: BuildRegistry = { running: new Map(), servers: new Set(), apps: new Map(), waiting: new Set() }
    global[REGISTRY] = registry
    // A framework that ends the process inside its build (e.g. to stop a prerender's open
    // handles) would leave a waiting deploy undone without a word: say so.
    process.once('exit', () => {
      for (const dir of registry.waiting) {
        process.stderr.write(`[collectfasta] The build ended the process before Vite's end of the app build: ${dir} was NOT deployed. Run \`npx collectfasta deploy ${shellQuote(dir)}\`.\n`)
      }
    })
  }
  return global[REGISTRY]
}

/** A file the bundle wrote, as it was on disk once written: a later change on disk is noticed. */
export interface Written {
  bytes: Uint8Array
  size: number
  mtimeMs: number
}

/** What a client build wrote: its directory, and the bundle's files (by path relative to it). */
export interface ClientOutput {
  outDir: string
  files: Map<string, Written>
}

export const toPosix = (path: string) => path.split(sep).join('/')

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

/**
 * A path as a POSIX shell reads it in a suggested command: single-quoted when it holds a space or
 * any character the shell would read (`<`, `>`, `|`, `$`, quotes…: `out>dir` unquoted would be a
 * redirect). The placeholder `<dir>` alone is left bare, as the reader replaces it.
 */
export const shellQuote = (path: string) => (path === '<dir>' || /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`)

/** The bundle's bytes that are still what is on disk; a file changed or removed since is read from disk (or not deployed). */
export function stillOnDisk(output: ClientOutput): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>()
  for (const [path, written] of output.files) {
    const stat = statSync(join(output.outDir, path), { throwIfNoEntry: false })
    if (stat?.isFile() && stat.size === written.size && stat.mtimeMs === written.mtimeMs) files.set(path, written.bytes)
  }
  return files
}

/** Whether a directory holds an HTML page (the first found ends the walk). */
export function hasPage(dir: string): boolean {
  if (!existsSync(dir)) return false
  return readdirSync(dir, { recursive: true, withFileTypes: true }).some((dirent) => dirent.isFile() && isHtml(dirent.name))
}

/**
 * Whether a link's path names a page: anything but a file of a known type other than HTML, by
 * the content-type lookup the deploy's headers use. `/about`, `/blog/`, `/docs.html`, and also
 * `/docs/v1.2` or `/users/jane.doe` (a dot, but no file type) are pages; `/feed.xml` is not.
 */
const looksLikePage = (path: string) => {
  const name = path.split('/').at(-1) ?? ''
  if (!name.includes('.')) return true
  const type = knownType(name)
  return type === undefined || type === 'text/html'
}

/** The keys of the redirects a deploy with these options stores into `outDir`'s site (none where its strategy stores no redirects). */
export function deployedRedirects(options: Pick<CollectfastaOptions, 'strategy' | 'redirects'>, outDir: string): string[] {
  if (!options.strategy.websiteRedirects) return []
  return storedRedirects(options.redirects ?? [], outDir).rules.map((rule) => redirectKey(rule.from))
}

/** A page of the directory linking to a page of the same site that the directory does not hold. */
export interface MissingPage {
  /** The linking page, relative to the directory. */
  page: string
  /** The link's path, as the browser asks for it. */
  link: string
}

/**
 * The first link (`<a href>`) of the directory's pages to a page of the same site that is
 * neither a file of the directory, a page (`about` as about/index.html or about.html) nor one of
 * the `redirected` keys (the redirects the deploy stores). In an app with a server, such a page
 * is rendered on request (a route left out of the prerender): the directory alone is a partial
 * site. Links to other sites, outside Vite's `base`, or to other schemes (mailto:) are not the
 * site's; links to files that are not pages (`/feed.xml`, `/download/app.zip`: a file type the
 * deploy's content-type lookup knows, other than HTML) or under `/.well-known/` are a server's or
 * a host's business, not a page. An extension of no known type (`/docs/v1.2`) is a page.
 */
export async function missingPage(dir: string, base: string, redirected: Iterable<string> = []): Promise<MissingPage | undefined> {
  const files = new Set<string>(redirected)
  const pages: string[] = []
  for (const dirent of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!dirent.isFile()) continue
    const path = toPosix(relative(dir, join(dirent.parentPath, dirent.name)))
    files.add(path)
    if (isHtml(path)) pages.push(path)
  }
  const held = (path: string) => (path === '' || path.endsWith('/') ? files.has(`${path}index.html`) : files.has(path) || files.has(`${path}/index.html`) || files.has(`${path}.html`))
  // A relative base ('./') is served from wherever the site is: links from the root are the site's.
  const root = new URL(/^([a-z][a-z\d+.-]*:)?\/\//i.test(base) || base.startsWith('/') ? base : '/', 'http://site.invalid/')
  const { Parser } = await import('htmlparser2')
  for (const page of pages) {
    const hrefs: string[] = []
    let baseHref: string | undefined
    const parser = new Parser({
      onopentag(name, attributes) {
        if (name === 'a' && attributes.href) hrefs.push(attributes.href)
        else if (name === 'base' && attributes.href) baseHref ??= attributes.href
      },
    })
    parser.end(readFileSync(join(dir, page), 'utf8'))
    for (const href of hrefs) {
      let url: URL
      let path: string
      try {
        url = new URL(href, new URL(baseHref ?? '.', new URL(page, root)))
        if (url.origin !== root.origin || !url.pathname.startsWith(root.pathname) || url.pathname.startsWith('/.well-known/')) continue
        path = decodeURIComponent(url.pathname.slice(root.pathname.length))
      } catch {
        continue // not a URL a browser would follow
      }
      if (looksLikePage(path) && !held(path)) return { page, link: url.pathname }
    }
  }
  return undefined
}
