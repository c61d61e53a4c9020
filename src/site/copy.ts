// Where a framework publishes a copy of Vite's client build rather than the build itself.
// Some apps copy the client's directory into the folder they serve and render their pages
// there after Vite is done (Nitro's `public` folder, a host's output folder): the client's
// directory is then a partial site. The rule looks at what is on disk, never at a framework's
// name: another directory holding every file of the client build, byte for byte (HTML pages
// aside: prerendering rewrites them), and a page written there after all of them that the client
// build lacks or holds with other bytes. A plain mirror (GitHub Pages' `docs/`) is not one.
import { type Dirent, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { isHtml } from '../core/headers.js'
import { NEVER_A_SITE, SERVER_HALVES, deployCommand, shown } from './layout.js'

/** How deep under the project a copy is looked for (`dist/analog/public` is 3; `.vercel/output/static` 3). */
const MAX_DEPTH = 4

/** A bound on the folders visited, so a huge project costs milliseconds, not seconds. */
const MAX_DIRS = 4000

function filesOf(dir: string): { path: string; size: number; mtimeMs: number }[] {
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[]
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const full = join(entry.parentPath, entry.name)
      const stat = statSync(full)
      return { path: relative(dir, full), size: stat.size, mtimeMs: stat.mtimeMs }
    })
}

/**
 * The first folder under `root` that holds a file at `probe` (a path relative to them) and that
 * `accept` takes, `outDir` and what it holds aside. Nearest to the build first (breadth-first
 * from its parent folder, then upward to `root`): the copies apps make sit beside the build
 * (`dist/analog/public`, `.output/public`), so a big `content/` elsewhere never hides them.
 * `complete` is false when the bound stopped the search before the whole project was seen.
 */
function holding(root: string, outDir: string, probe: string, accept: (dir: string) => boolean): { found?: string; complete: boolean } {
  const top = resolve(root)
  const self = resolve(outDir)
  const depth = (dir: string) => (dir === top ? 0 : relative(top, dir).split(sep).length)
  const start = dirname(self) === top || dirname(self).startsWith(top + sep) ? dirname(self) : top
  const queue = [start]
  const seen = new Set([self, start])
  for (let index = 0; index < queue.length; index++) {
    if (index === MAX_DIRS) return { complete: false }
    const dir = queue[index] as string
    if (statSync(join(dir, probe), { throwIfNoEntry: false })?.isFile() && accept(dir)) return { found: dir, complete: true }
    const next = dir === top ? [] : [dirname(dir)]
    if (depth(dir) < MAX_DEPTH) {
      try {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          if (entry.isDirectory() && !NEVER_A_SITE.has(entry.name) && !SERVER_HALVES.includes(entry.name)) next.push(join(dir, entry.name))
        }
      } catch {
        // unreadable: not a build of ours
      }
    }
    for (const dir of next) {
      if (seen.has(dir)) continue
      seen.add(dir)
      queue.push(dir)
    }
  }
  return { complete: true }
}

/**
 * One rule for every door: a copy is looked for in the whole project (`root`: the folder with
 * the project's package.json), nearest to `outDir` first, never only inside the build folder: a
 * framework's copy often sits beside it (Nitro's `.output/public`). What it finds is evidence: it
 * refuses the directory and is suggested, never deployed unnamed (decide.ts, COPY_RULE).
 *
 * The directory under `root` that publishes a copy of the client build in `outDir`, if one
 * does: it holds every non-HTML file of `outDir` with the same bytes, and an HTML page written
 * after every file of `outDir` that `outDir` lacks or holds with other bytes (pages rendered once
 * the client build was done; a mirror's pages are the client's own). Symbolic links to
 * `outDir` are `outDir`, not a copy. `written` (the bundle's file names, when known) spares
 * listing `outDir` in the common case, where no folder holds a copy. `warn` hears when the
 * search stopped at its bound before the whole project was seen.
 */
export function publishedCopy(outDir: string, root: string, written?: Iterable<string>, warn?: (message: string) => void): string | undefined {
  const names = written ? [...written] : (readdirSync(outDir, { recursive: true, encoding: 'utf8' }) as string[])
  // One asset finds the candidates (the longest path: a hashed file deep in the assets folder,
  // as a rule); everything is compared only when a folder holds it.
  const probe = names.filter((name) => !isHtml(name)).reduce<string | undefined>((a, b) => (a === undefined || b.length > a.length ? b : a), undefined)
  if (probe === undefined) return undefined
  const search = holding(root, outDir, probe, isCopy(outDir))
  if (!search.complete && warn) {
    // Not a refusal: the copies apps make sit beside the build and were searched; failing every
    // build of a big project for a copy it almost surely lacks would leave no way to deploy it.
    warn(
      `[collectfasta] Looked for a copy of ${shown(outDir)} that the app publishes instead (with pages written there) in the ${MAX_DIRS} folders nearest to it, not in the rest of the project: ${shown(outDir)} is deployed as it is. ` +
        `If the app copies it elsewhere and writes pages there, remove collectfasta() from the Vite plugins and run ${deployCommand()} on that folder after the build.`,
    )
  }
  return search.found
}

/** Whether a folder holds every asset of `outDir` byte for byte and a page written there after them (`outDir`'s listing read once). */
function isCopy(outDir: string): (dir: string) => boolean {
  const self = realpathSync(outDir)
  let client: ReturnType<typeof filesOf> | undefined
  let newest = 0
  return (dir) => {
    if (realpathSync(dir) === self) return false
    if (!client) {
      client = filesOf(outDir)
      newest = Math.max(...client.map((file) => file.mtimeMs))
    }
    /** Whether `dir` holds `path` with the bytes `outDir` holds there. */
    const sameBytes = (path: string) => {
      const size = statSync(join(outDir, path), { throwIfNoEntry: false })?.size
      return size !== undefined && statSync(join(dir, path), { throwIfNoEntry: false })?.size === size && readFileSync(join(dir, path)).equals(readFileSync(join(outDir, path)))
    }
    const same = client.every((file) => isHtml(file.path) || sameBytes(file.path))
    return same && filesOf(dir).some((file) => isHtml(file.path) && file.mtimeMs >= newest && !sameBytes(file.path))
  }
}
