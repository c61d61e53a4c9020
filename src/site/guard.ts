// Server code inside what a deploy would upload: a server bundle beside the site's public half,
// or Cloudflare Pages' `_worker.js`. `deploy()` asks before its first request, so the plugin, the
// framework integrations, the CLI and the API refuse it alike, with the same sentence.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { publishedCopy } from './copy.js'
import { PUBLIC_HALVES, SERVER_HALVES, WORKER, deployCommand, shown, toPosix } from './layout.js'
import { hasPage } from './pages.js'

/** A refusal of the site itself (what would be deployed), before any request: the CLI exits 2. */
export class SiteRefusal extends Error {
  readonly code = 'ERR_COLLECTFASTA_REFUSED'
}

/** Whether `path` is a folder. */
export const isDir = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true

/** The files under `path`, at any depth. */
export const filesUnder = (path: string) => readdirSync(path, { recursive: true, withFileTypes: true }).filter((dirent) => dirent.isFile())

/** Whether `path` is a folder holding JavaScript modules (at any depth). */
export const holdsModules = (path: string) => isDir(path) && filesUnder(path).some((file) => /\.[cm]?js$/.test(file.name))

/** Whether `path` is a folder holding a page (at any depth): a folder without one is no site to deploy, nor to suggest. */
export const holdsPage = (path: string) => isDir(path) && hasPage(path)

/**
 * Whether `dir` is itself a site: a home page at its top. Such a folder is never a client/server
 * split, whatever its folders are called (a tutorial's `functions/`, a docs site's `client/` and
 * `server/` sections): the folder holding a split's two halves never has one (`dist` of Vite's
 * splits, Nitro's `.output`, `.vercel/output`, Angular's `dist/app`), and in a split an
 * `index.html` in the server half is the server's template.
 */
export const isSite = (dir: string) => existsSync(join(dir, 'index.html'))

/** Whether the deploy of `dir` would upload a file of `folder` (under it), as `deployed` (its include/exclude) decides. */
const uploadsAny = (dir: string, folder: string, deployed: (path: string) => boolean) =>
  filesUnder(folder).some((file) => deployed(toPosix(relative(dir, join(file.parentPath, file.name)))))

/**
 * A directory to deploy that holds a server bundle beside its public half, at its top or
 * one folder down (`dist` of a `dist/client` + `dist/server` split, Nitro's `.output`, the Build
 * Output API's `.vercel/output` with `static` + `functions`, Angular's `dist/app/browser` +
 * `dist/app/server`): deploying it whole would publish the server's code. The folder holding
 * both halves is never a site itself (no `index.html` at its top), and neither is `dir`: a site's
 * own sections are never a split, whatever they are called. Refused with the half to deploy
 * (only one with a page), unless `deployed` (the deploy's include/exclude) leaves every file of
 * the server half out.
 */
function checkNotServerSplit(dir: string, deployed: (path: string) => boolean, project: string): void {
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
    const published = [publishedCopy(half, project), ...PUBLIC_HALVES.map((name) => join(parent, name))].find((path) => path !== undefined && holdsPage(path))
    throw new SiteRefusal(
      `[collectfasta] ${shown(dir)} holds a server bundle (${shown(server)}) beside the site it publishes, and deploying it whole would make the server's code public: ` +
        (published ? `deploy the public half, ${deployCommand(published)}` : `name the directory the app publishes, ${deployCommand()}`) +
        ' (or leave it out with `exclude`).',
    )
  }
}

/**
 * Cloudflare Pages' advanced mode: `_worker.js` at the top of the directory (a file, or a folder
 * of modules) is the site's server code, run by Pages and never served; a bucket would serve it
 * to anyone. Refused unless `deployed` (the deploy's include/exclude) leaves all of it out.
 */
function checkNoWorker(dir: string, deployed: (path: string) => boolean): void {
  const worker = join(dir, WORKER)
  const stat = statSync(worker, { throwIfNoEntry: false })
  if (!stat || !(stat.isDirectory() ? uploadsAny(dir, worker, deployed) : deployed(WORKER))) return
  throw new SiteRefusal(
    `[collectfasta] ${shown(worker)} is server code (Cloudflare Pages' advanced mode), and deploying it would make it public: ` +
      `leave it out with \`exclude: ['${WORKER}', '${WORKER}/**']\`, or deploy a directory without it.`,
  )
}

/**
 * Refuses server code among what a deploy of `dir` would upload (`deployed`: its include/exclude):
 * a server bundle beside the public half, or `_worker.js`. Called by `deploy()` before any request;
 * `project` (the project's root) is where a copy of the public half is looked for.
 */
export function guardServerCode(dir: string, deployed: (path: string) => boolean, project: string): void {
  checkNotServerSplit(dir, deployed, project)
  checkNoWorker(dir, deployed)
}
