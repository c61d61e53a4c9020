// Analog (Angular) with static prerendering: Analog's buildApp builds the client (dist/client)
// and the SSR bundle (dist/ssr), then Nitro copies the client into dist/analog/public and
// prerenders the pages there. The plain plugin must refuse, naming that folder; the CLI with no
// directory refuses too, suggesting it; the CLI deploys it whole once named.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { deployedSite, snapshot } from './app.js'
import { DEPLOY_MANIFEST, FRAMEWORKS_DIR, buildFixture, tempDirs } from './framework-build.js'
import { NODE_24 } from './servers/runtimes.mjs'

const tempDir = tempDirs()

// Angular 22 needs Node 22.22.3+ or 24.15+: the build runs under the Node 24 binary that
// test/servers/install.mjs installs on linux x64, or under this Node when it is new enough.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
const modern = major >= 26 || (major === 24 && minor >= 15) || (major === 22 && minor >= 22)
const angularNode = modern ? process.execPath : existsSync(NODE_24) ? NODE_24 : undefined

const APP = join(FRAMEWORKS_DIR, 'analog')
const PUBLISHED = join(APP, 'dist/analog/public')
const vite = 'node_modules/vite/bin/vite.js'

describe.skipIf(!angularNode)('Analog 2.7 (Angular 22, static prerender; skipped without Node 22.22+ or the Node 24 binary of linux x64)', () => {
  it('the plain plugin refuses before any request, naming dist/analog/public; the CLI suggests it too, and deploys it named, byte-identical, no server file', async () => {
    const refusedTarget = join(tempDir('analog-refused'), 'www')
    const refused = await buildFixture('analog', [vite, 'build'], pathToFileURL(refusedTarget).href, angularNode)
    const output = refused.stdout + refused.stderr
    expect(refused.code, output).not.toBe(0)
    expect(refused.stderr).toContain(
      "[collectfasta] Nothing deployed: this build is not the whole site, as Vite's client build (dist/client) is copied into dist/analog/public, where the app writes its pages after it; " +
        'run `npx collectfasta deploy dist/analog/public` (the directory the app publishes) after the build instead, with collectfasta() removed from the Vite plugins.',
    )
    expect(refused.stderr, 'the sentence as it is, not in the brackets of a stack-less error').toMatch(/^\[collectfasta\] Nothing deployed/m)
    expect(existsSync(refusedTarget)).toBe(false)
    // What the refusal is about: the client build lacks the prerendered pages the copy has.
    expect(existsSync(join(APP, 'dist/client/about/index.html'))).toBe(false)
    expect(existsSync(join(PUBLISHED, 'about/index.html'))).toBe(true)

    // What the sentence says: build without the plugin, then the CLI, which finds the folder.
    const dir = join(tempDir('analog'), 'www')
    const built = await buildFixture('analog', [vite, 'build'], pathToFileURL(dir).href, angularNode, { COLLECTFASTA_ENABLED: 'false' })
    expect(built.code, built.stdout + built.stderr).toBe(0)
    expect(existsSync(dir)).toBe(false)
    // With no directory, the CLI finds dist/client and its copy: the copy is suggested, never picked.
    const cli = join(FRAMEWORKS_DIR, '../../dist/cli.js')
    const guessed = await buildFixture('analog', [cli, 'deploy'], pathToFileURL(dir).href)
    expect(guessed.code, guessed.stdout + guessed.stderr).toBe(2)
    expect(guessed.stderr).toContain('name the directory the app publishes, `npx collectfasta deploy dist/analog/public`')
    expect(existsSync(dir)).toBe(false)
    const deployed = await buildFixture('analog', [cli, 'deploy', 'dist/analog/public'], pathToFileURL(dir).href)
    const cliOutput = deployed.stdout + deployed.stderr
    expect(deployed.code, cliOutput).toBe(0)

    const site = snapshot(PUBLISHED)
    expect(existsSync(join(dir, DEPLOY_MANIFEST)), cliOutput).toBe(true)
    const target = deployedSite(dir)
    for (const page of ['index.html', 'about/index.html', 'robots.txt']) expect(site.has(page), page).toBe(true)
    expect(site.get('about/index.html')?.toString()).toContain('A prerendered page.')
    expect([...target.keys()].sort()).toEqual([...site.keys()].sort())
    expect([...site].filter(([path, bytes]) => !target.get(path)?.equals(bytes)).map(([path]) => path)).toEqual([])
    // The SSR bundle Nitro prerendered with is on disk, and none of it was deployed.
    const server = [...snapshot(join(APP, 'dist/ssr')).keys()].filter((path) => path.endsWith('.js'))
    expect(server).toContain('main.server.js')
    expect([...target.keys()].filter((path) => path.endsWith('main.server.js') || server.includes(path))).toEqual([])
  }, 300_000)
})
