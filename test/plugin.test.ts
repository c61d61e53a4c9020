import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inspect, stripVTControlCharacters } from 'node:util'
import { rollup } from 'rollup'
import * as vite8 from 'vite'
import * as vite5 from 'vite5'
import * as vite6 from 'vite6'
import * as vite7 from 'vite7'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { collectfasta } from '../src/index.js'
import type { DeployReport } from '../src/index.js'
import type { CollectfastaOptions } from '../src/options.js'
import { changedPaths, copyApp, isOurs, removeApps, snapshot } from './app.js'
import { filesystem } from '../src/strategies/filesystem.js'
import { type MemoryStrategy, memory } from './strategies/memory.js'

afterAll(removeApps)

type Build = (root: string, options: CollectfastaOptions) => Promise<DeployReport | undefined>

type Vite = Pick<typeof vite8, 'build'>

function viteBuilder(vite: Vite): Build {
  return async (root, options) => {
    const plugin = collectfasta({ cacheDir: join(root, '.cache'), ...options })
    const warnings: string[] = []
    const logger = vite8.createLogger('silent')
    logger.warn = (message) => void warnings.push(message)
    await vite.build({
      root,
      configFile: false,
      logLevel: 'silent',
      customLogger: logger as never,
      build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
      plugins: [plugin as never],
    })
    return (plugin.api as { report?: DeployReport }).report
  }
}

const vites: [string, Vite][] = [
  ['Vite 8', vite8],
  ['Vite 7', vite7 as unknown as Vite],
  ['Vite 6', vite6 as unknown as Vite],
  ['Vite 5', vite5 as unknown as Vite],
]
const builders: [string, Build, Vite][] = vites.map(([name, vite]) => [name, viteBuilder(vite), vite])

const keysOf = (report: DeployReport | undefined) => report?.uploaded.map((u) => u.key).sort() ?? []
const MANIFEST = '.collectfasta/manifest.json'
const allUploads = (strategy: MemoryStrategy) => strategy.calls.filter((c) => c.startsWith('upload:')).map((c) => c.slice(7))
/** The site's uploads, in order, without ours (the release record before them, the deploy manifest after them). */
const uploadsIn = (strategy: MemoryStrategy) => allUploads(strategy).filter((key) => !isOurs(key))
const siteObjects = (strategy: MemoryStrategy) => [...strategy.objects.keys()].filter((key) => !isOurs(key))

describe.each(builders)('plugin in a real %s build', (_name, build, vite) => {
  it('uploads every file, exactly the bytes written to disk, HTML last', async () => {
    const root = copyApp()
    const strategy = memory()
    const report = await build(root, { strategy })
    const dist = snapshot(join(root, 'dist'))
    expect(keysOf(report)).toEqual([...dist.keys()].sort())
    expect([...dist.keys()]).toEqual(expect.arrayContaining(['index.html', 'robots.txt', 'favicon.svg']))
    expect([...dist.keys()].filter((k) => k.endsWith('.js')).length).toBeGreaterThanOrEqual(3)
    expect([...dist.keys()].some((k) => /^assets\/logo-.+\.png$/.test(k))).toBe(true)
    for (const [path, bytes] of dist) expect(Buffer.from(strategy.objects.get(path)!.bytes).equals(bytes), path).toBe(true)
    expect(siteObjects(strategy).sort()).toEqual([...dist.keys()].sort())
    const order = uploadsIn(strategy)
    expect(order.at(-1)).toBe('index.html')
    expect(allUploads(strategy).at(-1)).toBe(MANIFEST) // after HTML, reported apart
    // The release record is the plan: written after the mark, before the first file of the site.
    const record = allUploads(strategy).findIndex((key) => key.startsWith('.collectfasta/releases/'))
    expect(record).toBeGreaterThan(0)
    expect(record).toBeLessThan(allUploads(strategy).indexOf(order[0] ?? ''))
    expect(report?.manifest).toEqual({ key: MANIFEST, size: expect.any(Number) })
    expect(report?.uploaded.every((u) => u.reason === 'new')).toBe(true)

    const html = strategy.objects.get('index.html')!.headers
    expect(html).toMatchObject({ contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache' })
    const js = [...strategy.objects].find(([k]) => k.startsWith('assets/') && k.endsWith('.js'))![1].headers
    expect(js).toMatchObject({ contentType: 'text/javascript; charset=utf-8', cacheControl: 'public, max-age=31536000, immutable' })
    expect(strategy.objects.get('robots.txt')!.headers.cacheControl).toBe('public, max-age=0, must-revalidate')
  })

  it('a second build with no change uploads nothing and makes no request', async () => {
    const root = copyApp()
    const strategy = memory()
    await build(root, { strategy })
    strategy.calls.length = 0
    const second = await build(root, { strategy })
    expect(second?.uploaded).toEqual([])
    expect(second?.requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })
    expect(strategy.calls).toEqual(['stat:.collectfasta/manifest.json'])
    expect(second?.skipped.length).toBe(siteObjects(strategy).length)
  })

  it('editing one module re-uploads only the files whose bytes changed, HTML last', async () => {
    const root = copyApp()
    const strategy = memory()
    await build(root, { strategy })
    const before = snapshot(join(root, 'dist'))
    writeFileSync(join(root, 'src/lazy-a.js'), "export function run() {\n  console.log('lazy A, version 2')\n}\n")
    strategy.calls.length = 0
    const report = await build(root, { strategy })
    const changed = changedPaths(before, snapshot(join(root, 'dist')))
    expect(keysOf(report)).toEqual(changed)
    expect(changed).toContain('index.html')
    expect(changed.some((p) => p.includes('lazy-a'))).toBe(true)
    expect(changed.some((p) => p.includes('lazy-b') || p.endsWith('.png') || p.endsWith('.css'))).toBe(false)
    expect(uploadsIn(strategy).at(-1)).toBe('index.html')
    // New hashed names are unknown to the cache: one listing decides, no HEAD per file.
    expect(report?.requests.list).toBe(1)
    expect(report?.requests.stat).toBe(1) // the deploy manifest's, at the start (its rewrites are conditional)
  })

  it('changing a header rule re-uploads the matching files only', async () => {
    const root = copyApp()
    const strategy = memory()
    await build(root, { strategy })
    const report = await build(root, { strategy, headers: [{ match: '**/*.css', cacheControl: 'public, max-age=60' }] })
    const css = [...strategy.objects.keys()].filter((k) => k.endsWith('.css'))
    expect(css.length).toBe(1)
    expect(keysOf(report)).toEqual(css)
    expect(report?.uploaded[0]?.reason).toBe('headers')
    expect(strategy.objects.get(css[0]!)!.headers.cacheControl).toBe('public, max-age=60')
  })

  it('a dry run uploads and caches nothing, so the real run uploads everything', async () => {
    const root = copyApp()
    const strategy = memory()
    const dry = await build(root, { strategy, dryRun: true })
    expect(dry?.dryRun).toBe(true)
    expect(dry?.uploaded.length).toBeGreaterThan(5)
    expect(strategy.objects.size).toBe(0)
    expect(existsSync(join(root, '.cache'))).toBe(false)
    const real = await build(root, { strategy })
    expect(keysOf(real)).toEqual(keysOf(dry))
    expect(siteObjects(strategy).length).toBe(real?.uploaded.length)
  })

  it('a failed upload fails the build naming the key, holds HTML back, and the next run uploads just what is missing', async () => {
    const root = copyApp()
    const failing = memory({ failUpload: (key) => key.endsWith('.css') })
    const error = await build(root, { strategy: failing }).catch((e: Error) => e)
    expect(error).toBeInstanceOf(Error)
    const css = [...snapshot(join(root, 'dist')).keys()].find((k) => k.endsWith('.css'))!
    expect((error as Error).message).toContain(css)
    expect((error as Error).message).toContain('simulated storage failure (503)')
    expect(failing.objects.has(css)).toBe(false)
    expect(failing.objects.has('index.html')).toBe(false)
    const cache = readFileSync(join(root, '.cache/checksums.json'), 'utf8')
    expect(cache).not.toContain(css)
    expect(cache).not.toContain('index.html')
    const png = [...failing.objects.keys()].find((k) => k.endsWith('.png'))!
    expect(cache).toContain(png) // same group as the CSS: stored, and cached
    expect(failing.objects.has('robots.txt')).toBe(false) // later group: held back
    const missing = [...snapshot(join(root, 'dist')).keys()].filter((k) => !failing.objects.has(k)).sort()
    expect(missing).toEqual(expect.arrayContaining([css, 'index.html', 'robots.txt']))

    const healthy = memory({ objects: failing.objects })
    const retry = await build(root, { strategy: healthy })
    expect(keysOf(retry)).toEqual(missing)
  })

  it('does not deploy an SSR build (Vite 5: build.ssr; Vite 6+: the environment)', async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    await vite.build({
      root,
      configFile: false,
      logLevel: 'silent',
      build: { ssr: 'src/greet.js', outDir: 'dist-ssr' },
      plugins: [plugin as never],
    })
    expect(existsSync(join(root, 'dist-ssr/greet.js')) || existsSync(join(root, 'dist-ssr/greet.mjs'))).toBe(true) // the build ran
    expect(strategy.calls).toEqual([])
  })
})

describe('vite build --watch', () => {
  const watchOnce = async (root: string, watch: boolean, warnings: string[] = [], rebuilds = 0) => {
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache'), watch })
    const logger = vite8.createLogger('silent')
    logger.warn = (message) => void warnings.push(message)
    const watcher = (await vite8.build({
      root,
      configFile: false,
      logLevel: 'silent',
      customLogger: logger,
      build: { outDir: 'dist', watch: {} },
      plugins: [plugin],
    })) as unknown as { on(event: 'event', cb: (e: { code: string; result?: { close(): Promise<void> } }) => void): void; close(): Promise<void> }
    let ends = 0
    await new Promise<void>((resolve, reject) =>
      watcher.on('event', (event) => {
        if (event.code === 'BUNDLE_END') void event.result?.close()
        if (event.code === 'END' && ends++ === rebuilds) resolve()
        // A change to a module: one rebuild more.
        else if (event.code === 'END') setTimeout(() => writeFileSync(join(root, 'src/lazy-a.js'), `export function run() {\n  console.log(${ends})\n}\n`), 100)
        if (event.code === 'ERROR') reject(event)
      }),
    )
    await watcher.close()
    return strategy
  }

  it('without watch: true deploys nothing and says so once per session, however many rebuilds', async () => {
    const root = copyApp()
    const warnings: string[] = []
    const strategy = await watchOnce(root, false, warnings, 1)
    await new Promise((resolve) => setTimeout(resolve, 100)) // the last rebuild's closeBundle, which Vite does not wait for
    expect(uploadsIn(strategy)).toEqual([])
    const told = warnings.filter((w) => w.includes('[collectfasta]'))
    expect(told).toHaveLength(1)
    expect(told[0]).toContain('[collectfasta] Not deploying in watch mode: `watch: true` deploys after each rebuild.')
  })

  it('deploys after each rebuild only with watch: true', async () => {
    const root = copyApp()
    expect(uploadsIn(await watchOnce(root, false))).toEqual([])
    // The deploy runs when Vite closes the rebuild's bundle (its closeBundle), which Vite does not wait for.
    const watched = await watchOnce(root, true)
    await vi.waitFor(() => expect(uploadsIn(watched)).toContain('index.html'))
  })
})

describe('plugin in a plain Rollup 4 build', () => {
  const build = async (root: string, strategy: MemoryStrategy) => {
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    const bundle = await rollup({ input: join(root, 'src/main.js'), plugins: [plugin as never], logLevel: 'silent' })
    await bundle.write({
      dir: join(root, 'dist'),
      format: 'es',
      sourcemap: true,
      entryFileNames: 'assets/[name]-[hash].js',
      chunkFileNames: 'assets/[name]-[hash].js',
    })
    await bundle.close()
    return (plugin.api as { report?: DeployReport }).report
  }

  it('deploys the bytes on disk, then nothing, then only what changed', async () => {
    const root = copyApp()
    const strategy = memory()
    const first = await build(root, strategy)
    const dist = snapshot(join(root, 'dist'))
    expect(keysOf(first)).toEqual([...dist.keys()].sort())
    expect([...dist.keys()].some((k) => k.endsWith('.js.map'))).toBe(true)
    for (const [path, bytes] of dist) expect(Buffer.from(strategy.objects.get(path)!.bytes).equals(bytes), path).toBe(true)

    const second = await build(root, strategy)
    expect(second?.uploaded).toEqual([])
    expect(second?.requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })

    writeFileSync(join(root, 'src/lazy-a.js'), "export function run() {\n  console.log('lazy A, version 2')\n}\n")
    const third = await build(root, strategy)
    expect(keysOf(third)).toEqual(changedPaths(dist, snapshot(join(root, 'dist'))))
    expect(keysOf(third).some((k) => k.includes('lazy-b'))).toBe(false)
  })
})

describe('a refusal in a plain Rollup 4 build', () => {
  it('fails the build with the sentence alone (the Rollup CLI prints `name: message`, then the stack without that line)', async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    const bundle = await rollup({ input: join(root, 'src/main.js'), plugins: [plugin as never], logLevel: 'silent' })
    await bundle.write({ dir: join(root, 'dist'), format: 'es' })
    const error = await bundle.write({ dir: join(root, 'dist2'), format: 'es' }).then(() => undefined, (e: Error) => e)
    await bundle.close().catch(() => {})
    expect(error?.message).toMatch(/^\[collectfasta\] This build writes to two directories \(\S*dist and \S*dist2\): deploy the one you publish/)
    expect(error?.name).toBe('')
    expect(error?.stack?.trim()).toBe(error?.message)
    expect(strategy.calls).toEqual([])
  })
})

describe('a refused Vite build whose published folder has a space in its path', () => {
  it('quotes that path in the command it names', async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    const copies = {
      name: 'copies',
      closeBundle() {
        cpSync(join(root, 'dist'), join(root, 'my site/public'), { recursive: true })
        writeFileSync(join(root, 'my site/public/about.html'), '<h1>About</h1>')
      },
    }
    const error = await vite8
      .build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [plugin, copies] })
      .then(() => undefined, (e: Error) => e)
    expect(error?.message).toMatch(/run `npx collectfasta deploy '\S*my site\/public'` \(the directory the app publishes\)/)
    expect(strategy.calls).toEqual([])
  })
})

describe('a build whose deploy fails before any upload', () => {
  afterAll(removeApps)

  it('fails with the sentence and no plugin stack; api.report is this build’s, never the previous one', async () => {
    const root = copyApp()
    const strategy = memory()
    let refused = false
    const stat = strategy.stat.bind(strategy)
    strategy.stat = async (key, ctx) => {
      if (refused) throw new Error('[collectfasta] [memory] InvalidAccessKeyId (HTTP 403): the credentials were refused.')
      return stat(key, ctx)
    }
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache'), reportFile: 'report.json' })
    const run = () =>
      vite8.build({ root, logLevel: 'silent', configFile: false, build: { outDir: join(root, 'dist') }, plugins: [plugin] }).then(
        () => undefined,
        (error: Error) => error,
      )
    expect(await run()).toBeUndefined()
    const first = plugin.api?.report
    expect(first?.uploaded.length).toBeGreaterThan(0)

    refused = true
    const error = await run()
    expect(error?.message).toContain('InvalidAccessKeyId (HTTP 403): the credentials were refused.')
    expect(error?.message).not.toMatch(/at PluginContextImpl|at async plugin/) // no plugin stack in what Vite prints
    const second = plugin.api?.report
    expect(second).not.toBe(first)
    expect(second?.failed).toEqual([{ key: '', error: expect.stringContaining('InvalidAccessKeyId') }])
    expect(JSON.parse(readFileSync(join(root, 'report.json'), 'utf8')).failed).toEqual(second?.failed)
  })
})

describe('relative paths in the options', () => {
  it('all resolve against the project root (package.json), also when Vite’s root is a sub-folder', async () => {
    const project = copyApp()
    writeFileSync(join(project, 'package.json'), '{ "name": "relative-paths-project" }')
    const site = join(project, 'site')
    mkdirSync(site)
    renameSync(join(project, 'index.html'), join(site, 'index.html'))
    renameSync(join(project, 'src'), join(site, 'src'))
    const plugin = collectfasta({ strategy: filesystem({ dir: 'www' }), cacheDir: 'cache', reportFile: 'out/report.json' })
    await vite8.build({ root: site, logLevel: 'silent', configFile: false, plugins: [plugin] })
    expect(plugin.api?.report?.target).toBe(`file://${join(project, 'www')}/`)
    expect(existsSync(join(project, 'www/index.html'))).toBe(true)
    expect(existsSync(join(project, 'cache/checksums.json'))).toBe(true)
    expect(existsSync(join(project, 'out/report.json'))).toBe(true)
    expect(existsSync(join(site, 'www')) || existsSync(join(site, 'cache'))).toBe(false)
    expect(existsSync(join(process.cwd(), 'www'))).toBe(false)
  })
})

describe("Rolldown's timing warning (Vite 8)", () => {
  it('never blames the plugin for the deploy’s network time, and still names slow plugins', async () => {
    const root = copyApp()
    const strategy = memory()
    const upload = strategy.upload.bind(strategy)
    strategy.upload = async (file, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 600)) // a slow network
      return upload(file, ctx)
    }
    // Rolldown warns when plugins take 3 s or so; the deploy, at the end of the build, must never count.
    const slowOther = {
      name: 'slow-other',
      async generateBundle() {
        await new Promise((resolve) => setTimeout(resolve, 3200))
      },
    }
    const warnings: string[] = []
    const logger = vite8.createLogger('warn')
    logger.warn = (message) => void warnings.push(message)
    logger.info = () => {}
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache'), concurrency: 1, manifest: false })
    await vite8.build({ root, configFile: false, customLogger: logger, build: { outDir: 'dist' }, plugins: [slowOther, plugin] })
    const timings = warnings.find((w) => w.includes('PLUGIN_TIMINGS'))
    expect(timings).toContain('plugin slow-other generateBundle') // the warning came, for the slow plugin
    expect(timings).not.toContain('vite-plugin-collectfasta')
    expect(uploadsIn(strategy)).toContain('index.html') // and the slow deploy did happen
  })
})

/** What a Nitro-like step does after the client build: copies dist into site/public and renders a page there. */
const copyWithPage = (root: string) => {
  cpSync(join(root, 'dist'), join(root, 'site/public'), { recursive: true })
  mkdirSync(join(root, 'site/public/about'), { recursive: true })
  writeFileSync(join(root, 'site/public/about/index.html'), '<h1>About</h1>')
}

/** A plugin that writes after the bundle, as vite-plugin-pwa and compression plugins do. */
const lateWriter = (order?: 'pre' | 'post') => {
  let outDir = ''
  return {
    name: 'late-writer',
    writeBundle(options: { dir?: string }) {
      outDir = options.dir ?? ''
    },
    closeBundle: {
      order,
      sequential: true,
      async handler() {
        await new Promise((resolve) => setTimeout(resolve, 30))
        writeFileSync(join(outDir, 'sw.js'), "self.addEventListener('fetch', () => {})\n")
        writeFileSync(join(outDir, 'index.html'), `${readFileSync(join(outDir, 'index.html'), 'utf8')}<!-- precached -->\n`)
        for (const name of readdirSync(join(outDir, 'assets'))) if (name.endsWith('.css')) rmSync(join(outDir, 'assets', name))
      },
    },
  }
}

describe.each(builders)("the build's true end, in a real %s build", (_name, _build, vite) => {
  it('deploys what every closeBundle wrote (a service worker, a rewritten page), and nothing a plugin removed', async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    // Placed before the writer on purpose: the deploy still waits for it.
    await vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [plugin as never, lateWriter() as never] })
    const dist = snapshot(join(root, 'dist'))
    expect(dist.has('sw.js')).toBe(true)
    expect(siteObjects(strategy).sort()).toEqual([...dist.keys()].sort())
    for (const [path, bytes] of dist) expect(Buffer.from(strategy.objects.get(path)?.bytes ?? []).equals(bytes), path).toBe(true)
    expect(strategy.objects.get('sw.js')?.headers.cacheControl).toBe('public, max-age=0, must-revalidate')
  })

  // A client build inside another build of the app, after a server build, or one that a later build
  // may render pages into (no page yet, an SSR manifest) deploys or is refused at the end of the
  // process: test/site.test.ts runs those in a child process.

  it('refuses a client build copied into another folder with pages written there after it, naming that folder', async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    const copies = { name: 'copies', closeBundle: { sequential: true, handler: () => copyWithPage(root) } }
    const error = await vite
      .build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [plugin as never, copies as never] })
      .then(() => undefined, (e: Error) => e)
    // Paths are shown from the current directory: the app is in a temporary one.
    expect(error?.message).toMatch(/client build \(\S*dist\) is copied into \S*site\/public, where the app writes its pages after it/)
    expect(error?.message).toMatch(/npx collectfasta deploy \S*site\/public`/)
    // What Vite prints (Vite 5-7: the stack; Vite 8: util.inspect): the sentence, no stack trace.
    expect(error?.stack?.trim()).toBe(error?.message)
    expect(inspect(error)).toBe(error?.message)
    expect(strategy.calls).toEqual([])
  })

  it('deploys a client build a plugin mirrors into docs/ (GitHub Pages), and refuses it once a page there has other bytes', async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    let rewrite = false
    const mirror = {
      name: 'mirror',
      closeBundle() {
        cpSync(join(root, 'dist'), join(root, 'docs'), { recursive: true })
        if (rewrite) writeFileSync(join(root, 'docs/index.html'), '<h1>Prerendered</h1>')
      },
    }
    const run = () =>
      vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [plugin as never, mirror as never] }).then(() => undefined, (e: Error) => e)
    expect(await run()).toBeUndefined()
    expect(existsSync(join(root, 'docs/index.html'))).toBe(true)
    expect(siteObjects(strategy).sort()).toEqual([...snapshot(join(root, 'dist')).keys()].sort())
    rewrite = true
    strategy.calls.length = 0
    expect((await run())?.message).toMatch(/client build \(\S*dist\) is copied into \S*docs, where the app writes its pages after it/)
    expect(strategy.calls).toEqual([])
  })

  it("never deploys another tool's site built from the app's vite.config (it loaded the file itself: configFile false), and says so", async () => {
    const root = copyApp()
    // The app's config, with the plugin: what Storybook, Histoire or Ladle load and merge into their own site.
    writeFileSync(join(root, 'vite.config.js'), 'export default {}\n')
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    const warnings: string[] = []
    const logger = vite8.createLogger('silent')
    // Vite colours its warnings where the terminal or FORCE_COLOR asks for it (CI does): compare the words.
    logger.warn = (message) => void warnings.push(stripVTControlCharacters(message))
    await vite.build({ root, configFile: false, customLogger: logger as never, build: { outDir: 'tool-static' }, plugins: [plugin as never] })
    expect(existsSync(join(root, 'tool-static/index.html'))).toBe(true) // the tool's build itself went through
    expect(strategy.calls).toEqual([])
    // True of a tool's build and of a build script of the user's own, which it tells how to deploy.
    expect(warnings.join('\n')).toContain(
      "[collectfasta] Not deployed: this build passes `configFile: false` beside vite.config.js, as Storybook, Histoire and Ladle do to build their own site from the app's config; to publish its output, run `npx collectfasta deploy ",
    )
    expect(warnings.join('\n')).not.toContain('loaded vite.config.js itself')
    // One sentence: what happened, then how to deploy.
    expect(warnings.join('\n')).toMatch(
      /tool-static --to <target>` after the build, or, from a build script of your own, let Vite load vite\.config\.js or call `deploy\(\)` from 'vite-plugin-collectfasta' after `build\(\)`\.$/m,
    )
    expect(warnings.join('\n').match(/\. [A-Z]/g)).toBeNull()

    // The same build where Vite loads the config file itself (`vite build`) is the app's: deployed.
    rmSync(join(root, 'vite.config.js'))
    writeFileSync(join(root, 'vite.config.js'), 'export default { build: { outDir: "dist" } }\n')
    await vite.build({ root, logLevel: 'silent', plugins: [plugin as never] })
    expect(siteObjects(strategy)).toContain('index.html')
  })
})

describe.each(builders.slice(0, 2))('a %s app build (builder, buildApp)', (name, _build, vite) => {
  const app = vite as unknown as typeof vite8
  const ssr = (root: string) => ({ ssr: { build: { outDir: 'dist-server', rollupOptions: { input: join(root, 'src/greet.js') } } } })
  const page = (root: string) => {
    mkdirSync(join(root, 'dist/about'), { recursive: true })
    writeFileSync(join(root, 'dist/about/index.html'), '<h1>About</h1>')
  }
  const deployedWhole = (root: string, strategy: MemoryStrategy) => {
    expect(existsSync(join(root, 'dist-server'))).toBe(true)
    const dist = snapshot(join(root, 'dist'))
    expect(dist.has('about/index.html')).toBe(true)
    expect(siteObjects(strategy).sort()).toEqual([...dist.keys()].sort())
    expect(allUploads(strategy).filter((key) => key === 'index.html')).toHaveLength(1)
  }

  it("deploys the client directory after the framework's buildApp and its prerendering, never the server output", async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    // As TanStack Start does: the framework builds the environments, a post buildApp hook prerenders.
    const prerender = { name: 'prerender', buildApp: { order: 'post' as const, handler: () => page(root) } }
    const builder = await app.createBuilder({
      root,
      configFile: false,
      logLevel: 'silent',
      builder: {
        async buildApp(builder) {
          await builder.build(builder.environments.client as never)
          await builder.build(builder.environments.ssr as never)
        },
      },
      environments: ssr(root),
      plugins: [plugin, prerender],
    })
    await builder.buildApp()
    deployedWhole(root, strategy)
    expect(plugin.api?.report?.uploaded.length).toBeGreaterThan(0)
  })

  it("deploys after the last environment when Vite builds them all itself (pages written by the server build's hooks)", async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    // As Vike does: the server build prerenders in its own writeBundle.
    const prerender = {
      name: 'prerender',
      writeBundle(this: { environment?: { name: string } }) {
        if (this.environment?.name === 'ssr') page(root)
      },
    }
    const builder = await app.createBuilder({ root, configFile: false, logLevel: 'silent', builder: {}, environments: ssr(root), plugins: [plugin, prerender] })
    await builder.buildApp()
    deployedWhole(root, strategy)
  })

  it('refuses an app that copies its client build elsewhere and prerenders there (as Nitro does), naming that folder', async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    const builder = await app.createBuilder({
      root,
      configFile: false,
      logLevel: 'silent',
      builder: {
        async buildApp(builder) {
          await builder.build(builder.environments.client as never)
          await builder.build(builder.environments.ssr as never)
          copyWithPage(root)
        },
      },
      environments: ssr(root),
      plugins: [plugin],
    })
    const error = await builder.buildApp().then(() => undefined, (e: Error) => e)
    expect(error?.message, name).toMatch(/client build \(\S*dist\) is copied into \S*site\/public, where the app writes its pages after it/)
    expect(error?.message, name).toMatch(/npx collectfasta deploy \S*site\/public`/)
    expect(strategy.calls).toEqual([])
  })

  it("a page's link to a redirect the deploy stores (the `redirects` option, a `_redirects` file) is not a page the server renders", async () => {
    const root = copyApp()
    const index = join(root, 'index.html')
    writeFileSync(index, readFileSync(index, 'utf8').replace('<body>', '<body><a href="/old-pricing">a</a><a href="/moved/">b</a><a href="/feed.xml">c</a>'))
    writeFileSync(join(root, 'public/_redirects'), '/moved/ / 301\n')
    const strategy = Object.assign(memory(), { websiteRedirects: true })
    const build = (redirects: { from: string; to: string }[]) =>
      app
        .createBuilder({ root, configFile: false, logLevel: 'silent', builder: {}, environments: ssr(root), plugins: [collectfasta({ strategy, cacheDir: join(root, '.cache'), redirects })] })
        .then((builder) => builder.buildApp())
        .then(() => undefined, (e: Error) => e)
    const refused = await build([])
    expect(refused?.message, name).toContain('index.html links to /old-pricing')
    expect(refused?.message, name).toContain('npx collectfasta deploy')
    expect(strategy.calls).toEqual([])
    expect(await build([{ from: '/old-pricing', to: 'https://example.com/pricing' }]), name).toBeUndefined()
    expect(strategy.objects.get('old-pricing')?.headers.redirect).toBe('https://example.com/pricing')
    expect(strategy.objects.get('moved/index.html')?.headers.redirect).toBe('/')
  })

  it('refuses an app whose page links to a server-rendered page with a dot in its name (/docs/v1.2), saying the directory lacks it', async () => {
    const root = copyApp()
    const index = join(root, 'index.html')
    writeFileSync(index, readFileSync(index, 'utf8').replace('<body>', '<body><a href="/feed.xml">a</a><a href="/docs/v1.2">b</a>'))
    const strategy = memory()
    const builder = await app.createBuilder({ root, configFile: false, logLevel: 'silent', builder: {}, environments: ssr(root), plugins: [collectfasta({ strategy, cacheDir: join(root, '.cache') })] })
    const refused = await builder.buildApp().then(() => undefined, (e: Error) => e)
    expect(refused?.message, name).toMatch(/^\[collectfasta\] Nothing deployed: this build is not the whole site, as index\.html links to \/docs\/v1\.2, a page not in \S*dist that its `ssr` environment/)
    expect(refused?.message, name).toMatch(/run `npx collectfasta deploy \S*dist` \(the directory the app publishes\) after the build instead, with collectfasta\(\) removed from the Vite plugins, and only where a server serves the server-rendered pages that \S*dist lacks\.$/)
    expect(strategy.calls).toEqual([])
  })

  it('refuses an app whose pages are rendered by its server (no page in the client directory)', async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    const builder = await app.createBuilder({
      root,
      configFile: false,
      logLevel: 'silent',
      builder: {},
      build: { rollupOptions: { input: join(root, 'src/main.js') } },
      environments: ssr(root),
      plugins: [plugin],
    })
    const error = await builder.buildApp().then(() => undefined, (e: Error) => e)
    expect(error?.message, name).toContain('its pages are rendered by its `ssr` environment, not written to')
    expect(strategy.calls).toEqual([])
  })
})

describe('a Vite 6 app build (builder)', () => {
  it('is refused before any request: Vite 6 calls no plugin at the end of the app build', async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    const builder = await (vite6 as unknown as typeof vite8).createBuilder({ root, configFile: false, logLevel: 'silent', builder: {}, plugins: [plugin] })
    const error = await builder.buildApp().then(() => undefined, (e: Error) => e)
    expect(error?.message).toContain('This is a Vite 6 app build')
    expect(strategy.calls).toEqual([])
  })
})

describe('a Vite 7+ app build (builder) with no server and no page', () => {
  // One rule for every client build: no page proves no site (a later step may render the pages).
  it('is refused before any request, as a plain client build without a page is', async () => {
    const root = copyApp()
    const strategy = memory()
    const plugin = collectfasta({ strategy, cacheDir: join(root, '.cache') })
    const input = join(root, 'src/main.js')
    const builder = await vite8.createBuilder({ root, configFile: false, logLevel: 'silent', builder: {}, build: { rollupOptions: { input } }, plugins: [plugin] })
    const error = await builder.buildApp().then(() => undefined, (e: Error) => e)
    expect(error?.message).toMatch(
      /^\[collectfasta\] Nothing deployed: this build is not the whole site, as it has no HTML page \(a server, or a later build step, renders the pages\); run `npx collectfasta deploy \S*dist` /,
    )
    expect(strategy.calls).toEqual([])
  })
})
