import { execFile } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { deployedSite, snapshot } from './app.js'
import { FRAMEWORKS_DIR, buildFixture } from './framework-build.js'
import { S3_BUCKET } from './setup/servers.js'
import { headS3, readBackS3 } from './strategies/s3-servers.js'

const MANIFEST = '.collectfasta/manifest.json'

interface Framework {
  name: string
  dir: string
  /** The framework's own build command, as its CLI script and arguments. */
  build: string[]
  /** The directory the framework publishes. */
  out: string
  /** Its hashed assets folder. */
  assets: string
  /** Pages every build must publish (the PWA module's service worker and web manifest included). */
  pages: string[]
}

/** The Workbox runtime the PWA modules write beside the service worker (generateSW). */
const WORKBOX = /^workbox-[\w-]+\.js$/
const IMMUTABLE = 'public, max-age=31536000, immutable'

const FRAMEWORKS: Framework[] = [
  {
    name: 'VitePress 1.6.4 + @vite-pwa/vitepress 1.1 (withPwa wraps buildEnd)',
    dir: 'vitepress',
    build: ['node_modules/vitepress/bin/vitepress.js', 'build', 'docs'],
    out: 'docs/.vitepress/dist',
    assets: 'assets/',
    pages: ['index.html', 'about.html', 'guide/index.html', 'guide/second.html', '404.html', 'sitemap.xml', 'hashmap.json', 'sw.js', 'registerSW.js', 'manifest.webmanifest'],
  },
  {
    name: 'Astro 5.18 + @vite-pwa/astro 1.2',
    dir: 'astro',
    build: ['node_modules/astro/astro.js', 'build'],
    out: 'dist',
    assets: '_astro/',
    pages: ['index.html', 'about/index.html', 'blog/post/index.html', 'robots.txt', 'sw.js', 'manifest.webmanifest'],
  },
  {
    name: 'SvelteKit 2.70 + adapter-static 3 + @vite-pwa/sveltekit 1.1',
    dir: 'sveltekit',
    build: ['node_modules/vite/bin/vite.js', 'build'],
    out: 'build',
    assets: '_app/immutable/',
    pages: ['index.html', 'about.html', 'robots.txt', 'sw.js', 'registerSW.js', 'manifest.webmanifest'],
  },
  {
    name: 'Nuxt 4.4.5 (nuxt generate) + @vite-pwa/nuxt 1.1',
    dir: 'nuxt',
    build: ['node_modules/@nuxt/cli/bin/nuxi.mjs', 'generate'],
    out: '.output/public',
    assets: '_nuxt/',
    pages: ['index.html', 'about/index.html', '200.html', '404.html', 'robots.txt', 'sw.js', 'manifest.webmanifest'],
  },
]

const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

/** Runs a fixture's real build with the deploy target in its environment; a failed build throws. */
async function build(framework: Framework, target: string, args = framework.build, env: NodeJS.ProcessEnv = {}) {
  const result = await buildFixture(framework.dir, args, target, process.execPath, env)
  if (result.code !== 0) throw Object.assign(new Error(`${framework.name} build failed: ${result.stderr}`), result)
  return result
}

describe.each(FRAMEWORKS)('$name', (framework) => {
  const cwd = join(FRAMEWORKS_DIR, framework.dir)

  it('one line in its config deploys exactly the finished site, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), `collectfasta-${framework.dir}-`))
    temp.push(dir)
    const { stdout, stderr } = await build(framework, pathToFileURL(dir).href)
    const output = stdout + stderr
    const summaries = output.split('\n').filter((line) => line.startsWith('[collectfasta] file://'))
    expect(summaries, output).toHaveLength(1)

    const published = snapshot(join(cwd, framework.out))
    expect(existsSync(join(dir, MANIFEST))).toBe(true)
    const deployed = deployedSite(dir)
    expect(framework.pages.filter((page) => !published.has(page))).toEqual([])
    // The PWA module wrote its service worker's runtime too: deployed below with the rest, byte for byte.
    expect([...published.keys()].filter((path) => WORKBOX.test(path))).toHaveLength(1)
    const hashed = [...published.keys()].filter((path) => path.startsWith(framework.assets))
    expect(hashed.length).toBeGreaterThan(0)
    expect([...deployed.keys()].sort(), output).toEqual([...published.keys()].sort())
    const different = [...published].filter(([path, bytes]) => !deployed.get(path)?.equals(bytes)).map(([path]) => path)
    expect(different).toEqual([])
    expect([...deployed.keys()].filter((path) => path.startsWith('.vite/') || /\.(mjs|js)\.map$|server/.test(path))).toEqual([])

    // cacheDir and reportFile resolve against the project (where package.json is).
    const report = JSON.parse(readFileSync(join(cwd, '.collectfasta/report.json'), 'utf8'))
    expect(report.uploaded, output).toHaveLength(published.size)
    expect(existsSync(join(cwd, '.collectfasta/cache/checksums.json'))).toBe(true)
    expect(summaries[0]).toContain(`uploaded ${published.size} file(s)`)
  })
})

describe('on a local S3 server', () => {
  it('Astro: hashed assets are cached for good; pages, the service worker and workbox revalidate', async () => {
    const astro = FRAMEWORKS[1] as Framework
    const prefix = `astro-${Date.now()}/`
    await build(astro, `s3://${S3_BUCKET}/${prefix}`)
    const endpoint = inject('s3rverEndpoint')
    const published = snapshot(join(FRAMEWORKS_DIR, 'astro/dist'))
    const hashed = [...published.keys()].filter((path) => path.startsWith('_astro/'))
    expect(hashed.length).toBeGreaterThan(0)
    for (const path of hashed) expect((await headS3(endpoint, prefix + path)).CacheControl, path).toBe(IMMUTABLE)
    const worker = ['sw.js', ...[...published.keys()].filter((path) => WORKBOX.test(path))]
    expect(worker).toHaveLength(2)
    for (const path of worker) {
      const object = await readBackS3(endpoint, prefix + path)
      expect(object?.headers?.cacheControl, path).not.toBe(IMMUTABLE)
      expect(Buffer.from(object?.bytes ?? []).equals(published.get(path) as Buffer), path).toBe(true)
    }
    expect((await headS3(endpoint, `${prefix}manifest.webmanifest`)).ContentType).toMatch(/^application\/manifest\+json/)
    const page = await readBackS3(endpoint, `${prefix}about/index.html`)
    expect(page?.headers).toMatchObject({ contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache' })
    expect(Buffer.from(page?.bytes ?? []).equals(published.get('about/index.html') as Buffer)).toBe(true)
  })
})

describe('the plain Vite plugin in a framework build', () => {
  it('fails with one sentence naming the integration, and deploys nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-refused-'))
    temp.push(dir)
    const sveltekit = FRAMEWORKS[2] as Framework
    const failed = await build(sveltekit, pathToFileURL(join(dir, 'www')).href, [...sveltekit.build, '--config', 'vite.config.plain.js']).then(
      () => undefined,
      (error: { code: number; stderr: string; stdout: string }) => error,
    )
    expect(failed?.code).not.toBe(0)
    expect(`${failed?.stderr}${failed?.stdout}`).toContain(
      "This is a SvelteKit build: Vite's output is not the finished site yet, so the Vite plugin would deploy it without its pages: " +
        "remove collectfasta() from the Vite plugins and use `adapter: collectfasta(adapter(), { strategy })` from 'vite-plugin-collectfasta/sveltekit' in svelte.config.js.",
    )
    expect(existsSync(join(dir, 'www'))).toBe(false)
  })
})

describe('VitePress writes sitemap.xml without waiting for it', () => {
  it('buildEnd waits until the sitemap is whole, then deploys it whole', async () => {
    const { collectfasta } = await import('../src/frameworks/vitepress.js')
    const { filesystem } = await import('../src/strategies/filesystem.js')
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-sitemap-'))
    temp.push(dir)
    const outDir = join(dir, 'docs/.vitepress/dist')
    mkdirSync(outDir, { recursive: true })
    writeFileSync(join(outDir, 'index.html'), '<h1>home</h1>')
    const whole = '<?xml version="1.0" encoding="UTF-8"?><urlset><url><loc>https://example.com/</loc></url></urlset>'
    writeFileSync(join(outDir, 'sitemap.xml'), whole.slice(0, 50)) // still being written…
    setTimeout(() => appendFileSync(join(outDir, 'sitemap.xml'), whole.slice(50)), 300) // …and done later
    const buildEnd = collectfasta({ strategy: filesystem({ dir: join(dir, 'www') }), cacheDir: join(dir, 'cache') })
    await buildEnd({ root: join(dir, 'docs'), outDir, sitemap: { hostname: 'https://example.com' } })
    expect(readFileSync(join(dir, 'www/sitemap.xml'), 'utf8')).toBe(whole)
  })
})

describe('VitePress: a hook that wraps buildEnd and writes after ours (withPwa)', () => {
  /**
   * Runs, in a child Node, what `vitepress build` does at its end: the outer buildEnd (a wrapper
   * that calls ours, then writes sw.js, as withPwa does), then "build complete".
   */
  async function wrappedBuildEnd(targetDir: string, end = '') {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-wrapped-'))
    temp.push(dir)
    const outDir = join(dir, 'docs/.vitepress/dist')
    mkdirSync(outDir, { recursive: true })
    writeFileSync(join(outDir, 'index.html'), '<h1>home</h1>')
    const dist = (path: string) => JSON.stringify(pathToFileURL(join(FRAMEWORKS_DIR, '../../dist', path)).href)
    const script = `
      import { writeFileSync } from 'node:fs'
      const { collectfasta } = await import(${dist('frameworks/vitepress.js')})
      const { filesystem } = await import(${dist('strategies/filesystem.js')})
      const ours = collectfasta({ strategy: filesystem({ dir: ${JSON.stringify(targetDir)} }), cacheDir: ${JSON.stringify(join(dir, 'cache'))} })
      const siteConfig = { root: ${JSON.stringify(join(dir, 'docs'))}, outDir: ${JSON.stringify(outDir)} }
      siteConfig.buildEnd = async (config) => {
        await ours(config)
        writeFileSync(${JSON.stringify(join(outDir, 'sw.js'))}, 'self.skipWaiting()')
      }
      await siteConfig.buildEnd(siteConfig)
      console.log('build complete')
      ${end}`
    const result = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: dir }).then(
      ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
    )
    return { ...result, outDir }
  }

  it('deploys what the wrapper wrote after ours returned, once the build is over', async () => {
    const target = mkdtempSync(join(tmpdir(), 'collectfasta-wrapped-target-'))
    temp.push(target)
    const { code, output } = await wrappedBuildEnd(target)
    expect(code, output).toBe(0)
    expect(readFileSync(join(target, 'sw.js'), 'utf8')).toBe('self.skipWaiting()')
    expect(readFileSync(join(target, 'index.html'), 'utf8')).toBe('<h1>home</h1>')
    expect(output.indexOf('build complete')).toBeLessThan(output.indexOf('[collectfasta] file://'))
  })

  it('a failed deploy still fails the build: non-zero exit, the sentence printed', async () => {
    const { code, output } = await wrappedBuildEnd('/dev/null/www')
    expect(code, output).not.toBe(0)
    expect(output).toMatch(/^\[collectfasta\] \[fs\] The target \/dev\/null is a file, not a directory: [^.]*\(while deploying the VitePress build\)\.$/m)
  })

  it('a process that exits before the deploy fails, naming the directory and the command, as the plugin does', async () => {
    const target = mkdtempSync(join(tmpdir(), 'collectfasta-wrapped-target-'))
    temp.push(target)
    const { code, output } = await wrappedBuildEnd(target, 'process.exit(0)')
    expect(output).toContain("[collectfasta] The build ended the process before the end of the app's builds: docs/.vitepress/dist was NOT deployed: run `npx collectfasta deploy docs/.vitepress/dist`.")
    expect(code).toBe(1)
    expect(existsSync(join(target, 'index.html'))).toBe(false)
  })
})

describe('SvelteKit: the directory is the adapter\'s, learned from its builder', () => {
  it("adapter-static({ pages: 'dist' }) with an old build/ on disk deploys dist, never the stale build/", async () => {
    const sveltekit = FRAMEWORKS[2] as Framework
    const cwd = join(FRAMEWORKS_DIR, 'sveltekit')
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-pages-'))
    temp.push(dir)
    mkdirSync(join(cwd, 'build'), { recursive: true })
    writeFileSync(join(cwd, 'build/stale-page.html'), '<h1>an old build</h1>')
    try {
      const { stdout, stderr } = await build(sveltekit, pathToFileURL(dir).href, sveltekit.build, { SVELTEKIT_PAGES: 'dist' })
      const published = snapshot(join(cwd, 'dist'))
      const deployed = deployedSite(dir)
      expect(published.has('index.html') && published.has('about.html')).toBe(true)
      expect([...deployed.keys()].sort(), stdout + stderr).toEqual([...published.keys()].sort())
      expect([...published].filter(([path, bytes]) => !deployed.get(path)?.equals(bytes))).toEqual([])
    } finally {
      rmSync(join(cwd, 'dist'), { recursive: true, force: true })
      rmSync(join(cwd, 'build/stale-page.html'), { force: true })
    }
  })

  it('adapter-node (a server) is refused with a sentence in a real build, nothing deployed', async () => {
    const sveltekit = FRAMEWORKS[2] as Framework
    const cwd = join(FRAMEWORKS_DIR, 'sveltekit')
    const www = join(mkdtempSync(join(tmpdir(), 'collectfasta-node-adapter-')), 'www')
    temp.push(dirname(www))
    try {
      const failed = await buildFixture('sveltekit', sveltekit.build, pathToFileURL(www).href, process.execPath, { SVELTEKIT_ADAPTER: 'node' })
      const output = failed.stdout + failed.stderr
      expect(failed.code, output).not.toBe(0)
      expect(output).toContain('[collectfasta] @sveltejs/adapter-node writes a server (it takes the server build): its output is not a static site, so nothing is deployed; ')
      expect(existsSync(join(cwd, 'build/server'))).toBe(true) // the real adapter ran
      expect(existsSync(www)).toBe(false)
    } finally {
      rmSync(join(cwd, 'build'), { recursive: true, force: true }) // not adapter-static's site: the next build makes its own
    }
  })
})

