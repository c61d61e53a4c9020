// The plain Vite plugin in apps the README does not name: it deploys the whole published
// directory (files written after the bundle included), or refuses before any request.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, inject, it } from 'vitest'
import { snapshot } from './app.js'
import { DEPLOY_MANIFEST, FRAMEWORKS_DIR, buildFixture, expectSameTree, tempDirs } from './framework-build.js'
import { S3_BUCKET } from './setup/servers.js'
import { headS3, readBackS3 } from './strategies/s3-servers.js'
import { NODE_24 } from './servers/runtimes.mjs'

const IMMUTABLE = 'public, max-age=31536000, immutable'

const tempDir = tempDirs()

const VITE_BUILD = ['node_modules/vite/bin/vite.js', 'build']

/**
 * Builds fixture `name` (`args` under `node`) deploying to a new folder: it exits 0, deploys
 * once, `published` byte-identical with `pages` in it, and no deploy was left undone. `quiet`:
 * the framework silences Vite's info lines, the deploy's summary among them.
 */
async function deploysOnce(name: string, args: string[], published: string, pages: string[], node?: string, quiet = false): Promise<Map<string, Buffer>> {
  const dir = tempDir(name)
  const { code, stdout, stderr } = await buildFixture(name, args, pathToFileURL(dir).href, node)
  const output = stdout + stderr
  expect(code, output).toBe(0)
  const site = expectSameTree(join(FRAMEWORKS_DIR, name, published), dir, output)
  for (const page of pages) expect(site.has(page), page).toBe(true)
  expect(output.split('\n').filter((line) => line.startsWith('[collectfasta] file://'))).toHaveLength(quiet ? 0 : 1)
  expect(output).not.toContain('NOT deployed') // a deploy waiting for a later point did run
  return site
}

describe('vite-plugin-pwa 2.0 (generateSW), which writes the service worker in closeBundle', () => {
  it('the service worker and workbox are deployed with the rest, never cached for good; the web manifest has its type', async () => {
    const prefix = `pwa-${Date.now()}/`
    const { code, stdout, stderr } = await buildFixture('pwa', VITE_BUILD, `s3://${S3_BUCKET}/${prefix}`)
    const output = stdout + stderr
    expect(code, output).toBe(0)
    const dist = snapshot(join(FRAMEWORKS_DIR, 'pwa/dist'))
    const workbox = [...dist.keys()].filter((path) => /^workbox-[\w-]+\.js$/.test(path))
    expect(workbox).toHaveLength(1)
    expect(dist.has('sw.js') && dist.has('registerSW.js') && dist.has('manifest.webmanifest')).toBe(true)

    const report = JSON.parse(readFileSync(join(FRAMEWORKS_DIR, 'pwa/.collectfasta/report.json'), 'utf8')) as { uploaded: { key: string }[] }
    expect(report.uploaded.map((u) => u.key.slice(prefix.length)).filter((key) => key !== DEPLOY_MANIFEST).sort()).toEqual([...dist.keys()].sort())
    const endpoint = inject('s3rverEndpoint')
    for (const [path, bytes] of dist) {
      const object = await readBackS3(endpoint, prefix + path)
      expect(Buffer.from(object?.bytes ?? []).equals(bytes), path).toBe(true)
    }
    for (const path of ['sw.js', 'registerSW.js', ...workbox]) expect((await headS3(endpoint, prefix + path)).CacheControl, path).not.toBe(IMMUTABLE)
    expect((await headS3(endpoint, `${prefix}manifest.webmanifest`)).ContentType).toMatch(/^application\/manifest\+json/)
    const hashed = [...dist.keys()].filter((path) => path.startsWith('assets/'))
    expect(hashed.length).toBeGreaterThan(0)
    for (const path of hashed) expect((await headS3(endpoint, prefix + path)).CacheControl, path).toBe(IMMUTABLE)
  })
})

describe('Vike 0.4 (vike-react, prerender): pages written by the server build', () => {
  it('deploys dist/client once every page is prerendered, byte-identical, and no server file', async () => {
    const site = await deploysOnce('vike', VITE_BUILD, 'dist/client', ['index.html', 'about/index.html', 'robots.txt'])
    expect([...site.keys()].filter((path) => path.startsWith('.vite/') || path.includes('server'))).toEqual([])
  })
})

describe('vite-ssg 28 (Vue): a client build, then a server build of the same root that renders every page into dist', () => {
  it('deploys dist once, after the render, byte-identical, and exits 0', async () => {
    const site = await deploysOnce('vite-ssg', ['node_modules/vite-ssg/bin/vite-ssg.js', 'build'], 'dist', ['index.html', 'about.html', 'robots.txt'])
    expect(site.get('about.html')?.toString()).toContain('About, rendered by vite-ssg') // written by the render, after both builds
  })
})

// TanStack Start 1.169 needs Node 22.12 or later: its build runs under the Node 24 binary that
// test/servers/install.mjs installs on linux x64, or under this Node when it is new enough.
const modern = Number(process.versions.node.split('.')[0]) >= 23 || (process.versions.node.startsWith('22.') && Number(process.versions.node.split('.')[1]) >= 12)
const startNode = modern ? process.execPath : existsSync(NODE_24) ? NODE_24 : undefined

describe.skipIf(!startNode)('TanStack Start 1.169 (prerender; skipped without Node 22.12+ or the Node 24 binary of linux x64)', () => {
  it('deploys dist/client after the prerender in buildApp, byte-identical, never dist/server', async () => {
    await deploysOnce('tanstack-start', VITE_BUILD, 'dist/client', ['index.html', 'about/index.html', 'robots.txt'], startNode)
    expect(existsSync(join(FRAMEWORKS_DIR, 'tanstack-start/dist/server/server.js'))).toBe(true)
  })
})

describe('VuePress 2 (bundler-vite): client and server builds of the same root, then every page rendered', () => {
  it('deploys docs/.vuepress/dist once, after the render, byte-identical, and exits 0', async () => {
    const site = await deploysOnce('vuepress', ['node_modules/vuepress/bin/vuepress.js', 'build', 'docs'], 'docs/.vuepress/dist', ['index.html', 'guide/index.html', '404.html'], undefined, true)
    expect(site.get('guide/index.html')?.toString()).toContain('Hello.') // rendered by VuePress, after both builds
  })
})

describe('Waku 0.27 (static pages): a Vite 7 app build, then static generation', () => {
  it('deploys dist/public once, byte-identical, never dist/server', async () => {
    await deploysOnce('waku', ['node_modules/waku/cli.js', 'build'], 'dist/public', ['index.html', 'about/index.html'])
    expect(existsSync(join(FRAMEWORKS_DIR, 'waku/dist/server/index.js'))).toBe(true)
  })
})

describe('React Router 7 (framework mode, prerender), which ends the process inside its app build', () => {
  it('the plain plugin makes the build exit 1, naming the command; that command deploys build/client byte-identical', async () => {
    const refusedTarget = join(tempDir('react-router-refused'), 'www')
    const refused = await buildFixture('react-router', ['node_modules/@react-router/dev/bin.js', 'build'], pathToFileURL(refusedTarget).href)
    expect(refused.code, refused.stdout + refused.stderr).toBe(1)
    expect(refused.stderr).toContain("[collectfasta] The build ended the process before Vite's end of the app build: build/client was NOT deployed: run `npx collectfasta deploy build/client`.")
    expect(existsSync(refusedTarget)).toBe(false)

    const dir = tempDir('react-router')
    const deployed = await buildFixture('react-router', [join(FRAMEWORKS_DIR, '../../dist/cli.js'), 'deploy'], pathToFileURL(dir).href)
    expect(deployed.code, deployed.stderr).toBe(0)
    const site = expectSameTree(join(FRAMEWORKS_DIR, 'react-router/build/client'), dir, deployed.stdout + deployed.stderr)
    for (const page of ['index.html', 'about/index.html']) expect(site.has(page), page).toBe(true)
  })
})

describe('Storybook 10 (`storybook build` reads the app\'s vite.config, the plugin included), then the CLI', () => {
  it('the Storybook build deploys nothing to the app\'s target; `collectfasta deploy storybook-static` deploys it byte-identical', async () => {
    const appTarget = join(tempDir('storybook-app'), 'www')
    const build = await buildFixture('storybook', ['node_modules/storybook/dist/bin/dispatcher.js', 'build'], pathToFileURL(appTarget).href, process.execPath, {
      STORYBOOK_DISABLE_TELEMETRY: '1',
    })
    const output = build.stdout + build.stderr
    expect(build.code, output).toBe(0)
    // Storybook wraps Vite's warnings in its own frame: read them as one line.
    expect(output.replace(/\s*\n[│\s]*/g, ' ')).toContain("Not deployed: this is a Storybook build of the app's Vite config, not the app's site; to publish it, run")
    expect(existsSync(appTarget)).toBe(false)

    const dir = tempDir('storybook')
    const cli = join(FRAMEWORKS_DIR, '../../dist/cli.js')
    const deployed = await buildFixture('storybook', [cli, 'deploy', 'storybook-static'], pathToFileURL(dir).href)
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0)
    const site = expectSameTree(join(FRAMEWORKS_DIR, 'storybook/storybook-static'), dir, deployed.stdout + deployed.stderr)
    for (const page of ['index.html', 'iframe.html', 'index.json']) expect(site.has(page), page).toBe(true)
  })
})

describe('Qwik City 1.20 with the static adapter (pages rendered by a second build)', () => {
  const vite = 'node_modules/vite/bin/vite.js'

  it('the plain plugin refuses the client build before any request, naming the command; the CLI then deploys dist byte-identical', async () => {
    const refusedTarget = join(tempDir('qwik-refused'), 'www')
    const refused = await buildFixture('qwik-city', [vite, 'build'], pathToFileURL(refusedTarget).href)
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain(
      // Its `ssr` environment only inherits the client's input: no entries of its own, so the sign is the missing page.
      '[collectfasta] Nothing deployed: this Qwik City build is not the whole site, as it has no HTML page (a server, or a later build step, renders the pages); ' +
        'run `npx collectfasta deploy dist` (the directory the app publishes) after the build instead',
    )
    expect(existsSync(refusedTarget)).toBe(false)

    // What the sentence says: build without the plugin (`qwik build` runs these two), then the CLI.
    const dir = tempDir('qwik')
    const off = { COLLECTFASTA_ENABLED: 'false' }
    for (const args of [[vite, 'build'], [vite, 'build', '-c', 'adapters/static/vite.config.ts']]) {
      const step = await buildFixture('qwik-city', args, pathToFileURL(dir).href, process.execPath, off)
      expect(step.code, step.stderr).toBe(0)
    }
    const cli = join(FRAMEWORKS_DIR, '../../dist/cli.js')
    const deployed = await buildFixture('qwik-city', [cli, 'deploy'], pathToFileURL(dir).href)
    expect(deployed.code, deployed.stderr).toBe(0)
    const site = expectSameTree(join(FRAMEWORKS_DIR, 'qwik-city/dist'), dir, deployed.stdout + deployed.stderr)
    for (const page of ['index.html', 'about/index.html', 'robots.txt']) expect(site.has(page), page).toBe(true)
  })
})

