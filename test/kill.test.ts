import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { deploy } from '../src/index.js'
import { runPool } from '../src/pool.js'
import { snapshot } from './app.js'
import { writeTree } from './helpers.js'
import { type RecordedRequest, recordingProxy } from './servers/proxy.mjs'
import { S3_BUCKET } from './setup/servers.js'
import { localS3, readBackS3 } from './strategies/s3-servers.js'

const REPO = fileURLToPath(new URL('..', import.meta.url))
// Under the repository, so that the bundled vite.config.ts resolves the SDK from node_modules.
const WORK = join(REPO, 'test/.work')
const VITE = join(REPO, 'node_modules/vite/bin/vite.js')
afterAll(() => rmSync(WORK, { recursive: true, force: true }))

let apps = 0

/** A Vite app of 600 public files whose config deploys through `endpoint` with the real plugin. */
function app(endpoint: string) {
  apps++
  const root = join(WORK, `kill-${process.pid}-${apps}`)
  const prefix = `kill-${Date.now().toString(36)}-${apps}/`
  const files: Record<string, string> = {
    'index.html': '<script type="module" src="/main.js"></script>',
    'main.js': "document.body.append('kill test')",
  }
  for (let i = 0; i < 600; i++) files[`public/p/${i}.txt`] = `public file ${i}\n`.repeat(1 + (i % 20))
  writeTree(root, files)
  const cacheDir = join(root, '.cache')
  writeFileSync(
    join(root, 'vite.config.ts'),
    `import collectfasta from ${JSON.stringify(join(REPO, 'src/index.ts'))}
import { s3 } from ${JSON.stringify(join(REPO, 'src/strategies/s3.ts'))}
export default {
  logLevel: 'warn',
  plugins: [collectfasta({
    cacheDir: ${JSON.stringify(cacheDir)},
    concurrency: 8,
    strategy: s3({ bucket: ${JSON.stringify(S3_BUCKET)}, prefix: ${JSON.stringify(prefix)}, endpoint: ${JSON.stringify(endpoint)},
      forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }),
  })],
}
`,
  )
  const build = (): ChildProcess & { output: () => string } => {
    const child = spawn(process.execPath, [VITE, 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout?.on('data', (c) => {
      output += c
    })
    child.stderr?.on('data', (c) => {
      output += c
    })
    return Object.assign(child, { output: () => output })
  }
  return { root, prefix, cacheDir, build, outDir: join(root, 'dist') }
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))))

/** The revision of the one target in a cache file (each save bumps it). */
function cacheRevision(cacheDir: string): number {
  const records = JSON.parse(readFileSync(join(cacheDir, 'checksums.json'), 'utf8')) as { key: string; value: { revision: number } }[]
  expect(records).toHaveLength(1)
  return (records[0] as { value: { revision: number } }).value.revision
}

/** After a kill: the cache file is the old one or a newer one, and a normal deploy leaves the storage complete. */
async function recoverAndCheck(a: ReturnType<typeof app>, oldRevision: number) {
  expect(existsSync(join(a.cacheDir, 'checksums.json'))).toBe(true)
  expect(cacheRevision(a.cacheDir)).toBeGreaterThanOrEqual(oldRevision)
  const endpoint = inject('fauxqsEndpoint')
  const strategy = localS3(endpoint, a.prefix)
  const report = await deploy({ outDir: a.outDir, root: a.root, cacheDir: a.cacheDir, strategy, logger: { info() {}, warn() {} } })
  expect(report.failed).toEqual([])
  const local = snapshot(a.outDir)
  const wrong: string[] = []
  await runPool([...local], async ([path, bytes]) => {
    const stored = await readBackS3(endpoint, a.prefix + path)
    if (!stored || !Buffer.from(stored.bytes).equals(bytes)) wrong.push(path)
  }, { limit: 16 })
  expect(wrong).toEqual([])
  const again = await deploy({ outDir: a.outDir, root: a.root, cacheDir: a.cacheDir, strategy: localS3(endpoint, a.prefix), logger: { info() {}, warn() {} } })
  expect(again.uploaded).toEqual([])
  return report
}

const KILL_POINTS: [string, (r: RecordedRequest, seen: RecordedRequest[]) => boolean, number][] = [
  ['during the listing', (r) => r.kind === 'LIST', 0],
  ['at the first uploads', (_r, seen) => seen.filter((s) => s.kind === 'PUT').length === 5, 0],
  ['in the middle of the uploads', (_r, seen) => seen.filter((s) => s.kind === 'PUT').length === 300, 0],
  ['as the manifest is written (just before the cache is saved)', (r) => r.path.endsWith('.collectfasta/manifest.json') && r.kind === 'PUT', 0],
  ['shortly after the manifest (around the cache save)', (r) => r.path.endsWith('.collectfasta/manifest.json') && r.kind === 'PUT', 25],
]

describe('SIGKILL mid-deploy (a child vite build)', () => {
  it.each(KILL_POINTS)('%s: the cache stays whole and the next run completes the storage', async (_name, when, delayMs) => {
    let child: ReturnType<ReturnType<typeof app>['build']> | undefined
    const seen: RecordedRequest[] = []
    let fired = false
    let armed = false
    const proxy = await recordingProxy(inject('fauxqsEndpoint'), {
      onRequest: (r) => {
        if (!armed) return
        seen.push(r)
        if (!fired && when(r, seen)) {
          fired = true
          setTimeout(() => child?.kill('SIGKILL'), delayMs)
        }
      },
    })
    try {
      const a = app(proxy.url)
      // An older deploy first, so that there is an old cache for the kill to leave whole.
      const old = join(a.root, 'old-dist')
      writeTree(old, { 'index.html': '<h1>old</h1>', 'p/0.txt': 'old 0\n', 'p/1.txt': 'old 1\n' })
      await deploy({ outDir: old, root: a.root, cacheDir: a.cacheDir, strategy: localS3(proxy.url, a.prefix), logger: { info() {}, warn() {} } })
      const oldRevision = cacheRevision(a.cacheDir)
      armed = true
      child = a.build()
      const code = await exited(child)
      expect(fired, child.output()).toBe(true)
      // Killed at once: the build cannot have finished. (With a delay it may have, just.)
      if (delayMs === 0) expect(code).not.toBe(0)
      await recoverAndCheck(a, oldRevision)
    } finally {
      await proxy.close()
    }
  })
})

describe('SIGTERM mid-deploy', () => {
  it('stops starting uploads, saves the cache, exits non-zero with a one-line account; the next run uploads the rest', async () => {
    let child: ReturnType<ReturnType<typeof app>['build']> | undefined
    let puts = 0
    const proxy = await recordingProxy(inject('fauxqsEndpoint'), {
      latencyMs: 5,
      onRequest: (r) => {
        // The site's 50th upload (the mark and the release record are our folder's writes).
        if (r.kind === 'PUT' && !r.path.includes('/.collectfasta/') && ++puts === 50) child?.kill('SIGTERM')
      },
    })
    try {
      const a = app(proxy.url)
      child = a.build()
      const code = await exited(child)
      expect(code).not.toBe(0)
      const line = child.output().match(/Deploy cancelled \(SIGTERM\): (\d+) uploaded, (\d+) not uploaded; the cache is saved[^\n]*/)
      expect(line, child.output()).not.toBeNull()
      const uploaded = Number(line![1])
      const notUploaded = Number(line![2])
      expect(uploaded).toBeGreaterThanOrEqual(50)
      expect(notUploaded).toBeGreaterThan(0)
      const cache = JSON.parse(readFileSync(join(a.cacheDir, 'checksums.json'), 'utf8'))
      expect(Object.keys(cache[0].value.entries)).toHaveLength(uploaded)
      const next = await recoverAndCheck(a, 1)
      expect(next.uploaded).toHaveLength(notUploaded)
    } finally {
      await proxy.close()
    }
  })
})
