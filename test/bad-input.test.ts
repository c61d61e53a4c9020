import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type DeployOptions, type DeployReport, collectfasta, deploy } from '../src/index.js'
import { filesystem } from '../src/strategies/filesystem.js'
import { gcs } from '../src/strategies/gcs.js'
import { s3 } from '../src/strategies/s3.js'
import { failureMessage } from '../src/report.js'
import { writeTree } from './helpers.js'
import { S3_BUCKET } from './setup/servers.js'
import { memory } from './strategies/memory.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function site(files: Record<string, string> = { 'index.html': '<h1>hi</h1>', 'assets/a-1.js': 'a()', 'robots.txt': 'ok' }) {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-bad-'))
  dirs.push(root)
  writeTree(join(root, 'dist'), files)
  const strategy = memory()
  const messages: string[] = []
  const run = (options: Partial<DeployOptions> = {}) =>
    deploy({ outDir: 'dist', root, strategy, logger: { info: (m) => void messages.push(m), warn: (m) => void messages.push(m) }, ...options })
  return { root, outDir: join(root, 'dist'), strategy, messages, run }
}

describe('bad input: one clear error, nothing written', () => {
  it.each([
    ['filesystem without dir', () => filesystem({} as never), /\[fs\] Missing required option `dir`/],
    ['s3 without bucket', () => s3({} as never), /\[s3\] Missing required option `bucket`/],
    ['gcs without bucket', () => gcs({} as never), /\[gcs\] Missing required option `bucket`/],
    ['s3 with a bad endpoint', () => s3({ bucket: 'b', endpoint: 'minio:9000' }), /Expected `endpoint` to be a URL/],
    ['s3 with a part below 5 MiB', () => s3({ bucket: 'b', partSize: 1 }), /at least 5 MiB/],
    ['gcs with a bad maxAttempts', () => gcs({ bucket: 'b', maxAttempts: -1 }), /Expected `maxAttempts` to be an integer ≥ 1/],
    ['s3 with prefix /', () => s3({ bucket: 'b', prefix: '/' }), /names no folder: leave `prefix` out/],
    ['gcs with prefix ..', () => gcs({ bucket: 'b', prefix: '../x' }), /not a plain path/],
    ['the plugin with compress.minSize -1', () => collectfasta({ strategy: memory(), compress: { minSize: -1 } }), /`compress.minSize` to be an integer ≥ 0/],
    ['the plugin with prune.keepDeploys 0', () => collectfasta({ strategy: memory(), prune: { keepDeploys: 0 } }), /`prune.keepDeploys` to be an integer ≥ 1/],
    ['a strategy with concurrency 0', () => collectfasta({ strategy: { ...memory(), concurrency: 0 } }), /`strategy.concurrency` to be an integer ≥ 1 \(the strategy would upload nothing\), got number 0/],
    ['prune without the manifest', () => collectfasta({ strategy: memory(), prune: true, manifest: false }), /`prune` needs the deploy manifest/],
    ['the plugin with manifest ../m.json', () => collectfasta({ strategy: memory(), manifest: '../m.json' }), /`manifest` to be false or a relative path/],
    [
      'prune with a strategy that cannot delete',
      () => collectfasta({ strategy: { ...memory(), delete: undefined }, prune: true }),
      /`prune` needs a strategy that can delete, and memory has no `delete`: remove `prune`/,
    ],
    [
      'prune with a strategy that cannot read the manifest',
      () => collectfasta({ strategy: { ...memory(), get: undefined }, prune: true }),
      /`prune` needs the deploy manifest, which memory cannot read back \(no `get`\)/,
    ],
    [
      'an explicit manifest with a strategy that cannot read it',
      () => collectfasta({ strategy: { ...memory(), get: undefined }, manifest: 'm.json' }),
      /needs a strategy that can read it back, and memory has no `get`: set `manifest: false`/,
    ],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(message)
  })

  /**
   * The first requests (the deploy manifest's stat, then, for a cache that cannot vouch, the
   * listing) go out while the files are scanned: reads only, nothing written.
   */
  const expectReadsOnly = (calls: string[]) => {
    expect(calls[0]).toBe('stat:.collectfasta/manifest.json')
    expect(calls.filter((call) => !/^(stat|list|get)\b/.test(call))).toEqual([])
  }

  it('an empty outDir', async () => {
    const { outDir, run, strategy } = site({})
    mkdirSync(outDir)
    await expect(run()).rejects.toThrow(/Nothing to deploy: .*dist has no files\. Build first/)
    expectReadsOnly(strategy.calls)
  })

  it('a cacheDir that cannot be written', async () => {
    const { root, run, strategy } = site()
    writeFileSync(join(root, 'not-a-dir'), '')
    await expect(run({ cacheDir: 'not-a-dir/cache' })).rejects.toThrow(/cache directory .*not-a-dir\/cache is not writable .*nothing was uploaded/)
    expect(strategy.calls).toEqual([])
  })

  it.each([
    ['../escape.js', /not a plain relative path/],
    ['/etc/passwd', /not a plain relative path/],
    ['a\\b.js', /backslash/],
    ['nul\0.js', /NUL/],
    [`${'x'.repeat(1100)}.js`, /key would be 1103 bytes, storages allow 1024/],
  ])('a key %#: %s', async (name, message) => {
    const { run, strategy } = site()
    await expect(run({ files: new Map([[name, Buffer.from('x')]]) })).rejects.toThrow(message)
    expectReadsOnly(strategy.calls)
  })

  it('a file that changes on disk between hashing and upload is not uploaded with a stale hash', async () => {
    const { outDir, run, strategy } = site()
    const upload = strategy.upload.bind(strategy)
    let once = false
    strategy.upload = async (file, ctx) => {
      if (!once) {
        once = true // while the first (hashed) asset uploads, the build rewrites robots.txt
        writeFileSync(join(outDir, 'robots.txt'), 'changed behind our back, and longer')
      }
      return upload(file, ctx)
    }
    const error = await run().catch((e: Error & { report: DeployReport }) => e)
    expect((error as Error).message).toMatch(/robots\.txt: changed on disk while deploying/)
    expect(strategy.objects.has('robots.txt')).toBe(false)
    expect(strategy.objects.has('index.html')).toBe(false)
  })

  it('a file that disappears before its upload', async () => {
    const { outDir, run, strategy } = site()
    const upload = strategy.upload.bind(strategy)
    strategy.upload = async (file, ctx) => {
      if (file.key === 'assets/a-1.js') unlinkSync(join(outDir, 'robots.txt'))
      return upload(file, ctx)
    }
    await expect(run()).rejects.toThrow(/robots\.txt: disappeared on disk while deploying/)
  })
})

describe('a cache that cannot be saved after the uploads', () => {
  it('warns with what is true, and its own cleanup never hides why', async () => {
    const { root, run, strategy, messages } = site()
    const upload = strategy.upload.bind(strategy)
    strategy.upload = async (file, ctx) => {
      if (file.key === 'index.html') {
        // The cache directory becomes a file while the deploy runs: the save must fail.
        rmSync(join(root, 'node_modules/.cache/vite-plugin-collectfasta'), { recursive: true, force: true })
        writeFileSync(join(root, 'node_modules/.cache/vite-plugin-collectfasta'), 'not a directory')
      }
      return upload(file, ctx)
    }
    const report = await run()
    expect(report.uploaded).toHaveLength(3)
    const warning = messages.find((m) => m.includes('Could not write the cache file'))
    expect(warning).toMatch(/Could not write the cache file .*checksums\.json: .*\. Every upload it would have recorded is stored; the next deploy checks the storage for them\./)
    expect(warning).not.toMatch(/succeeded/)
  })
})

describe('files that cannot be read name themselves', () => {
  it.skipIf(process.platform === 'darwin' || process.platform === 'win32')('a name that is not valid UTF-8 (Linux allows any bytes; macOS and Windows refuse them)', async () => {
    const { outDir, run, strategy } = site()
    writeFileSync(Buffer.concat([Buffer.from(`${outDir}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]), 'x')
    await expect(run()).rejects.toThrow(/Cannot read `bad-\uFFFD\uFFFD\.txt` in outDir: its name is not valid UTF-8, so it cannot be opened or stored by name\. Rename it or exclude it\./)
    expect(strategy.calls.filter((c) => c.startsWith('upload'))).toEqual([])
  })

  it('a file over 2 GiB to a custom strategy that reads `body` whole (a sparse file: no disk used)', async () => {
    const { outDir, run } = site()
    const big = join(outDir, 'video/big.mp4')
    mkdirSync(join(outDir, 'video'))
    writeFileSync(big, '')
    truncateSync(big, 2_200_000_000)
    // The built-in strategies read it in ranges (test/large-files.test.ts); `body` cannot hold it.
    await expect(run()).rejects.toThrow(/video\/big\.mp4: `video\/big\.mp4` is 2200000000 bytes, more than one buffer holds: this strategy reads `body`\. Read large files with `file\.read\(start, end\)` instead\./)
  })
})

describe('secrets never appear in logs, errors or the report', () => {
  const secret = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY-never-print'
  it.each([
    ['refused credentials', () => inject('s3rverEndpoint')],
    ['a refused connection', () => 'http://127.0.0.1:9'],
  ])('%s', async (_name, endpoint) => {
    const { root, messages } = site()
    const strategy = s3({ bucket: S3_BUCKET, endpoint: endpoint(), forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: secret } })
    const error = (await deploy({
      outDir: 'dist',
      root,
      strategy,
      reportFile: 'report.json',
      logger: { info: (m) => void messages.push(m), warn: (m) => void messages.push(m) },
    }).catch((e: unknown) => e)) as Error & { report?: DeployReport }
    expect(error).toBeInstanceOf(Error)
    const seen = [error.message, String(error.stack), JSON.stringify(error.report ?? {}), ...messages].join('\n')
    expect(seen).toMatch(/\[s3\]/) // the error is there and explained…
    expect(seen).not.toContain(secret) // …without the secret
    expect(seen).not.toContain(secret.slice(0, 12))
  })

  it.each([
    ['s3, credentials in the endpoint URL, refused', 's3'],
    ['gcs, a service account key, no server', 'gcs'],
  ])('%s: not in errors, messages, the report, the report file or the cache', async (_name, kind) => {
    const { root, messages } = site()
    const url = new URL(inject('s3rverEndpoint'))
    const emulator = process.env.STORAGE_EMULATOR_HOST
    const strategy =
      kind === 's3'
        ? s3({ bucket: S3_BUCKET, endpoint: `http://AKIAEXAMPLE:${secret}@${url.host}`, forcePathStyle: true, maxAttempts: 1 })
        : gcs({ bucket: 'b', projectId: 'p', maxAttempts: 1, credentials: { client_email: 'deploy@p.iam.gserviceaccount.com', private_key: `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n` } })
    if (kind === 'gcs') process.env.STORAGE_EMULATOR_HOST = 'http://127.0.0.1:9'
    const error = (await deploy({
      outDir: 'dist',
      root,
      strategy,
      cacheDir: 'cache',
      reportFile: 'report.json',
      logger: { info: (m) => void messages.push(m), warn: (m) => void messages.push(m) },
    })
      .catch((e: unknown) => e)
      .finally(() => {
        process.env.STORAGE_EMULATOR_HOST = emulator
      })) as Error & { report?: DeployReport }
    expect(error).toBeInstanceOf(Error)
    expect(strategy.target).toBe(kind === "s3" ? `s3://${S3_BUCKET}/ at http://${url.host}` : "gs://b/")
    const files = ['report.json', 'cache/checksums.json'].filter((f) => existsSync(join(root, f))).map((f) => readFileSync(join(root, f), 'utf8'))
    const seen = [error.message, String(error.stack), JSON.stringify(error.report ?? {}), ...messages, ...files].join('\n')
    expect(seen).toMatch(kind === 's3' ? /\[s3\]/ : /\[gcs\]/)
    expect(seen).not.toContain(secret.slice(0, 12))
  })

  it('credentials in an S3 endpoint URL are used, and stored nowhere', async () => {
    const { root } = site()
    const url = new URL(inject('s3rverEndpoint'))
    const strategy = s3({ bucket: S3_BUCKET, prefix: `userinfo-${Date.now()}`, endpoint: `http://S3RVER:S3RVER@${url.host}`, forcePathStyle: true })
    const report = await deploy({ outDir: 'dist', root, strategy, cacheDir: 'cache', logger: { info() {}, warn() {} } })
    expect(report.uploaded).toHaveLength(3)
    expect(report.target).not.toContain('S3RVER')
    expect(readFileSync(join(root, 'cache/checksums.json'), 'utf8')).not.toContain('S3RVER@')
  })
})

describe('a failure of thousands of keys', () => {
  it('names the first 20 keys, grouped by cause, and counts the rest; the report has every key', () => {
    const failed = Array.from({ length: 30_000 }, (_, i) => ({ key: `assets/f-${i}.js`, error: i % 2 ? 'SlowDown (HTTP 503)' : 'InternalError (HTTP 500)' }))
    const pending = Array.from({ length: 500 }, (_, i) => `p-${i}.html`)
    const report = { target: 's3://b/', failed, pending } as unknown as DeployReport
    const message = failureMessage(report, new AbortController().signal) ?? ''
    expect(message.length).toBeLessThan(2000)
    expect(message).toContain('30000 upload(s) to s3://b/ failed (every key is in the report):')
    expect(message).toMatch(/assets\/f-0\.js, assets\/f-2\.js, .* and 14980 more: InternalError \(HTTP 500\)/)
    expect(message).toMatch(/assets\/f-1\.js and 14999 more: SlowDown \(HTTP 503\)/)
    expect(message).toContain('500 file(s) were held back')
    expect(message).toContain('and 480 more')
  })
})

describe('an endpoint that accepts connections and never answers', () => {
  it.each(['s3', 'gcs'])('%s fails in seconds (the short timeout of small requests), saying so', async (kind) => {
    const sockets = new Set<import('node:net').Socket>()
    const server = createServer((socket) => void sockets.add(socket)) // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    try {
      const { root } = site()
      const emulator = process.env.STORAGE_EMULATOR_HOST
      process.env.STORAGE_EMULATOR_HOST = `http://127.0.0.1:${port}`
      const strategy =
        kind === 's3'
          ? s3({ bucket: 'b', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, timeout: 400, maxAttempts: 2, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })
          : gcs({ bucket: 'b', projectId: 'p', timeout: 400, maxAttempts: 2 })
      const error = (await deploy({ outDir: 'dist', root, strategy, logger: { info() {}, warn() {} } })
        .catch((e: unknown) => e)
        .finally(() => {
          process.env.STORAGE_EMULATOR_HOST = emulator
        })) as Error
      // Each names the storage, says it did not answer in time, and names the `timeout` option.
      expect(error.message).toMatch(new RegExp(`\\[${kind}\\] .*did not answer(, or did not finish its answer,)? in time \\((the )?\`timeout\``))
      // It was 3 × 120 s: the test's own time limit (60 s) catches a hang, no timing asserted.
    } finally {
      for (const socket of sockets) socket.destroy()
      server.close()
    }
  })
})
