import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { dirname, join, posix, relative, resolve, sep } from 'node:path'
import { SERVER_HALVES, publishedCopy } from '../published-copy.js'
import { hasPage, shellQuote } from '../published.js'
import { isHtml } from '../core/headers.js'
import { UsageError } from './targets.js'

/** Folders frameworks publish, whole: what a static host serves. */
const PUBLIC_DIRS = ['.vercel/output/static', '.output/public']

/** Names of a server bundle's folder beside the public one (client/server splits). */
const SERVER_DIRS = ['server', 'ssr']

/** Names of a public half beside a server bundle: `client` (Vite's splits), `public` (Nitro's), `browser` (Angular's), `static` (the Build Output API's). */
const PUBLIC_HALVES = ['client', 'public', 'browser', 'static']

const isDir = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true
const shown = (cwd: string, dir: string) => relative(cwd, dir).split(sep).join('/') || '.'

/** `npx collectfasta deploy <dir>`, ready to paste. */
const command = (cwd: string, dir: string) => `\`npx collectfasta deploy ${shellQuote(shown(cwd, dir))}\``

/** The files under `path`, at any depth. */
const filesUnder = (path: string) => readdirSync(path, { recursive: true, withFileTypes: true }).filter((dirent) => dirent.isFile())

/** Whether `path` is a folder holding JavaScript modules (at any depth). */
const holdsModules = (path: string) => isDir(path) && filesUnder(path).some((file) => /\.[cm]?js$/.test(file.name))

/** Whether `path` is a folder holding a page (at any depth): a folder without one is no site to deploy, nor to suggest. */
const holdsPage = (path: string) => isDir(path) && hasPage(path)

/** Whether the deploy of `dir` would upload a file of `folder` (under it), as `deployed` (its include/exclude) decides. */
const uploadsAny = (dir: string, folder: string, deployed: (path: string) => boolean) =>
  filesUnder(folder).some((file) => deployed(relative(dir, join(file.parentPath, file.name)).split(sep).join('/')))

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

/**
 * Whether `dir` is itself a site: a home page at its top. Such a folder is never a client/server
 * split, whatever its folders are called (a tutorial's `functions/`, a docs site's `client/` and
 * `server/` sections): the folder holding a split's two halves never has one (`dist` of Vite's
 * splits, Nitro's `.output`, `.vercel/output`, Angular's `dist/app`), and in a split an
 * `index.html` in the server half is the server's template.
 */
const isSite = (dir: string) => existsSync(join(dir, 'index.html'))

/** A project whose published directory is its adapter's choice: none can be guessed. */
function adapterDecides(cwd: string): string | undefined {
  if (existsSync(join(cwd, '.svelte-kit')) || readdirSync(cwd).some((name) => /^svelte\.config\.[cm]?[jt]s$/.test(name))) return 'SvelteKit'
  return undefined
}

/**
 * The directory the CLI deploys when none is named: the one public directory this project's
 * build left. `outDir` is Vite's `build.outDir` (from vite.config), else `dist`. A client/server
 * split (`dist/client` + `dist/server`, `build/client`) deploys its client half; a server bundle
 * alone, several candidates, or a SvelteKit project (its adapter decides) are refused with the
 * command to run. A split's client half the app copied into another folder of the same build
 * folder, with pages written there after the build (Nitro's `public`), deploys that folder.
 * `log` says which directory was chosen when it is not plainly `outDir`.
 */
export function publishedDir(cwd: string, outDir: string | undefined, log: (message: string) => void): string {
  const framework = adapterDecides(cwd)
  if (framework) {
    throw new UsageError(
      `[collectfasta] This is a ${framework} project: the directory it publishes is its adapter's (adapter-static's \`pages\`, \`build\` by default). ` +
        "Name it (`npx collectfasta deploy build`), or use the integration: `adapter: collectfasta(adapter(), { strategy })` from 'vite-plugin-collectfasta/sveltekit'.",
    )
  }
  const bases = [...new Set([resolve(cwd, outDir ?? 'dist'), resolve(cwd, 'build')])]
  const found: string[] = PUBLIC_DIRS.map((dir) => resolve(cwd, dir)).filter(isDir)
  const servers: string[] = []
  for (const base of bases) {
    if (!isDir(base)) continue
    // A site (a home page at its top) is deployed whole: its `client/` or `server/` are its own sections.
    if (isSite(base)) {
      if (base === resolve(cwd, outDir ?? 'dist')) found.push(base) // `build/` alone is too common a name to guess
      continue
    }
    const client = join(base, 'client')
    const split = isDir(client)
    const server = SERVER_DIRS.map((name) => join(base, name)).find(split ? holdsModules : isLoneServerBundle)
    // A split's client half the app copied elsewhere in the same build folder and wrote its pages
    // there (Nitro's `dist/analog/public` in Analog) is that copy. Only there: a copy of a whole
    // site elsewhere in the project (a native shell's `public`, a backup, the last deploy's
    // `file:` target) is not the build, and a plain mirror has no page of its own.
    if (split) found.push(publishedCopy(client, base) ?? client)
    else if (server) servers.push(server)
    else if (base === resolve(cwd, outDir ?? 'dist')) found.push(base)
  }
  // One site by two names (Nuxt links dist to .output/public) is one site.
  const seen = new Set<string>()
  const sites = found.filter((dir) => {
    const path = realpathSync(dir)
    if (seen.has(path)) return false
    seen.add(path)
    return true
  })
  if (sites.length === 1) {
    const dir = sites[0] as string
    if (dir !== resolve(cwd, outDir ?? 'dist')) log(`[collectfasta] ${shown(cwd, dir)}: the directory this build publishes (name another to override).`)
    return dir
  }
  if (sites.length > 1) {
    throw new UsageError(
      `[collectfasta] Several built sites here (${sites.map((dir) => shown(cwd, dir)).join(', ')}): name the one to deploy, e.g. ${command(cwd, sites[0] as string)}.`,
    )
  }
  const [server] = servers
  if (server) {
    // Only a folder with a page is suggested: a public half by another name beside it, else none.
    const half = PUBLIC_HALVES.map((name) => join(dirname(server), name)).find(holdsPage)
    throw new UsageError(
      half
        ? `[collectfasta] ${shown(cwd, server)} is a server bundle, never deployed to a bucket: deploy the public half beside it, ${command(cwd, half)}.`
        : `[collectfasta] ${shown(cwd, server)} is a server bundle, never deployed to a bucket, and no public directory was found beside it: ` +
            'name the directory the app publishes: `npx collectfasta deploy <dir>`.',
    )
  }
  throw new UsageError(
    `[collectfasta] The directory ${resolve(cwd, outDir ?? 'dist')} does not exist: build first, or name the directory to deploy.`,
  )
}

/**
 * A directory named to deploy that holds a server bundle beside its public half, at its top or
 * one folder down (`dist` of a `dist/client` + `dist/server` split, Nitro's `.output`, the Build
 * Output API's `.vercel/output` with `static` + `functions`, Angular's `dist/app/browser` +
 * `dist/app/server`): deploying it whole would publish the server's code. The folder holding
 * both halves is never a site itself (no `index.html` at its top), and neither is `dir`: a site's
 * own sections are never a split, whatever they are called. Refused with the half to deploy
 * (only one with a page), unless `deployed` (the deploy's include/exclude) leaves every file of
 * the server half out.
 */
export function checkNotServerSplit(cwd: string, dir: string, deployed: (path: string) => boolean): void {
  if (isSite(dir)) return
  const below = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory() && entry.name !== 'node_modules')
  for (const parent of [dir, ...below.map((entry) => join(dir, entry.name))]) {
    if (isSite(parent)) continue
    const half = PUBLIC_HALVES.map((name) => join(parent, name)).find(isDir)
    if (!half) continue
    const server = SERVER_HALVES.map((name) => join(parent, name)).find(holdsModules)
    // include/exclude that leave every file of the server half out lift the refusal; any other filter (`**/*.map`) does not.
    if (!server || !uploadsAny(dir, server, deployed)) continue
    // The half as published: its copy with the pages written there, where the build made one
    // (Analog's dist/analog/public); a half without a page (only a logo) is never suggested.
    const published = [publishedCopy(half, parent), ...PUBLIC_HALVES.map((name) => join(parent, name))].find((path) => path !== undefined && holdsPage(path))
    throw new UsageError(
      `[collectfasta] ${shown(cwd, dir)} holds a server bundle (${shown(cwd, server)}) beside the site it publishes, and deploying it whole would make the server's code public: ` +
        (published ? `deploy the public half, ${command(cwd, published)}` : 'name the directory the app publishes, `npx collectfasta deploy <dir>`') +
        ' (or leave it out with `exclude` in collectfasta.config).',
    )
  }
}

/**
 * Cloudflare Pages' advanced mode: `_worker.js` at the top of the directory (a file, or a folder
 * of modules) is the site's server code, run by Pages and never served; a bucket would serve it
 * to anyone. Refused unless `deployed` (the deploy's include/exclude) leaves all of it out.
 */
export function checkNoWorker(cwd: string, dir: string, deployed: (path: string) => boolean): void {
  const worker = join(dir, '_worker.js')
  const stat = statSync(worker, { throwIfNoEntry: false })
  if (!stat || !(stat.isDirectory() ? uploadsAny(dir, worker, deployed) : deployed('_worker.js'))) return
  throw new UsageError(
    `[collectfasta] ${shown(cwd, worker)} is server code (Cloudflare Pages' advanced mode), and deploying it would make it public: ` +
      "leave it out with `exclude: ['_worker.js', '_worker.js/**']` in collectfasta.config, or deploy a directory without it.",
  )
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
