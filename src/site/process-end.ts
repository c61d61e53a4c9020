// The end of the process, where a build's deploy may have to wait: a build that builds the same
// app again deploys once its last build is over, when the process has nothing left to do
// (`beforeExit`). A process that ends before a waiting deploy ran, a deferred deploy that failed,
// and files written into a deployed directory after its deploy fail the process (non-zero exit)
// with a sentence: never a green build that deployed nothing, or less than the site.
import { type Dirent, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { deployCommand, shown, toPosix } from './layout.js'

/** A deploy waiting for a later point of the process. */
export interface Waiting {
  /** The directory it deploys (absolute). */
  dir: string
  /** Until when: Vite's end of the app build, or the end of the process's builds. */
  until: 'app' | 'process'
  /** Runs the deploy (its final checks included); rejects with the sentence. */
  run: () => Promise<void>
  /** `notDeployed: 'warn'`: not deploying is a warning, the exit code is left alone. */
  warnOnly: boolean
}

/** A deployed directory: its files' size and time as deployed, and how to deploy it again. */
interface Deployed {
  dir: string
  files: Map<string, string>
  redeploy: () => Promise<void>
  warnOnly: boolean
}

/** The size and modification time of every file under `dir`: a change is seen without reading a byte. */
export function statWalk(dir: string): Map<string, string> {
  const files = new Map<string, string>()
  let dirents: Dirent[] = []
  try {
    dirents = readdirSync(dir, { recursive: true, withFileTypes: true })
  } catch {
    return files // removed since: nothing written into it
  }
  for (const dirent of dirents) {
    if (!dirent.isFile()) continue
    const path = join(dirent.parentPath, dirent.name)
    const stat = statSync(path, { throwIfNoEntry: false })
    if (stat) files.set(toPosix(relative(dir, path)), `${stat.size}:${stat.mtimeMs}`)
  }
  return files
}

/** The files of `now` that are new or changed since `then`. */
export function changedSince(then: ReadonlyMap<string, string>, now: ReadonlyMap<string, string>): string[] {
  return [...now].filter(([path, stamp]) => then.get(path) !== stamp).map(([path]) => path)
}

const MAX_NAMED = 5
const named = (paths: string[]) => paths.slice(0, MAX_NAMED).join(', ') + (paths.length > MAX_NAMED ? ` and ${paths.length - MAX_NAMED} more` : '')

export interface ProcessEnd {
  /** Waits for a later point: a later build of the same `key` (the app's root) replaces it. */
  wait(key: string, waiting: Waiting): void
  /** Whether a deploy of `key` waits for the end of the process. */
  waitsForEnd(key: string): boolean
  /** The point came (Vite's end of the app build): the deploy runs now, not at the end. */
  take(key: string): Waiting | undefined
  /** A deploy of `dir` succeeded (`files`: its stat walk before the deploy): files written there later in the process are noticed. */
  deployed(dir: string, files: Map<string, string>, redeploy: () => Promise<void>, warnOnly: boolean): void
}

const KEY = Symbol.for('vite-plugin-collectfasta.process-end')

/** The one ProcessEnd of this process (every copy of the plugin shares it). */
export function processEnd(): ProcessEnd {
  const global = globalThis as { [KEY]?: ProcessEnd }
  global[KEY] ??= createProcessEnd()
  return global[KEY]
}

function fail(message: string, warnOnly: boolean): void {
  process.stderr.write(`${message}\n`)
  if (!warnOnly) process.exitCode ||= 1
}

function createProcessEnd(): ProcessEnd {
  const waiting = new Map<string, Waiting>()
  /** Deploys that waited for the end and are running: a process ended during one (vite-ssg exits 15 s after its build) fails. */
  const running = new Set<Waiting>()
  const deployed = new Map<string, Deployed>()

  /** The process has nothing left to do: run what waited for it, then deploy what was written since a deploy. */
  async function atEnd(): Promise<void> {
    const due = [...waiting].filter(([, w]) => w.until === 'process')
    for (const [key, w] of due) {
      waiting.delete(key)
      running.add(w)
      await w.run().catch((error: Error) => fail(error.message, w.warnOnly))
      running.delete(w)
    }
    for (const d of [...deployed.values()]) {
      const changed = changedSince(d.files, statWalk(d.dir))
      if (changed.length === 0) continue
      const files = statWalk(d.dir)
      await d.redeploy().then(() => {
        d.files = files
      }, (error: Error) => {
        deployed.delete(d.dir)
        fail(`[collectfasta] Files written into ${shown(d.dir)} after its deploy (${named(changed)}) were not deployed: ${error.message}`, d.warnOnly)
      })
    }
  }

  let busy = false
  process.on('beforeExit', (code) => {
    // A failed build (a non-zero exit code set) deploys nothing: the exit handler names what was not deployed.
    if (busy || code !== 0) return
    const due = [...waiting.values()].some((w) => w.until === 'process') || [...deployed.values()].some((d) => changedSince(d.files, statWalk(d.dir)).length > 0)
    if (!due) return
    busy = true
    atEnd().finally(() => {
      busy = false
    })
  })

  // Ended before the deploy could run (a framework's `process.exit` inside the build), or with files written after it.
  process.once('exit', () => {
    for (const w of waiting.values()) {
      const point = w.until === 'app' ? "Vite's end of the app build" : "the end of the app's builds"
      fail(`[collectfasta] The build ended the process before ${point}: ${shown(w.dir)} was NOT deployed: run ${deployCommand(shown(w.dir))}.`, w.warnOnly)
    }
    for (const w of running) {
      fail(`[collectfasta] The process ended during the deploy of ${shown(w.dir)}, which did NOT finish: run ${deployCommand(shown(w.dir))}.`, w.warnOnly)
    }
    for (const d of deployed.values()) {
      const changed = changedSince(d.files, statWalk(d.dir))
      if (changed.length > 0) {
        fail(`[collectfasta] Files written into ${shown(d.dir)} after its deploy were NOT deployed (${named(changed)}): run ${deployCommand(shown(d.dir))}.`, d.warnOnly)
      }
    }
  })

  return {
    wait(key, w) {
      waiting.set(key, w)
    },
    waitsForEnd: (key) => waiting.get(key)?.until === 'process',
    take(key) {
      const w = waiting.get(key)
      waiting.delete(key)
      return w
    },
    deployed(dir, files, redeploy, warnOnly) {
      deployed.set(dir, { dir, files, redeploy, warnOnly })
    },
  }
}
