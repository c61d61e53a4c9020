// The layouts a built site comes in, each folder name written once, and the few pure rules
// about them: a page's file for a URL, the command a refusal suggests. Imports nothing of ours.
import { isAbsolute, relative, sep } from 'node:path'

/**
 * Names of a site's public half beside a server bundle: `client` (Vite's splits), `public`
 * (Nitro's, Waku's), `browser` (Angular's), `static` (the Build Output API's).
 */
export const PUBLIC_HALVES: readonly string[] = ['client', 'public', 'browser', 'static']

/**
 * Names of a server bundle's folder beside a site's public half: `server`, `ssr` (Vite's
 * splits, Nitro's), `functions` (the Build Output API's, Cloudflare's, Firebase's). What a server
 * holds is never the published site.
 */
export const SERVER_HALVES: readonly string[] = ['server', 'ssr', 'functions']

/** Folders frameworks publish whole, relative to the project: what a static host serves. */
export const FRAMEWORK_OUTPUTS: readonly string[] = ['.vercel/output/static', '.output/public']

/** The name of Vite's environment for the browser: the one whose build is the site. */
export const CLIENT = 'client'

/** Whether an environment builds the site: Vite's browser environment (Vite 6+ names it; its consumer is the client). */
export const isSiteEnvironment = (name: string, consumer = 'client') => name === CLIENT && consumer === 'client'

/** Whether an environment is a server's, that may render pages: neither the browser's by name nor one its consumer says is a client. */
export const isServerEnvironment = (name: string, consumer?: string) => name !== CLIENT && consumer !== 'client'

/** Cloudflare Pages' server code at the top of a site (a file, or a folder of modules). */
export const WORKER = '_worker.js'

/** The folder Vite builds into when `build.outDir` is not set. */
export const VITE_OUT_DIR = 'dist'

/**
 * Folders that never hold a published site: dependencies, version control and caches
 * (`.angular/cache` alone can hold thousands of folders). `.output` and `.vercel` are not caches.
 */
export const NEVER_A_SITE: ReadonlySet<string> = new Set(['node_modules', '.git', '.hg', '.svn', '.angular', '.cache', '.svelte-kit', '.nuxt', '.next', '.turbo', '.parcel-cache', '.vite', '.nx', '.yarn', '.pnpm-store', '.temp'])

/**
 * The files a static host answers a URL path with (relative to the site, without the leading
 * slash): `''` and `blog/` are their folder's index.html; `about` is the file `about`, then
 * `about/index.html`, then `about.html`. One rule for links, redirects and clean URLs.
 */
export function urlFiles(path: string): string[] {
  if (path === '' || path.endsWith('/')) return [`${path}index.html`]
  return [path, `${path}/index.html`, `${path}.html`]
}

export const toPosix = (path: string) => path.split(sep).join('/')

/** A directory as the user sees it from the current folder (`.` for the current folder). */
export const shown = (dir: string, from = process.cwd()) => toPosix(relative(from, dir)) || '.'

/** The placeholder a command shows where no directory is known. */
export const SOME_DIR = '<dir>'

/**
 * A path as a POSIX shell reads it in a suggested command: single-quoted when it holds a space or
 * any character the shell would read (`<`, `>`, `|`, `$`, quotes…: `out>dir` unquoted would be a
 * redirect). The placeholder `<dir>` alone is left bare, as the reader replaces it.
 */
export const shellQuote = (path: string) => (path === SOME_DIR || /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`)

/**
 * The command that deploys `dir` (absolute, shown from the current folder; or as the user
 * writes it, when relative), in backquotes, ready to paste: `` `npx collectfasta deploy dist` ``.
 * `to` adds a target (`<target>`), where the reader has none configured.
 */
export function deployCommand(dir: string = SOME_DIR, to?: string): string {
  const path = isAbsolute(dir) ? shown(dir) : dir
  return `\`npx collectfasta deploy ${shellQuote(path)}${to ? ` --to ${to}` : ''}\``
}
