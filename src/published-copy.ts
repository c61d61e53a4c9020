// Where a framework publishes a copy of Vite's client build rather than the build itself.
// Some apps copy the client's directory into the folder they serve and render their pages
// there after Vite is done (Nitro's `public` folder, a host's output folder): the client's
// directory is then a partial site. The rule looks at what is on disk, never at a framework's
// name: another directory holding every file of the client build, byte for byte (HTML pages
// aside: prerendering rewrites them), and a page written there after all of them that the client
// build lacks or holds with other bytes. A plain mirror (GitHub Pages' `docs/`) is not one.
import { type Dirent, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

/** Folders never searched: dependencies and version control hold no build of the app. */
const SKIPPED = new Set(['node_modules', '.git'])

/** How deep under the project a copy is looked for (`dist/analog/public` is 3; `.vercel/output/static` 3). */
const MAX_DEPTH = 4

/** A bound on the folders visited, so a huge project costs milliseconds, not seconds. */
const MAX_DIRS = 4000

const isPage = (path: string) => /\.html?$/i.test(path)

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

/** The folders under `root` (depth-first, bounded; `skip` and what it holds aside) that hold a file at `probe` (a path relative to them). */
function holding(root: string, probe: string, skip: string): string[] {
  const found: string[] = []
  const skipped = resolve(skip)
  let visited = 0
  const walk = (dir: string, depth: number) => {
    if (visited++ > MAX_DIRS) return
    if (dir === skipped) return // the client build itself, and what it holds
    if (statSync(join(dir, probe), { throwIfNoEntry: false })?.isFile()) found.push(dir)
    if (depth === MAX_DEPTH) return
    let entries: Dirent[]
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return // unreadable: not a build of ours
    }
    for (const entry of entries) if (entry.isDirectory() && !SKIPPED.has(entry.name)) walk(join(dir, entry.name), depth + 1)
  }
  walk(resolve(root), 0)
  return found
}

/**
 * The directory under `root` that publishes a copy of the client build in `outDir`, if one
 * does: it holds every non-HTML file of `outDir` with the same bytes, and an HTML page written
 * after every file of `outDir` that `outDir` lacks or holds with other bytes (pages rendered once
 * the client build was done; a mirror's pages are the client's own). Symbolic links to
 * `outDir` are `outDir`, not a copy. `written` (the bundle's file names, when known) spares
 * listing `outDir` in the common case, where no folder holds a copy.
 */
export function publishedCopy(outDir: string, root: string, written?: Iterable<string>): string | undefined {
  const names = written ? [...written] : (readdirSync(outDir, { recursive: true, encoding: 'utf8' }) as string[])
  // One asset finds the candidates (the longest path: a hashed file deep in the assets folder,
  // as a rule); everything is compared only when a folder holds it.
  const probe = names.filter((name) => !isPage(name)).reduce<string | undefined>((a, b) => (a === undefined || b.length > a.length ? b : a), undefined)
  if (probe === undefined) return undefined
  const self = realpathSync(outDir)
  const candidates = holding(root, probe, outDir).filter((dir) => realpathSync(dir) !== self)
  if (candidates.length === 0) return undefined
  const client = filesOf(outDir)
  const assets = client.filter((file) => !isPage(file.path))
  const newest = Math.max(...client.map((file) => file.mtimeMs))
  /** Whether `dir` holds `path` with the bytes `outDir` holds there. */
  const sameBytes = (dir: string, path: string) => {
    const size = statSync(join(outDir, path), { throwIfNoEntry: false })?.size
    return size !== undefined && statSync(join(dir, path), { throwIfNoEntry: false })?.size === size && readFileSync(join(dir, path)).equals(readFileSync(join(outDir, path)))
  }
  return candidates.find((dir) => {
    const same = assets.every((file) => sameBytes(dir, file.path))
    return same && filesOf(dir).some((file) => isPage(file.path) && file.mtimeMs >= newest && !sameBytes(dir, file.path))
  })
}
