import { type Dirent, existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { dirname, join, posix, resolve } from 'node:path'
import { isHtml } from '../core/headers.js'
import { publishedCopy } from '../site/copy.js'
import { COPY_RULE, decide } from '../site/decide.js'
import { filesUnder, holdsModules, holdsPage, isDir, isSite } from '../site/guard.js'
import { FRAMEWORK_OUTPUTS, NEVER_A_SITE, PUBLIC_HALVES, SERVER_HALVES, VITE_OUT_DIR, deployCommand, shown } from '../site/layout.js'
import { UsageError } from './targets.js'

/**
 * A server bundle's folder found alone (no public half beside it), told from a site's own
 * `server/` section (a docs chapter with a page and an example script): it holds JavaScript
 * modules, and its HTML files, if any, are no site's pages: fewer than the modules (a bundle's
 * template beside its chunks), or all named as server templates (Angular's `index.server.html`).
 */
function isLoneServerBundle(path: string): boolean {
  if (!isDir(path)) return false
  const files = filesUnder(path)
  const modules = files.filter((file) => /\.[cm]?js$/.test(file.name)).length
  const pages = files.filter((file) => isHtml(file.name))
  return modules > 0 && (pages.length < modules || pages.every((file) => /\.server\.html?$/i.test(file.name)))
}

/** A project whose published directory is its adapter's choice: none can be guessed. */
function adapterDecides(cwd: string): string | undefined {
  if (existsSync(join(cwd, '.svelte-kit')) || readdirSync(cwd).some((name) => /^svelte\.config\.[cm]?[jt]s$/.test(name))) return 'SvelteKit'
  return undefined
}

/**
 * The directory the CLI deploys when none is named: the one public directory this project's
 * build left. `outDir` is Vite's `build.outDir` (from vite.config), else `dist`. A client/server
 * split (`dist/client` + `dist/server`, `build/client`, Waku's `dist/public`) deploys its public
 * half; a server bundle alone, several candidates, or a SvelteKit project (its adapter decides)
 * are refused with the command to run, and so is the directory found when the app copied it
 * into another folder of the project with pages written there after it (the copy is suggested).
 * Where nothing is found, the folders holding a built site are named.
 * `log` says which directory was chosen when it is not plainly `outDir`.
 */
export function publishedDir(cwd: string, outDir: string | undefined, log: (message: string) => void): string {
  const framework = adapterDecides(cwd)
  if (framework) {
    throw new UsageError(
      `[collectfasta] This is a ${framework} project: the directory it publishes is its adapter's (adapter-static's \`pages\`, \`build\` by default). ` +
        `Name it (${deployCommand('build')}), or use the integration: \`adapter: collectfasta(adapter(), { strategy })\` from 'vite-plugin-collectfasta/sveltekit'.`,
    )
  }
  const main = resolve(cwd, outDir ?? VITE_OUT_DIR)
  const bases = [...new Set([main, resolve(cwd, 'build')])]
  const found: string[] = FRAMEWORK_OUTPUTS.map((dir) => resolve(cwd, dir)).filter(isDir)
  const servers: string[] = []
  for (const base of bases) {
    if (!isDir(base)) continue
    // A site (a home page at its top) is deployed whole: its `client/` or `server/` are its own sections.
    if (isSite(base)) {
      if (base === main) found.push(base) // `build/` alone is too common a name to guess
      continue
    }
    const beside = SERVER_HALVES.some((name) => holdsModules(join(base, name)))
    // `client` is a public half even alone (an SPA's build/client); another name only beside a server bundle.
    const half = PUBLIC_HALVES.map((name) => join(base, name)).find((path) => isDir(path) && (beside || path === join(base, 'client')))
    const server = half ? undefined : SERVER_HALVES.map((name) => join(base, name)).find(isLoneServerBundle)
    if (half) found.push(half)
    else if (server) servers.push(server)
    else if (base === main) found.push(base)
  }
  const sites = oneEach(found)
  if (sites.length === 1) {
    const dir = sites[0] as string
    refuseCopied(dir, cwd)
    if (dir !== main) log(`[collectfasta] ${shown(dir, cwd)}: the directory this build publishes (name another to override).`)
    return dir
  }
  if (sites.length > 1) {
    throw new UsageError(`[collectfasta] Several built sites here (${sites.map((dir) => shown(dir, cwd)).join(', ')}): name the one to deploy, e.g. ${deployCommand(shown(sites[0] as string, cwd))}.`)
  }
  const [server] = servers
  if (server) {
    // Only a folder with a page is suggested: a public half by another name beside it, else none.
    const half = PUBLIC_HALVES.map((name) => join(dirname(server), name)).find(holdsPage)
    throw new UsageError(
      half
        ? `[collectfasta] ${shown(server, cwd)} is a server bundle, never deployed to a bucket: deploy the public half beside it, ${deployCommand(shown(half, cwd))}.`
        : `[collectfasta] ${shown(server, cwd)} is a server bundle, never deployed to a bucket, and no public directory was found beside it: ` +
            `name the directory the app publishes, ${deployCommand()}.`,
    )
  }
  const built = builtSites(cwd)
  const elsewhere = built.length > 0 ? ` Built sites in this project: ${built.map((dir) => deployCommand(shown(dir, cwd))).join(', ')}.` : ''
  throw new UsageError(`[collectfasta] The directory ${main} does not exist: build first, or name the directory to deploy.${elsewhere}`)
}

/**
 * The site model's copy rule (decide.ts) on the directory found: where the app copied it into
 * another folder of the project and wrote pages there after it (Nitro's `dist/analog/public` in
 * Analog), it is not the whole site. The copy is only suggested: a copy never picks the directory.
 */
function refuseCopied(dir: string, cwd: string): void {
  const copy = publishedCopy(dir, cwd)
  const decision = decide([COPY_RULE], { dir: shown(dir, cwd), copy: copy && shown(copy, cwd) })
  if (decision.action !== 'refuse' || !decision.copy) return
  throw new UsageError(
    `[collectfasta] Nothing deployed, as ${decision.why}: name the directory the app publishes, ${deployCommand(decision.copy)} (${deployCommand(shown(dir, cwd))} if that copy is not the site).`,
  )
}

/** The directories, one per real path (Nuxt links dist to .output/public: one site by two names). */
function oneEach(dirs: string[]): string[] {
  const seen = new Set<string>()
  return dirs.filter((dir) => {
    const path = realpathSync(dir)
    if (seen.has(path)) return false
    seen.add(path)
    return true
  })
}

/** How deep, and how many folders, the search for built sites looks (VuePress's docs/.vuepress/dist is 3 deep). */
const BUILT_DEPTH = 4
const BUILT_DIRS = 2000

/**
 * The folders of the project holding a built site: an `index.html` newer than the project's
 * sources at its top (package.json, `*.config.*`, Vite's source index.html; logs and lock files
 * aside), outside dependencies and caches. Only suggested, never deployed unnamed.
 */
export function builtSites(cwd: string): string[] {
  const sources = readdirSync(cwd, { withFileTypes: true })
    .filter((dirent) => dirent.isFile() && /^(?:package\.json|index\.html?|.*\.config\.[cm]?[jt]s)$/.test(dirent.name))
    .map((dirent) => statSync(join(cwd, dirent.name)).mtimeMs)
  const newest = Math.max(0, ...sources)
  const sites: string[] = []
  const queue: [string, number][] = [[cwd, 0]]
  for (let index = 0; index < queue.length && index < BUILT_DIRS; index++) {
    const [dir, depth] = queue[index] as [string, number]
    const page = statSync(join(dir, 'index.html'), { throwIfNoEntry: false })
    if (dir !== cwd && page?.isFile() && page.mtimeMs > newest) {
      sites.push(dir)
      continue // its folders are its own sections
    }
    if (depth === BUILT_DEPTH) continue
    let entries: Dirent[] = []
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      // unreadable: no site of ours
    }
    for (const entry of entries) {
      if (entry.isDirectory() && !NEVER_A_SITE.has(entry.name) && !SERVER_HALVES.includes(entry.name)) queue.push([join(dir, entry.name), depth + 1])
    }
  }
  return sites
}

/**
 * The folder of the hashed files a Vite build wrote to `dir`, as its build manifest
 * (`.vite/manifest.json`) names them, when they all share one: a framework may set
 * `build.assetsDir` in its own plugin (SolidStart's `_build/assets`), which a config read
 * without running its plugins does not show. Undefined without a manifest, a single folder, or
 * hashes in the files' names.
 */
export function manifestAssetsDir(dir: string): string | undefined {
  let manifest: unknown
  try {
    manifest = JSON.parse(readFileSync(join(dir, '.vite/manifest.json'), 'utf8'))
  } catch {
    return undefined // no manifest (or not one Vite wrote): the usual default applies
  }
  const folders = new Set<string>()
  const hashes: (string | undefined)[] = []
  for (const chunk of Object.values(manifest && typeof manifest === 'object' ? manifest : {})) {
    const { file, css, assets } = (chunk ?? {}) as { file?: unknown; css?: unknown; assets?: unknown }
    for (const path of [file, ...(Array.isArray(css) ? css : []), ...(Array.isArray(assets) ? assets : [])]) {
      if (typeof path !== 'string') continue
      folders.add(posix.dirname(posix.normalize(path)))
      hashes.push(HASHED.exec(posix.basename(path))?.[1])
    }
  }
  // Files named without a hash (`output.entryFileNames: 'static/[name].js'`) change in place:
  // cached for good, a browser would keep the old ones. Every file must end in a hash, and one
  // at least must show a digit or a capital, so `index-frontend.js` is not taken for one.
  const hashed = hashes.length > 0 && hashes.every((hash) => hash !== undefined) && hashes.some((hash) => /[A-Z0-9]/.test(hash ?? ''))
  const [folder] = folders
  return hashed && folders.size === 1 && folder && folder !== '.' && !folder.startsWith('..') && !posix.isAbsolute(folder) ? folder : undefined
}

/** A file name ending in a content hash, as Vite writes them by default: `[name]-[hash].js`, 8 base64url characters (or more). */
const HASHED = /[-.]([\w-]{8,})\.[a-z0-9]+$/i
