/**
 * Every default of the plugin, `deploy()`, prune, compress and the built-in strategies, in one
 * place. It imports nothing, so strategies read their defaults without loading the core.
 */
const MiB = 1024 * 1024

export const DEFAULTS = {
  enabled: true,
  dryRun: false,
  // Measured (bench/RESULTS.md, first deploy of 2,000 and 10,000 files): 64 is 10 % faster than
  // 32 at a 20 ms round trip and 30 % at 80 ms, and level at 0 ms. Memory is bounded by
  // `uploadMemory`, not by this. The filesystem suggests 8.
  concurrency: 64,
  cacheDir: 'node_modules/.cache/vite-plugin-collectfasta',
  force: false,
  defaultCacheControl: 'public, max-age=0, must-revalidate',
  source: 'bundle' as const,
  watch: false,
  notDeployed: 'fail' as const,
  assetsDir: 'assets',
  manifest: '.collectfasta/manifest.json',
  trustRemoteManifest: false,
  trustCache: false,
  verify: false,
  progress: true,
  directoryIndex: { slash: true, bare: false, html: false },
  prune: { keepDeploys: 3, maxDeletes: 256, unknown: false, minShare: 0.5 },
  compress: {
    gzip: true,
    /** Beside the original (`.br`, the filesystem strategy): on. In place of it (object storages): only when set to `true`. */
    brotli: { siblings: true, inPlace: false },
    match: '**/*.{js,mjs,cjs,css,html,htm,svg,json,map,txt,xml,wasm,webmanifest,ico}',
    minSize: 1024,
  },
  /**
   * The largest deploy manifest read back (S3 / GCS GET, a directory's file): a bucket others can
   * write must not make the deploy read without end. 100,000 paths over 5 deploys is ≈ 20 MB.
   */
  maxManifestBytes: 256 * MiB,
  /** Bytes of upload bodies held in memory at once (whole small files and large files' parts). */
  uploadMemory: 256 * MiB,
  filesystem: { concurrency: 8 },
  /** Listing pages (1,000 keys each) after which a listing that still says "more" is stopped as endless. */
  maxListPages: 100_000,
  s3: { multipartThreshold: 8 * MiB, partSize: 8 * MiB, partConcurrency: 4, maxAttempts: 3, timeout: 10_000, requestTimeout: 120_000, connectionTimeout: 10_000 },
  gcs: { resumableThreshold: 8 * MiB, maxAttempts: 3, timeout: 10_000, requestTimeout: 120_000 },
  azure: { blockThreshold: 8 * MiB, blockSize: 8 * MiB, blockConcurrency: 4, maxAttempts: 3, timeout: 10_000, requestTimeout: 120_000, connectionTimeout: 10_000,
    /** A token credential's token is asked for again this many ms before it expires. */
    tokenRefreshMargin: 120_000 },
} as const
