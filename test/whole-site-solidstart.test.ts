// SolidStart 2 (Vite's Environment API, Nitro's static preset): the plain Vite plugin deploys
// the published directory only once Nitro has prerendered the pages into it; and the CLI with
// no directory finds that directory by itself, never a server bundle.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { FRAMEWORKS_DIR, buildFixture, expectSameTree, tempDirs } from './framework-build.js'
import { NODE_24 } from './servers/runtimes.mjs'

const APP = join(FRAMEWORKS_DIR, 'solidstart')
const PUBLISHED = join(APP, '.output/public')
/** Where Nitro 3 (pinned) writes the `ssr` environment's bundle: a server bundle, never deployed. */
const SSR_BUNDLE = join(APP, 'node_modules/.nitro/vite/services/ssr/index.js')
const VITE = 'node_modules/vite/bin/vite.js'
const CLI = join(FRAMEWORKS_DIR, '../../dist/cli.js')

const tempDir = tempDirs()

/** The deploy's report (the fixture's reportFile) marks as immutable exactly the site's `_build/assets/` files. */
function expectHashedCachedForGood(site: Map<string, Buffer>) {
  const report = JSON.parse(readFileSync(join(APP, '.collectfasta/report.json'), 'utf8')) as { uploaded: { key: string; immutable?: true }[] }
  const hashed = [...site.keys()].filter((path) => path.startsWith('_build/assets/'))
  expect(hashed.length).toBeGreaterThan(0)
  expect(report.uploaded.filter((u) => u.immutable).map((u) => u.key).sort()).toEqual(hashed.sort())
}

// SolidStart 2 requires Node 24 (engines; it calls fs.globSync when its config loads): the build
// and the CLI (which loads vite.config) run under the Node 24 binary that test/servers/install.mjs
// installs on linux x64, or under this Node when it is 24 or later.
const startNode = Number(process.versions.node.split('.')[0]) >= 24 ? process.execPath : existsSync(NODE_24) ? NODE_24 : undefined

describe.skipIf(!startNode)('SolidStart 2.0 (Nitro 3, static preset, prerender; skipped without Node 24 or the Node 24 binary of linux x64)', () => {
  it('the plain plugin deploys .output/public after Nitro prerenders it, byte-identical, and no server file', async () => {
    const dir = tempDir('solidstart')
    const { code, stdout, stderr } = await buildFixture('solidstart', [VITE, 'build'], pathToFileURL(dir).href, startNode)
    const output = stdout + stderr
    expect(code, output).toBe(0)
    expect(existsSync(SSR_BUNDLE), 'the build has a server bundle').toBe(true)
    const site = expectSameTree(PUBLISHED, dir, output)
    for (const page of ['index.html', 'about/index.html', 'robots.txt']) expect(site.has(page), page).toBe(true)
    // SolidStart's assetsDir (_build/assets), set by its plugin, is what is cached for good.
    expectHashedCachedForGood(site)
    expect(output.split('\n').filter((line) => line.startsWith('[collectfasta] file://'))).toHaveLength(1)
    expect(output).not.toContain('NOT deployed') // the deploy waiting for the end of the app build did run
  })

  it('built without the plugin, `collectfasta deploy` with no directory picks .output/public and deploys it byte-identical', async () => {
    const dir = tempDir('solidstart-cli')
    const target = pathToFileURL(join(dir, 'www')).href
    const build = await buildFixture('solidstart', [VITE, 'build'], target, startNode, { COLLECTFASTA_ENABLED: 'false' })
    expect(build.code, build.stdout + build.stderr).toBe(0)
    expect(build.stdout + build.stderr).not.toContain('[collectfasta]')
    expect(existsSync(join(dir, 'www')), 'the build without the plugin deployed nothing').toBe(false)
    expect(existsSync(join(PUBLISHED, 'about/index.html'))).toBe(true)

    const deployed = await buildFixture('solidstart', [CLI, 'deploy'], target, startNode)
    const output = deployed.stdout + deployed.stderr
    expect(deployed.code, output).toBe(0)
    expect(output).toContain('[collectfasta] .output/public: the directory this build publishes')
    const site = expectSameTree(PUBLISHED, join(dir, 'www'), output)
    for (const page of ['index.html', 'about/index.html', 'robots.txt']) expect(site.has(page), page).toBe(true)
    // SolidStart sets assetsDir in its plugin, which the CLI does not run: the build's Vite manifest says where the hashed files are.
    expect(output).toContain("[collectfasta] _build/assets/: the build's hashed files (its .vite/manifest.json), cached for good.")
    expectHashedCachedForGood(site)
  })

  it('with a server (Node preset) and only / prerendered, the plain plugin refuses the partial .output/public before any request', async () => {
    const refusedTarget = join(tempDir('solidstart-server'), 'www')
    const refused = await buildFixture('solidstart', [VITE, 'build', '-c', 'vite.config.server.js'], pathToFileURL(refusedTarget).href, startNode)
    expect(refused.code).not.toBe(0)
    expect(existsSync(join(APP, '.output/server/index.mjs')), 'the build has a server').toBe(true)
    expect(existsSync(join(PUBLISHED, 'index.html')) && !existsSync(join(PUBLISHED, 'about'))).toBe(true)
    expect(refused.stderr).toContain(
      '[collectfasta] Nothing deployed: this build is not the whole site, as index.html links to /about, a page not in .output/public that its `ssr` environment or another server renders ' +
        '(prerender every page to keep the plugin); run `npx collectfasta deploy .output/public` (the directory the app publishes) after the build instead',
    )
    expect(existsSync(refusedTarget)).toBe(false)
  })
})
