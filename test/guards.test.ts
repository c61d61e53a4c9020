import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type DeployOptions, deploy } from '../src/index.js'
import { filesystem } from '../src/strategies/filesystem.js'
import { snapshot } from './app.js'
import { writeTree } from './helpers.js'
import { S3_BUCKET } from './setup/servers.js'
import { headS3, localS3 } from './strategies/s3-servers.js'
import { type StoredObject, memory } from './strategies/memory.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function project(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-guards-'))
  dirs.push(root)
  writeTree(join(root, 'dist'), files)
  const objects = new Map<string, StoredObject>()
  const warnings: string[] = []
  const run = (options: Partial<DeployOptions> = {}) =>
    deploy({ outDir: 'dist', root, strategy: memory({ objects }), logger: { info() {}, warn: (m) => void warnings.push(m) }, ...options })
  return { root, objects, warnings, run }
}

describe('a build that looks broken does not prune the live site', () => {
  it('far fewer files than the last full deploy: the deploy goes through, prune refuses, saying how many', async () => {
    const site: Record<string, string> = { 'index.html': '<h1>home</h1>' }
    for (let i = 0; i < 40; i++) site[`page-${i}.html`] = `<p>${i}</p>`
    const { root, objects, warnings, run } = project(site)
    await run({ prune: { keepDeploys: 1 } })
    // A failed step that still exited 0: only two files in the output.
    rmSync(join(root, 'dist'), { recursive: true })
    writeTree(join(root, 'dist'), { 'index.html': '<h1>oops</h1>', 'robots.txt': 'ok' })
    const broken = await run({ prune: { keepDeploys: 1 } })
    expect(broken.uploaded.map((u) => u.key).sort()).toEqual(['index.html', 'robots.txt'])
    expect(broken.deleted).toEqual([])
    expect(broken.pruneRefused).toBe(
      'this deploy has 2 file(s), fewer than 50% of the 41 of the largest full deploy kept: the build looks broken (a failed step, a wrong outDir), ' +
        'so nothing was deleted (40 stale object(s) kept), and every later deploy is compared with that one too. If the site really shrank, set prune.minShare: 0 for one deploy.',
    )
    expect(warnings.some((w) => w.startsWith('[collectfasta] Prune refused: this deploy has 2 file(s)'))).toBe(true)
    expect([...objects.keys()].filter((k) => k.startsWith('page-'))).toHaveLength(40)
    // The site really shrank: allowed for one deploy.
    writeFileSync(join(root, 'dist/index.html'), '<h1>small site</h1>')
    const allowed = await run({ prune: { keepDeploys: 1, minShare: 0, maxDeletes: 100 } })
    expect(allowed.deleted).toHaveLength(40)
  })
})

describe('a build that is not deterministic', () => {
  it('warns once, with three examples, when most unhashed files changed; the report carries the figure', async () => {
    const site: Record<string, string> = {}
    for (let i = 0; i < 30; i++) site[`docs/p-${i}.html`] = `<p>${i}</p>`
    const { root, warnings, run } = project(site)
    const first = await run()
    expect(first.unhashedChanged).toEqual({ changed: 0, of: 30 })
    for (let i = 0; i < 20; i++) writeFileSync(join(root, `dist/docs/p-${i}.html`), `<p>${i}</p><!-- built at ${Date.now()} -->`)
    const second = await run()
    expect(second.unhashedChanged).toEqual({ changed: 20, of: 30 })
    const warning = warnings.filter((w) => w.includes('without a content hash'))
    expect(warning).toHaveLength(1)
    expect(warning[0]).toMatch(/^\[collectfasta\] 20 of 30 files without a content hash in their name changed since the last deploy \(e\.g\. docs\/p-0\.html, docs\/p-1\.html, docs\/p-10\.html\)\. .*diff -r/)
    writeFileSync(join(root, 'dist/docs/p-25.html'), '<p>one real edit</p>')
    await run()
    expect(warnings.filter((w) => w.includes('without a content hash'))).toHaveLength(1) // one edit: no new warning
  })
})

/** GETs an object from s3rver as a plain HTTP client that asks for no encoding. */
function fetchPlain(key: string): Promise<{ encoding?: string; type?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(`${inject('s3rverEndpoint')}/${S3_BUCKET}/${key}`, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ encoding: res.headers['content-encoding'], type: res.headers['content-type'], body: Buffer.concat(chunks) }))
    }).on('error', reject)
  })
}

describe('encodings every client can read', () => {
  const script = `export const data = ${JSON.stringify('x'.repeat(5000))}\n`

  it('compress: true stores gzip in place, which a client without brotli reads', async () => {
    const { root } = project({ 'assets/app-1a2b.js': script, 'index.html': `<h1>${'y'.repeat(3000)}</h1>` })
    const prefix = `encodings-${Date.now()}/`
    await deploy({ outDir: 'dist', root, strategy: localS3(inject('s3rverEndpoint'), prefix), compress: true, logger: { info() {}, warn() {} } })
    for (const [path, original] of [['assets/app-1a2b.js', script], ['index.html', `<h1>${'y'.repeat(3000)}</h1>`]] as const) {
      const got = await fetchPlain(prefix + path)
      expect(got.encoding, path).toBe('gzip')
      expect(gunzipSync(got.body).toString(), path).toBe(original)
    }
  })

  it('brotli in place only when asked for by name', async () => {
    const { root } = project({ 'assets/app-1a2b.js': script })
    const prefix = `encodings-br-${Date.now()}/`
    await deploy({ outDir: 'dist', root, strategy: localS3(inject('s3rverEndpoint'), prefix), compress: { brotli: true }, logger: { info() {}, warn() {} } })
    const got = await fetchPlain(`${prefix}assets/app-1a2b.js`)
    expect(got.encoding).toBe('br')
    expect(brotliDecompressSync(got.body).toString()).toBe(script)
  })
})

describe('web types that need a precise Content-Type', () => {
  it('warns when a script, style, wasm or font would be stored as application/octet-stream', async () => {
    const { warnings, run } = project({ 'assets/app.js': 'x()', 'assets/app.css': 'a{}', 'assets/m.wasm': 'w', 'index.html': '<h1>ok</h1>' })
    await run({ headers: [{ match: 'assets/**', contentType: 'application/octet-stream' }] })
    expect(warnings.find((w) => w.includes('precise Content-Type'))).toBe(
      '[collectfasta] 3 file(s) that browsers need with a precise Content-Type would be stored as application/octet-stream ' +
        '(e.g. assets/app.css, assets/app.js, assets/m.wasm): scripts, styles and WebAssembly are then refused. Give them a `contentType` with a header rule.',
    )
  })
})

describe('clean URLs on a plain bucket (directoryIndex)', () => {
  it('stores about/ (and about, and page) as the HTML, which a client gets by URL; prune removes them with their page', async () => {
    const { root } = project({
      'index.html': '<h1>home</h1>',
      'about/index.html': '<h1>about</h1>',
      'blog/post.html': '<h1>post</h1>',
      'assets/app-1.js': 'app()',
    })
    const prefix = `clean-${Date.now()}/`
    const run = (options: Partial<DeployOptions> = {}) =>
      deploy({ outDir: 'dist', root, strategy: localS3(inject('s3rverEndpoint'), prefix), directoryIndex: { bare: true, html: true }, logger: { info() {}, warn() {} }, ...options })
    const first = await run()
    const keys = first.uploaded.map((u) => u.key.slice(prefix.length))
    expect(keys.slice(-6).sort()).toEqual(['about', 'about/', 'about/index.html', 'blog/post', 'blog/post.html', 'index.html']) // with the HTML, last
    for (const [url, page] of [['about/', 'about'], ['about', 'about'], ['blog/post', 'post']] as const) {
      const got = await fetchPlain(prefix + url)
      expect(got.body.toString(), url).toBe(`<h1>${page}</h1>`)
      expect(got.type, url).toBe('text/html; charset=utf-8')
    }
    expect((await run()).uploaded).toEqual([]) // recorded like any file: nothing to do again
    rmSync(join(root, 'dist/about'), { recursive: true })
    writeFileSync(join(root, 'dist/index.html'), '<h1>home, without about</h1>') // prune runs with a deploy that uploads
    const pruned = await run({ prune: { keepDeploys: 1 } })
    expect(pruned.deleted.map((k) => k.slice(prefix.length)).sort()).toEqual(['about', 'about/', 'about/index.html'])
  })

  it('is refused for a directory, whose web server maps these URLs itself', async () => {
    const { filesystem } = await import('../src/strategies/filesystem.js')
    await expect(deploy({ outDir: 'dist', strategy: filesystem({ dir: tmpdir() }), directoryIndex: true })).rejects.toThrow(
      /`directoryIndex` is for object storages: a web server serving a directory maps \/about\/ to about\/index\.html itself/,
    )
  })
})

describe('redirects', () => {
  it('S3 website redirects from the option and _redirects; a changed target re-uploads, a removed rule is pruned', async () => {
    const { root } = project({
      'index.html': '<h1>home</h1>',
      'new/index.html': '<h1>new</h1>',
      _redirects: '# from to status\n/legacy /new/ 301\n/blog/* /news/:splat 301\n/app/* /index.html 200\n',
    })
    const endpoint = inject('s3rverEndpoint')
    const prefix = `redirects-${Date.now()}/`
    const warnings: string[] = []
    const run = (redirects: { from: string; to: string }[], options: Partial<DeployOptions> = {}) =>
      deploy({ outDir: 'dist', root, strategy: localS3(endpoint, prefix), redirects, logger: { info() {}, warn: (m) => void warnings.push(m) }, ...options })
    const first = await run([{ from: '/old', to: '/new/' }, { from: '/docs/', to: 'https://docs.example.com/' }])
    const keys = first.uploaded.map((u) => u.key.slice(prefix.length))
    expect(keys.slice(-5).sort()).toEqual(['docs/index.html', 'index.html', 'legacy', 'new/index.html', 'old']) // with the HTML, last
    expect(warnings).toContain('[collectfasta] 2 rule(s) of _redirects were not stored (splats, placeholders, rewrites): S3 redirects are one object per path.')
    const location = async (key: string) => (await headS3(endpoint, prefix + key)).WebsiteRedirectLocation
    expect(await location('old')).toBe('/new/')
    expect(await location('legacy')).toBe('/new/')
    expect(await location('docs/index.html')).toBe('https://docs.example.com/')
    expect((await fetchPlain(`${prefix}old`)).body.toString()).toContain('<meta http-equiv="refresh" content="0; url=/new/">')

    expect((await run([{ from: '/old', to: '/new/' }, { from: '/docs/', to: 'https://docs.example.com/' }])).uploaded).toEqual([])
    const moved = await run([{ from: '/old', to: '/' }, { from: '/docs/', to: 'https://docs.example.com/' }])
    expect(moved.uploaded.map((u) => [u.key.slice(prefix.length), u.reason])).toEqual([['old', 'changed']])
    expect(await location('old')).toBe('/')
    const pruned = await run([{ from: '/old', to: '/' }], { prune: { keepDeploys: 1 } })
    expect(pruned.deleted.map((k) => k.slice(prefix.length))).toEqual([]) // nothing uploaded: prune waits for a deploy that changes something
    writeFileSync(join(root, 'dist/index.html'), '<h1>home 2</h1>')
    const next = await run([{ from: '/old', to: '/' }], { prune: { keepDeploys: 1 } })
    expect(next.deleted.map((k) => k.slice(prefix.length))).toEqual(['docs/index.html'])
  })

  it('are refused where the storage has no per-object redirects, and may not replace a file', async () => {
    const { gcs } = await import('../src/strategies/gcs.js')
    await expect(() => deploy({ outDir: 'dist', strategy: gcs({ bucket: 'b' }), redirects: [{ from: '/old', to: '/new' }] })).rejects.toThrow(
      /`redirects` need a storage with per-object redirects \(S3 website endpoints\), and gcs has none: configure them in your CDN, load balancer or web server instead\./,
    )
    const { root } = project({ 'index.html': '<h1>home</h1>', old: 'a file' })
    await expect(
      deploy({ outDir: 'dist', root, strategy: localS3(inject('s3rverEndpoint'), `clash-${Date.now()}/`), redirects: [{ from: '/old', to: '/' }], logger: { info() {}, warn() {} } }),
    ).rejects.toThrow('[collectfasta] The redirect from /old would replace the file old: remove the file or the redirect.')
  })
})

describe('a filesystem target that overlaps the directory being deployed', () => {
  it.each([
    ['the same directory', 'dist', 'is'],
    ['a folder inside it', 'dist/www', 'is inside'],
    ['a folder inside it, by the prefix', { dir: 'dist', prefix: 'www' }, 'is inside'],
    ['a folder above it (the project root)', '.', 'contains'],
  ] as const)('%s is refused before any write, with one sentence', async (_name, target, relation) => {
    const { root } = project({ 'index.html': '<h1>home</h1>', 'about/index.html': '<h1>about</h1>' })
    const options = typeof target === 'string' ? { dir: target } : target
    const before = snapshot(root)
    const error = await deploy({ outDir: 'dist', root, strategy: filesystem(options), logger: { info() {}, warn() {} } }).then(() => undefined, (e: Error) => e)
    expect(error?.message).toBe(
      `[collectfasta] Refusing to deploy ${join(root, 'dist')} into ${join(root, options.dir, 'prefix' in options ? options.prefix : '')}: the target ${relation} the directory being deployed, ` +
        'so the deploy would write into (and prune) the files it reads; choose a target directory outside it, and not above it.',
    )
    expect([...snapshot(root).keys()].sort()).toEqual([...before.keys()].sort())
  })

  it('a link to the output directory is the output directory; a sibling folder is deployed', async () => {
    const { root } = project({ 'index.html': '<h1>home</h1>' })
    symlinkSync(join(root, 'dist'), join(root, 'linked'))
    const error = await deploy({ outDir: 'dist', root, strategy: filesystem({ dir: 'linked/www' }), logger: { info() {}, warn() {} } }).then(() => undefined, (e: Error) => e)
    expect(error?.message).toContain('the target is inside the directory being deployed')
    expect(existsSync(join(root, 'dist/www'))).toBe(false)
    const report = await deploy({ outDir: 'dist', root, strategy: filesystem({ dir: 'dist-www' }), logger: { info() {}, warn() {} } })
    expect(report.uploaded.map((u) => u.key)).toEqual(['index.html'])
    expect(existsSync(join(root, 'dist-www/index.html'))).toBe(true)
  })
})

describe('a filesystem target that is a file', () => {
  it.each([
    ['the directory itself', { dir: 'afile' }],
    ['a folder under it, by the prefix', { dir: 'afile', prefix: 'www' }],
  ])('%s: one [fs] sentence before any write, the file untouched', async (_name, options) => {
    const { root } = project({ 'index.html': '<h1>home</h1>' })
    writeFileSync(join(root, 'afile'), 'not a folder')
    const error = await deploy({ outDir: 'dist', root, strategy: filesystem(options), logger: { info() {}, warn() {} } }).then(() => undefined, (e: Error) => e)
    expect(error?.message).toBe(`[collectfasta] [fs] The target ${join(root, 'afile')} is a file, not a directory: choose a directory to deploy into, or move the file away.`)
    expect(readFileSync(join(root, 'afile'), 'utf8')).toBe('not a folder')
  })
})
