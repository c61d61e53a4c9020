// The facts the plugin gathers about the builds of this process: which builds of an app are
// running, which were server builds, what each client build wrote, and Vite 7+ app builds. The
// plugin's hooks only report here; the rules (decide.ts) read these facts.
import { statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { ResolvedConfig } from 'vite'
import { isSiteEnvironment } from './layout.js'

/** The parts of Vite's plugin context the tracker reads (Vite 6+ environments; Vite 7+ its version). */
export interface BuildContext {
  environment?: { name: string; config?: { consumer?: string } }
  meta: { watchMode: boolean; viteVersion?: string }
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

/** A Vite 7+ app build whose environments Vite builds after every buildApp hook: the last one's closeBundle ends it. */
export interface AppBuild {
  last: string
  servers: string[]
  client?: ResolvedConfig
}

/** Builds of this process by app root (absolute), seen by every copy of the plugin (one process may load two). */
interface ProcessBuilds {
  running: Map<string, number>
  servers: Set<string>
  apps: Map<string, AppBuild>
}

const KEY = Symbol.for('vite-plugin-collectfasta.builds')

function processBuilds(): ProcessBuilds {
  const global = globalThis as { [KEY]?: ProcessBuilds }
  global[KEY] ??= { running: new Map(), servers: new Set(), apps: new Map() }
  return global[KEY]
}

/** The app's root: Vite's root, absolute (the current folder for plain Rollup). */
export const rootOf = (resolved: ResolvedConfig | undefined) => resolve(resolved?.root ?? process.cwd())

/** One build of `root` fewer running. */
function countDown(running: Map<string, number>, root: string): void {
  const left = (running.get(root) ?? 1) - 1
  if (left > 0) running.set(root, left)
  else running.delete(root)
}

/** A bundle's items as Rollup hands them to writeBundle. */
type Bundle = Record<string, { type: string; code?: string; source?: string | Uint8Array }>

/** Each file of `bundle` as it is on disk now (its bytes kept when `keepBytes`), into `output`. */
function noteFiles(output: ClientOutput, bundle: Bundle, keepBytes: boolean): void {
  for (const [fileName, item] of Object.entries(bundle)) {
    const content = item.type === 'chunk' ? item.code : item.source
    const stat = statSync(join(output.outDir, fileName), { throwIfNoEntry: false })
    if (!stat) continue
    const bytes = keepBytes ? (typeof content === 'string' ? Buffer.from(content) : (content ?? new Uint8Array())) : new Uint8Array()
    output.files.set(fileName, { bytes, size: stat.size, mtimeMs: stat.mtimeMs })
  }
}

/** The facts of one plugin instance, over the process's builds. */
export function createTracker() {
  const builds = processBuilds()
  // Vite 5 builds run one inside another (a framework's client build inside its server build)
  // and may share this instance: the config of the build in progress is the last one resolved.
  const configs: ResolvedConfig[] = []
  /** Builds this instance saw start and not yet end (so an end is counted once). */
  let open = 0
  /** What each client build in progress wrote, by its config (builds may overlap). */
  const outputs = new Map<ResolvedConfig | undefined, ClientOutput>()

  /** The config of the build a hook belongs to: Vite 6+ gives each environment its own. */
  const configOf = (context: BuildContext) => (context.environment?.config as ResolvedConfig | undefined) ?? configs.at(-1)

  /** This build's role: the browser's build, or a server (SSR) one; Vite 6+ says it per environment. */
  const isClient = (context: BuildContext) => {
    const environment = context.environment
    if (environment) return isSiteEnvironment(environment.name, environment.config?.consumer)
    return !configOf(context)?.build.ssr
  }

  /** A build of this instance ended (closed, or failed): it no longer counts, and Vite 5's config stack unwinds. */
  const ended = (resolved: ResolvedConfig | undefined) => {
    outputs.delete(resolved)
    if (open === 0) return
    open--
    countDown(builds.running, rootOf(resolved))
    if (configs.length > 1 && configs.at(-1) === resolved) configs.pop()
  }

  return {
    configOf,
    isClient,
    apps: builds.apps,
    resolved(config: ResolvedConfig) {
      configs.push(config)
    },
    started(context: BuildContext) {
      const resolved = configOf(context)
      open++
      const root = rootOf(resolved)
      builds.running.set(root, (builds.running.get(root) ?? 0) + 1)
      if (!isClient(context)) builds.servers.add(root)
      outputs.delete(resolved)
    },
    failed(context: BuildContext) {
      ended(configOf(context))
    },
    /**
     * A client build wrote `bundle` into `outDir`: each file as it is on disk now. Returns the
     * other directory when the same build already wrote into one (a build writing two).
     */
    wrote(context: BuildContext, outDir: string, bundle: Bundle, keepBytes: boolean): string | undefined {
      const resolved = configOf(context)
      let output = outputs.get(resolved)
      if (output && resolve(output.outDir) !== resolve(outDir)) {
        outputs.delete(resolved) // refused: the closeBundle that still comes deploys nothing
        return output.outDir
      }
      if (!output) {
        output = { outDir, files: new Map() }
        outputs.set(resolved, output)
      }
      noteFiles(output, bundle, keepBytes)
      return undefined
    },
    /** A build closed: its config, whether it was the client's, and what it wrote (if a client build). */
    closed(context: BuildContext) {
      const resolved = configOf(context)
      const client = isClient(context) // before ended(): it unwinds Vite 5's config stack
      const written = outputs.get(resolved)
      ended(resolved)
      return { resolved, client, written }
    },
    /** Another build of this root is running in this process. */
    sameRootRunning: (root: string) => builds.running.has(root),
    /** A server (SSR) build of this root ran in this process. */
    serverBuilt: (root: string) => builds.servers.has(root),
  }
}

export type Tracker = ReturnType<typeof createTracker>

/** The directory a Rollup output writes to. */
export const outputDir = (written: { dir?: string; file?: string }) => written.dir ?? (written.file ? dirname(written.file) : undefined)
