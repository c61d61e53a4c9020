// One timed deploy by this project, in a process of its own (so its peak RSS is its own).
// Input: one JSON argument. Output: one JSON line on stdout.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { collectfasta, deploy } from '../dist/index.js'
import { s3 } from '../dist/strategies/s3.js'

const job = JSON.parse(process.argv[2])

/** An S3Client as a user would pass it, sockets enough for the concurrency (as the strategy sized its own before). */
async function sdkClient({ endpoint, concurrency }) {
  const { S3Client } = await import('@aws-sdk/client-s3')
  const sockets = { keepAlive: true, maxSockets: Math.max(50, concurrency) }
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: sockets, httpsAgent: sockets },
    cacheMiddleware: true,
  })
}
const strategy = s3({
  bucket: job.bucket,
  prefix: job.prefix,
  endpoint: job.endpoint,
  forcePathStyle: true,
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  multipartThreshold: 5 * 1024 * 1024,
  partSize: 5 * 1024 * 1024,
  // The `client` option: every request through the AWS SDK instead of the lean transport.
  client: job.sdk ? await sdkClient(job) : undefined,
})
const common = { strategy, cacheDir: job.cacheDir, concurrency: job.concurrency, logger: { info() {}, warn: (m) => console.error(m) }, progress: false }

let result
if (job.mode === 'vite') {
  // A real `vite build` whose public dir is the synthetic output; the plugin deploys dist/.
  const { build } = await import('vite')
  writeFileSync(join(job.appDir, 'index.html'), '<!doctype html><script type="module" src="/main.js"></script>')
  writeFileSync(join(job.appDir, 'main.js'), "document.body.append('bench')")
  const plugin = collectfasta(common)
  const started = performance.now()
  await build({
    root: job.appDir,
    publicDir: job.dir,
    configFile: false,
    logLevel: 'silent',
    build: { outDir: join(job.appDir, 'dist'), emptyOutDir: true },
    plugins: [plugin],
  })
  const report = plugin.api.report
  result = { ms: performance.now() - started, deployMs: report.durationMs, report }
} else {
  let files
  if (job.mode === 'bundle') {
    // The plugin's default: the bytes are in memory already (Rollup's bundle); load them untimed.
    files = new Map()
    for (const dirent of readdirSync(job.dir, { recursive: true, withFileTypes: true })) {
      if (!dirent.isFile()) continue
      const path = join(dirent.parentPath, dirent.name)
      files.set(relative(job.dir, path).split(sep).join('/'), readFileSync(path))
    }
  }
  const started = performance.now()
  const report = await deploy({ ...common, outDir: job.dir, files })
  result = { ms: performance.now() - started, deployMs: report.durationMs, report }
}
const { report } = result
console.log(
  JSON.stringify({
    deployMs: result.deployMs,
    uploaded: report.uploaded.length,
    uploadedKeys: report.uploaded.map((u) => u.key.slice(job.prefix.length)),
    skipped: report.skipped.length,
    requests: report.requests,
  }),
)
