import { DEFAULTS } from './defaults.js'
import type { DeployReport, Logger } from './report.js'
import type { Strategy } from './strategy.js'

export { DEFAULTS }

/** A header rule: every rule whose `match` fits a file applies, later rules win. */
export interface HeaderRule {
  /** Glob(s) matched against the path relative to outDir (dot files included). */
  match: string | string[]
  /** Cache-Control for the matching files. */
  cacheControl?: string
  /** Content-Type for the matching files, instead of the one looked up by extension. */
  contentType?: string
  /** Content-Encoding, for files you compressed yourself. */
  contentEncoding?: string
  /** Metadata stored with the object (S3 `x-amz-meta-*`, GCS custom metadata); merged. */
  metadata?: Record<string, string>
}

/** Precompression of text files before upload. */
export interface CompressOptions {
  /**
   * Compress with gzip (level 9), the encoding every HTTP client reads. On object storages the
   * gzip bytes are stored under the original key, with Content-Encoding: gzip.
   * @default true
   */
  gzip?: boolean
  /**
   * Compress with brotli (quality 11). Next to the original (`.br`, filesystem strategy): on by
   * default. In place of it (object storages): only when set to `true`, since a client that did
   * not ask for brotli (curl, bots, some proxies) then gets bytes it cannot read, and CloudFront
   * does not negotiate an object that carries a Content-Encoding.
   * @default true for siblings; false in place
   */
  brotli?: boolean
  /**
   * Which files (relative to outDir). Already-compressed formats (images, fonts, video) do not pay.
   * @default '**\/*.{js,mjs,cjs,css,html,htm,svg,json,map,txt,xml,wasm,webmanifest,ico}'
   */
  match?: string | string[]
  /**
   * Smaller files are left alone: their headers cost more than compression saves.
   * @default 1024
   */
  minSize?: number
}

/** Deleting what recent deploys no longer use, after a grace period. */
export interface PruneOptions {
  /**
   * Keep every file of this many recent deploys (this one included), so browsers holding an
   * older HTML page still find its chunks.
   * @default 3
   */
  keepDeploys?: number
  /**
   * Refuse (with a warning) to delete more than this many objects in one deploy.
   * @default 256
   */
  maxDeletes?: number
  /**
   * Also delete objects under the prefix that no recorded deploy wrote (costs one listing).
   * @default false
   */
  unknown?: boolean
  /**
   * Refuse (with a warning; the deploy itself goes through) when this deploy has fewer files
   * than this share of the last full deploy's: an empty or half-written output (a failed step
   * that exited 0, a wrong outDir) must not delete the live site. `0` allows it, for the one
   * deploy where the site really shrank.
   * @default 0.5
   */
  minShare?: number
}

/** Options shared by the plugin and `deploy()`. */
export interface DeployCommonOptions {
  /** Where to deploy: `filesystem()`, `s3()`, `gcs()`, `azure()`, or your own `defineStrategy({...})`. */
  strategy: Strategy
  /**
   * Report what would be uploaded, and why, without uploading or caching anything.
   * `COLLECTFASTA_DRY_RUN=1` turns it on.
   * @default false
   */
  dryRun?: boolean
  /**
   * Uploads in flight at once. The default suits network storages: enough parallel
   * requests to hide latency, few enough to stay clear of socket limits and throttling (a
   * SlowDown halves it anyway).
   * @default strategy's suggestion, else 64
   */
  concurrency?: number
  /**
   * Where the checksum cache lives (relative to the project root).
   * @default 'node_modules/.cache/vite-plugin-collectfasta'
   */
  cacheDir?: string
  /**
   * Only deploy files matching these globs (relative to outDir): a partial deploy. It looks at
   * these files only, never prunes by them, and the cache vouches afterwards only for what it
   * already vouched for. @default all files
   */
  include?: string | string[]
  /**
   * Never deploy files matching these globs (relative to outDir). A filter of the site, not a
   * partial deploy: what it excludes is no longer part of the site, so prune deletes it from the
   * storage once it falls out of the kept deploys. To deploy a few files once, use `include`.
   * @default none
   */
  exclude?: string | string[]
  /**
   * Upload every file, ignoring the cache and the storage's listing.
   * @default false
   */
  force?: boolean
  /**
   * Header rules, applied in order over the defaults; later rules win.
   * @default []
   */
  headers?: HeaderRule[]
  /**
   * Cache-Control for files that are neither under `assetsDir` nor HTML (public/ files).
   * @default 'public, max-age=0, must-revalidate'
   */
  defaultCacheControl?: string
  /** Write the JSON report to this path (relative to the project root). @default undefined */
  reportFile?: string
  /**
   * Path (under the prefix) of the deploy manifest written after every deploy that changed
   * something; `false` turns it off. It is public wherever the prefix is public.
   * @default '.collectfasta/manifest.json'
   */
  manifest?: string | false
  /**
   * On a cold cache, trust the remote manifest and skip the listing. Only safe when nothing
   * but this plugin writes under the prefix.
   * @default false
   */
  trustRemoteManifest?: boolean
  /**
   * Trust the local cache without asking the storage. By default a deploy with a warm cache
   * first asks one cheap question (a HEAD of the deploy manifest, no body) and trusts the cache
   * only if nobody else deployed since it last did; `true` skips that request, which is only
   * right when this one machine is the only deployer of the target.
   * @default false
   */
  trustCache?: boolean
  /**
   * Also list the storage and restore anything missing or different from the build (reason
   * `missing` / `changed`), whatever the cache says: catches objects deleted or changed behind
   * the deploy's back (by hand, by a lifecycle rule), which a warm deploy cannot see. Costs one
   * listing (a request per 1,000 objects). `collectfasta check` reports the same without writing.
   * @default false
   */
  verify?: boolean
  /**
   * The id of this site, recorded with each deploy in the deploy manifest: prune refuses to
   * run where the manifest holds another site's deploys (two sites sharing one prefix).
   * @default the `name` in the project's package.json, else 'site'
   */
  site?: string
  /**
   * A label recorded with this deploy's release (`collectfasta releases` shows it), e.g. a
   * version number. The commit and CI run are found without it.
   * @default the `COLLECTFASTA_RELEASE` environment variable, else none
   */
  release?: string
  /**
   * Delete objects that the last `keepDeploys` deploys did not write, after every upload
   * succeeded. Off by default; `true` means `{}` (all defaults).
   * @default false
   */
  prune?: boolean | PruneOptions
  /**
   * Precompress text files: object storages store the compressed bytes under the same key with
   * Content-Encoding (brotli when on, else gzip); the filesystem strategy writes `.br` / `.gz`
   * siblings. `true` means `{}` (brotli and gzip, default match and minSize).
   * @default false
   */
  compress?: boolean | CompressOptions
  /**
   * Clean URLs on plain buckets behind a CDN, where `GET /about/` finds no object: also store
   * each `dir/index.html` under `dir/` (`slash`, on with `true`) and `dir` (`bare`), and each
   * `page.html` under `page` (`html`), with the HTML's headers, uploaded last with the HTML,
   * recorded in the manifest and pruned like any file. Object storages only: a web server
   * serving a directory maps these URLs itself.
   * @default false
   */
  directoryIndex?: boolean | { slash?: boolean; bare?: boolean; html?: boolean }
  /**
   * Redirects stored as objects (S3 website redirects, x-amz-website-redirect-location), uploaded
   * with the HTML, recorded in the manifest and pruned once their rule is gone. The plain rules
   * of a `_redirects` file in the output are added when the strategy can store redirects.
   * Refused for storages without per-object redirects (GCS, a directory).
   * @default []
   */
  redirects?: { from: string; to: string }[]
  /**
   * On GitHub Actions (GITHUB_ACTIONS=true): append a summary of the deploy to the step summary,
   * annotate failed keys (`::error::`) and prune refusals (`::warning::`), and fold a dry run's
   * per-file lines into a group. `false` turns it off.
   * @default true
   */
  githubActions?: boolean
  /**
   * Called after a successful deploy (not a dry run) with the report, e.g. to invalidate a CDN.
   * @default undefined
   */
  onDeployed?: (report: DeployReport) => void | Promise<void>
}

/** Options of `deploy()`: the shared ones plus where the files are and how to run. */
export interface DeployOptions extends DeployCommonOptions {
  /** The directory to deploy. */
  outDir: string
  /** Files already in memory, by POSIX path relative to outDir; the rest is read from outDir. */
  files?: Map<string, Uint8Array>
  /** Vite's `build.assetsDir`: files under it have hashed names. @default 'assets' */
  assetsDir?: string
  /** Root for relative `cacheDir` and `reportFile`. @default process.cwd() */
  root?: string
  /** Cancels the deploy: no new upload starts; the cache keeps what was confirmed. */
  signal?: AbortSignal
  /** Where messages go. @default console */
  logger?: Logger
  /** Show a progress line on an interactive terminal when uploads take long. @default true */
  progress?: boolean
  /**
   * On SIGINT or SIGTERM, start no new request, abandon reads still waiting, let the uploads in
   * flight finish, save the cache and fail with a one-line account (a second signal ends the
   * process at once). The plugin sets it.
   * @default false
   */
  handleSignals?: boolean
}

export interface CollectfastaOptions extends DeployCommonOptions {
  /**
   * Turn the plugin off. `COLLECTFASTA_ENABLED=false` (or `0`) also turns it off.
   * @default true
   */
  enabled?: boolean
  /**
   * Where the bytes come from: `'bundle'` uses the output already in memory and reads only the
   * files that are not in the bundle (public/, other plugins' output); `'outDir'` reads
   * everything from disk.
   * @default 'bundle'
   */
  source?: 'bundle' | 'outDir'
  /**
   * In `vite build --watch`, deploy after the first build and after each rebuild. When false,
   * watch mode deploys nothing (not even the first build) and says so once per session.
   * @default false
   */
  watch?: boolean
  /**
   * What a build that did not deploy does: `'fail'` fails it (a refusal, a deploy left undone
   * because the process ended first, a deferred deploy that failed, files written after the
   * deploy); `'warn'` prints the same sentence as a warning and leaves the exit code alone.
   * Another tool's build of the app's config (Storybook, Histoire) is never the app's site: it
   * is skipped with a warning whatever this says.
   * @default 'fail'
   */
  notDeployed?: 'fail' | 'warn'
}
