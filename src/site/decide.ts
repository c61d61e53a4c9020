// The decision a door takes about a finished build: deploy its directory, wait for a later point
// (defer), skip it (another tool's build, watch mode), or refuse it with a sentence. The published
// site is known from three sources only: the user named it, an integration reported it, or the
// build proves it (a client build with nothing after it in the process that writes or renders
// pages). Everything below is evidence: it may refuse, defer or suggest, never pick another
// directory. Pure: facts in, a decision out (test/site-decide.test.ts is the table).

/** What the plugin knows about a client build once it has closed. */
export interface ClientBuildFacts {
  /** The warning for a build of another tool's site from the app's config, if this is one. */
  otherSite?: string
  /** Vite's watch mode, and whether the user asked for deploys in it (`watch: true`). */
  watchMode: boolean
  deployInWatch: boolean
  /** A Vite app build (`builder`): 6 calls no plugin at its end; 7+ does (`buildApp`). */
  appBuild?: 'vite6' | 'vite7+'
  /** Another build of the same root is running in this process (it renders or copies after this one). */
  sameRootRunning: boolean
  /** A server (SSR) build of the same root ran before this one in this process. */
  serverBuiltBefore: boolean
  /** An earlier build of the same root in this process waits to deploy at the process's end (it ran inside this one). */
  sameRootWaiting: boolean
  /** The name of an environment other than the client's that this app builds, if any. */
  serverEnvironment?: string
  /** The build writes an SSR manifest (for a server that renders the pages). */
  ssrManifest: boolean
  /** Its directory holds an HTML page. */
  hasPage: boolean
  /** A library build (`build.lib`), or a plain Rollup build: no page expected. */
  library: boolean
}

/** What is on disk once the build (or the process's builds) is over. */
export interface FinalFacts {
  /** The build's directory, as shown to the user. */
  dir: string
  /** Another folder publishing a copy of the build with pages written there after it (shown). */
  copy?: string
  hasPage: boolean
  /** The app's server, if any (its `ssr` environment, a server (SSR) build): it may render pages on request. */
  server?: string
  /** A page's link to a same-site page the directory lacks: `page links to link`. */
  missing?: { page: string; link: string }
  /** A library build, or plain Rollup: no page expected. */
  library: boolean
  /** The client build wrote an SSR manifest, for a server build that renders its pages (`server` is set when one ran in this process). */
  ssrManifest?: boolean
}

export type Decision =
  | { action: 'deploy' }
  /** Wait: for Vite's end of the app build (`app`), or for the end of the process's builds (`process`). */
  | { action: 'defer'; until: 'app' | 'process'; why: string }
  /** Not the app's site, or not asked for: one warning, the build stays green. */
  | { action: 'skip'; rule: string; warning?: string }
  /** `why` completes "this build is not the whole site, as …"; `serverRendered`: a server serves pages it lacks. */
  | { action: 'refuse'; rule: string; why: string; copy?: string; serverRendered?: boolean }

export interface Rule<Facts> {
  name: string
  test: (facts: Facts) => Decision | undefined
}

/** The rules for a client build that just closed, in order: the first that answers decides. */
export const CLIENT_BUILD_RULES: readonly Rule<ClientBuildFacts>[] = [
  { name: 'another tool', test: (f) => (f.otherSite ? { action: 'skip', rule: 'another tool', warning: f.otherSite } : undefined) },
  { name: 'watch', test: (f) => (f.watchMode && !f.deployInWatch ? { action: 'skip', rule: 'watch' } : undefined) },
  {
    name: 'Vite 6 app build',
    test: (f) => (f.appBuild === 'vite6' ? { action: 'refuse', rule: 'Vite 6 app build', why: 'Vite 6 lets no plugin run at the end of an app build (`builder`), where pages may be rendered' } : undefined),
  },
  { name: 'app build', test: (f) => (f.appBuild === 'vite7+' ? { action: 'defer', until: 'app', why: "Vite's end of the app build" } : undefined) },
  {
    name: 'same root again',
    test: (f) =>
      f.sameRootRunning || f.serverBuiltBefore || f.sameRootWaiting
        ? { action: 'defer', until: 'process', why: f.sameRootRunning ? 'another build of this app is running in this process' : f.serverBuiltBefore ? 'a server (SSR) build of this app ran before it in this process' : 'another build of this app ran inside it' }
        : undefined,
  },
  {
    name: 'server environment',
    test: (f) => (f.serverEnvironment ? { action: 'refuse', rule: 'server environment', why: `the app has a \`${f.serverEnvironment}\` environment that renders its pages` } : undefined),
  },
  // A render pass that follows is only known once it ran (vite-ssg: a client build with an SSR
  // manifest, then a server build of the same root that renders every page into its directory; a
  // static-generation step after a client build without pages): wait for the end of the process's
  // builds, where FINAL_RULES refuse a directory still without its pages ('SSR manifest', 'no
  // page'). Watch mode has no such end: the final rules answer at once.
  {
    name: 'render after',
    test: (f) =>
      !f.watchMode && (f.ssrManifest || (!f.hasPage && !f.library))
        ? { action: 'defer', until: 'process', why: f.ssrManifest ? 'it writes an SSR manifest, for a server build that may render its pages after it' : 'it has no page yet, which a later build of this app may render' }
        : undefined,
  },
]

/**
 * A copy of the directory elsewhere in the project, with pages written there after it
 * (copy.ts): the directory is then not the whole site. Evidence: it refuses and suggests the
 * copy, never deploys it. Asked by the plugin (FINAL_RULES) and by the CLI of the directory it
 * found when none was named.
 */
export const COPY_RULE: Rule<Pick<FinalFacts, 'dir' | 'copy'>> = {
  name: 'copy',
  test: (f) => (f.copy ? { action: 'refuse', rule: 'copy', why: `Vite's client build (${f.dir}) is copied into ${f.copy}, where the app writes its pages after it`, copy: f.copy } : undefined),
}

/** The rules once the output is final (at once, or at the deferred point), in order. */
export const FINAL_RULES: readonly Rule<FinalFacts>[] = [
  COPY_RULE,
  {
    name: 'SSR manifest',
    test: (f) =>
      f.ssrManifest && !f.server ? { action: 'refuse', rule: 'SSR manifest', why: 'it writes an SSR manifest, for a server that renders the pages, and no server build of the app followed it in this process' } : undefined,
  },
  {
    name: 'no page',
    test: (f) =>
      f.library || f.hasPage
        ? undefined
        : f.server
          ? { action: 'refuse', rule: 'no page', why: `its pages are rendered by its ${f.server}, not written to ${f.dir}`, serverRendered: true }
          : { action: 'refuse', rule: 'no page', why: 'it has no HTML page (a server, or a later build step, renders the pages)' },
  },
  {
    name: 'missing page',
    test: (f) =>
      f.server && f.missing
        ? {
            action: 'refuse',
            rule: 'missing page',
            why: `${f.missing.page} links to ${f.missing.link}, a page not in ${f.dir} that its ${f.server} or another server renders (prerender every page to keep the plugin)`,
            serverRendered: true,
          }
        : undefined,
  },
]

/** The first rule's answer; `deploy` when none answers. */
export function decide<Facts>(rules: readonly Rule<Facts>[], facts: Facts): Decision {
  for (const rule of rules) {
    const decision = rule.test(facts)
    if (decision) return decision
  }
  return { action: 'deploy' }
}
