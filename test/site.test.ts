// The published-site model (src/site/): the decision table in milliseconds, the layout's rules,
// and the reproductions of issue #32 as real builds in a child process (the end of a process is
// only seen from outside it).
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { deploy } from '../src/index.js'
import { CLIENT_BUILD_RULES, COPY_RULE, type ClientBuildFacts, FINAL_RULES, type FinalFacts, decide } from '../src/site/decide.js'
import { serverEnvironment } from '../src/published.js'
import { deployCommand, urlFiles } from '../src/site/layout.js'
import { changedSince } from '../src/site/process-end.js'
import { copyApp, deployedSite, removeApps, snapshot } from './app.js'
import { writeTree } from './helpers.js'
import { memory } from './strategies/memory.js'

afterAll(removeApps)

const ROOT = fileURLToPath(new URL('..', import.meta.url))

describe('the decision table (pure, no build)', () => {
  const client: ClientBuildFacts = { watchMode: false, deployInWatch: false, sameRootRunning: false, serverBuiltBefore: false, sameRootWaiting: false, ssrManifest: false, hasPage: true, library: false }
  const cases: [string, Partial<ClientBuildFacts>, string][] = [
    ['a plain client build', {}, 'deploy'],
    ["another tool's build of the app's config", { otherSite: 'warning', sameRootRunning: true }, 'skip:another tool'],
    ['watch mode without watch: true', { watchMode: true }, 'skip:watch'],
    ['watch mode with watch: true', { watchMode: true, deployInWatch: true }, 'deploy'],
    ['a Vite 6 app build', { appBuild: 'vite6' }, 'refuse:Vite 6 app build'],
    ['a Vite 7+ app build', { appBuild: 'vite7+', sameRootRunning: true }, 'defer:app'],
    ['another build of the same root running', { sameRootRunning: true, serverEnvironment: 'ssr' }, 'defer:process'],
    ['a server build of the same root before it', { serverBuiltBefore: true }, 'defer:process'],
    ['a build of the same root that ran inside it waits for the end', { sameRootWaiting: true }, 'defer:process'],
    ['a server environment', { serverEnvironment: 'ssr', ssrManifest: true }, 'refuse:server environment'],
    ['an SSR manifest: a server build may render its pages after it (vite-ssg)', { ssrManifest: true }, 'defer:process'],
    ['no page yet: a later build may render them', { hasPage: false }, 'defer:process'],
    ['no page in a library build', { hasPage: false, library: true }, 'deploy'],
    ['no page in watch mode (no end to wait for: the final rules answer)', { hasPage: false, watchMode: true, deployInWatch: true }, 'deploy'],
  ]
  const label = (d: ReturnType<typeof decide>) => (d.action === 'deploy' ? 'deploy' : d.action === 'defer' ? `defer:${d.until}` : `${d.action}:${d.rule}`)
  it.each(cases)('%s', (_name, facts, expected) => {
    expect(label(decide(CLIENT_BUILD_RULES, { ...client, ...facts }))).toBe(expected)
  })

  const final: FinalFacts = { dir: 'dist', hasPage: true, library: false }
  const finals: [string, Partial<FinalFacts>, string][] = [
    ['a directory with pages', {}, 'deploy'],
    ['a copy with pages written there', { copy: 'site/public', hasPage: false }, 'refuse:copy'],
    ['no page, no server', { hasPage: false }, 'refuse:no page'],
    ['no page in a library build', { hasPage: false, library: true }, 'deploy'],
    ['no page, a server', { hasPage: false, server: '`ssr` environment' }, 'refuse:no page'],
    ['a link to a page a server renders', { server: '`ssr` environment', missing: { page: 'index.html', link: '/docs' } }, 'refuse:missing page'],
    ['a missing page without a server (a broken link, not ours)', { missing: { page: 'index.html', link: '/docs' } }, 'deploy'],
    ['an SSR manifest, no server build after it', { ssrManifest: true }, 'refuse:SSR manifest'],
    ['an SSR manifest, a server build rendered its pages after it', { ssrManifest: true, server: 'server (SSR) build' }, 'deploy'],
  ]
  it.each(finals)('final: %s', (_name, facts, expected) => {
    expect(label(decide(FINAL_RULES, { ...final, ...facts }))).toBe(expected)
  })

  it('the copy rule, as the CLI asks it of the directory it found: a copy refuses and is suggested, never picked', () => {
    expect(label(decide([COPY_RULE], { dir: 'dist/client', copy: 'dist/analog/public' }))).toBe('refuse:copy')
    expect(decide([COPY_RULE], { dir: 'dist/client', copy: 'dist/analog/public' })).toMatchObject({ copy: 'dist/analog/public' })
    expect(label(decide([COPY_RULE], { dir: 'dist/client' }))).toBe('deploy')
  })

  it("a server environment's entries count only when they are its own, not the client's it inherits (vite-ssg sets build.rollupOptions.input)", () => {
    const input = { app: '/app/index.html' }
    const client = { consumer: 'client', build: { rollupOptions: { input } } }
    expect(serverEnvironment({ client, ssr: { consumer: 'server', build: { rollupOptions: { input } } } })).toBeUndefined()
    expect(serverEnvironment({ client, ssr: { consumer: 'server', build: { rollupOptions: { input: '/app/src/entry-server.js' } } } })).toBe('ssr')
  })

  it('names the real directory in its sentences, never a placeholder', () => {
    const decision = decide(FINAL_RULES, { ...final, dir: 'docs/.vuepress/dist', hasPage: false, server: 'server (SSR) build' })
    expect(decision.action === 'refuse' && decision.why).toBe('its pages are rendered by its server (SSR) build, not written to docs/.vuepress/dist')
  })
})

describe('the layout', () => {
  it('turns a URL path into the files a static host answers with', () => {
    expect(urlFiles('')).toEqual(['index.html'])
    expect(urlFiles('blog/')).toEqual(['blog/index.html'])
    expect(urlFiles('about')).toEqual(['about', 'about/index.html', 'about.html'])
  })

  it('builds the suggested command, quoted for a shell', () => {
    expect(deployCommand('dist')).toBe('`npx collectfasta deploy dist`')
    expect(deployCommand('my site', '<target>')).toBe("`npx collectfasta deploy 'my site' --to <target>`")
    expect(deployCommand()).toBe('`npx collectfasta deploy <dir>`')
    expect(deployCommand(join(process.cwd(), 'docs/.vuepress/dist'))).toBe('`npx collectfasta deploy docs/.vuepress/dist`')
  })

  it('sees new and changed files by their size and time alone', () => {
    const then = new Map([['a.js', '1:1'], ['b.js', '2:2']])
    expect(changedSince(then, new Map([['a.js', '1:1'], ['b.js', '2:3'], ['c.html', '5:5']]))).toEqual(['b.js', 'c.html'])
    expect(changedSince(then, new Map([['a.js', '1:1']]))).toEqual([])
  })
})

describe('server code is refused by deploy() itself, before any request (every door)', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['a server bundle beside the public half', { 'client/index.html': '<h1>Hi</h1>', 'server/entry.js': 'export {}' }, /holds a server bundle \(\S*server\) beside the site it publishes.*`npx collectfasta deploy \S*client`/],
    ["Cloudflare Pages' _worker.js", { 'index.html': '<h1>Hi</h1>', '_worker.js': 'export default {}' }, /_worker\.js is server code \(Cloudflare Pages' advanced mode\)/],
  ]
  it.each(cases)('%s', async (_name, tree, sentence) => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-guard-'))
    writeTree(dir, tree)
    const strategy = memory()
    const error = await deploy({ strategy, outDir: dir, root: dir, logger: { info() {}, warn() {} } }).then(() => undefined, (e: Error & { code?: string }) => e)
    expect(error?.message).toMatch(sentence)
    expect((error as { code?: string })?.code).toBe('ERR_COLLECTFASTA_REFUSED')
    expect(strategy.calls).toEqual([])
  })

  it('an integration refuses with the same one sentence as deploy(), nothing appended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-guard-'))
    writeTree(dir, { 'index.html': '<h1>Hi</h1>', '_worker.js': 'export default {}' })
    const logger = { info() {}, warn() {} }
    const direct = await deploy({ strategy: memory(), outDir: dir, root: dir, logger }).then(() => undefined, (e: Error) => e)
    const { deployFinalOutput } = await import('../src/frameworks/final-output.js')
    const strategy = memory()
    const integration = await deployFinalOutput({ strategy }, { framework: 'Astro', outDir: dir, assetsDir: '_astro', configRoot: dir, logger }).then(() => undefined, (e: Error) => e)
    expect(direct?.message).toMatch(/^\[collectfasta\] \S*_worker\.js is server code/)
    expect(integration?.message).toBe(direct?.message)
    expect(strategy.calls).toEqual([])
  })

  it('the plugin refuses a _worker.js in the build with the same sentence', async () => {
    const root = copyApp()
    writeFileSync(join(root, 'public/_worker.js'), 'export default {}')
    const { build } = await import('vite')
    const { collectfasta } = await import('../src/index.js')
    const strategy = memory()
    const error = await build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [collectfasta({ strategy, cacheDir: join(root, '.cache') })] }).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(error?.message).toMatch(/_worker\.js is server code \(Cloudflare Pages' advanced mode\)/)
    expect(strategy.calls).toEqual([])
  })
})

/** Runs `script` (an ES module: `vite` (the module `viteModule`), `collectfasta`, `filesystem`, `root` and `target` in scope) in a child Node in `root`. */
function runScript(root: string, target: string, script: string, viteModule = 'vite'): Promise<{ code: number | null; output: string }> {
  const file = join(root, 'build.mjs')
  const vite = import.meta.resolve(viteModule)
  writeFileSync(
    file,
    `import * as vite from ${JSON.stringify(vite)}\n` +
      `import { collectfasta } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/index.js')).href)}\n` +
      `import { filesystem } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/strategies/filesystem.js')).href)}\n` +
      `const root = ${JSON.stringify(root)}\nconst target = ${JSON.stringify(target)}\n${script}\n`,
  )
  return new Promise((done) => {
    execFile(process.execPath, [file], { cwd: root, timeout: 50_000 }, (error, stdout, stderr) => {
      done({ code: error ? ((error as { code?: number }).code ?? null) : 0, output: stdout + stderr })
    })
  })
}

const plugin = "collectfasta({ strategy: filesystem({ dir: target }), cacheDir: root + '/.cache' })"
/** The same, printing DEPLOYED after each deploy: a test counts them. */
const counted = "collectfasta({ strategy: filesystem({ dir: target }), cacheDir: root + '/.cache', onDeployed: () => console.log('DEPLOYED') })"

/** A copy of the test app, and the directory beside it that its scripts deploy to. */
function appWithTarget(): { root: string; target: string } {
  const root = copyApp()
  return { root, target: join(root, '..', `${root.split('/').at(-1)}-target`) }
}

/** `target` holds exactly `root`'s dist, byte for byte; returns dist. */
function expectDeployedDist(root: string, target: string): Map<string, Buffer> {
  const dist = snapshot(join(root, 'dist'))
  const deployed = deployedSite(target)
  expect([...deployed.keys()].sort()).toEqual([...dist.keys()].sort())
  for (const [path, bytes] of dist) expect(deployed.get(path)?.equals(bytes), path).toBe(true)
  return dist
}

describe('never exit 0 without deploying (child processes, real Vite 8 builds)', () => {
  // As React Router 7 (framework mode, prerender) does: the process ends inside the app build.
  const exitsInsideAppBuild = (options: string) => `
    const exits = { name: 'exits', buildApp: { order: 'post', handler: () => process.exit(0) } }
    const environments = { ssr: { build: { outDir: 'dist-server', rollupOptions: { input: root + '/src/greet.js' } } } }
    const builder = await vite.createBuilder({ root, configFile: false, logLevel: 'silent', environments, builder: { async buildApp(b) { await b.build(b.environments.client); await b.build(b.environments.ssr) } }, plugins: [exits, collectfasta({ strategy: filesystem({ dir: target }), cacheDir: root + '/.cache'${options} })] })
    await builder.buildApp()`

  it('a process that ends before the deploy exits non-zero, naming the directory', async () => {
    const { root, target } = appWithTarget()
    const { code, output } = await runScript(root, target, exitsInsideAppBuild(''))
    expect(output).toMatch(/The build ended the process before Vite's end of the app build: \S*dist was NOT deployed: run `npx collectfasta deploy \S*dist`/)
    expect(code).toBe(1)
    expect(existsSync(join(target, 'index.html'))).toBe(false)
  })

  it("with notDeployed: 'warn', the same sentence is a warning and the exit code is left alone", async () => {
    const { root, target } = appWithTarget()
    const { code, output } = await runScript(root, target, exitsInsideAppBuild(", notDeployed: 'warn'"))
    expect(output).toContain('was NOT deployed')
    expect(code).toBe(0)
  })

  it('a process that builds the same root again deploys once, after its last build, the directory it leaves', async () => {
    const { root, target } = appWithTarget()
    // A server build whose writeBundle runs the client build, then renders a page into its directory.
    const { code, output } = await runScript(
      root,
      target,
      `
      const p = ${plugin}
      const client = () => vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [p] })
      const renders = { name: 'renders', async writeBundle() { await client(); const fs = await import('node:fs'); fs.mkdirSync(root + '/dist/about', { recursive: true }); fs.writeFileSync(root + '/dist/about/index.html', '<h1>About</h1>') } }
      await vite.build({ root, configFile: false, logLevel: 'silent', build: { ssr: 'src/greet.js', outDir: 'dist-ssr' }, plugins: [p, renders] })`,
    )
    expect(code, output).toBe(0)
    expect(expectDeployedDist(root, target).has('about/index.html')).toBe(true)
  })

  it('a client build that runs a second client build of the same root deploys once, after the last, the directory both leave', async () => {
    const { root, target } = appWithTarget()
    writeFileSync(join(root, 'about.html'), '<!doctype html><h1>About</h1>')
    // The outer build's closeBundle (before ours) builds another page of the app into the same folder.
    const { code, output } = await runScript(
      root,
      target,
      `
      const inner = () => vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist', emptyOutDir: false, rollupOptions: { input: root + '/about.html' } }, plugins: [${counted}] })
      const again = { name: 'again', async closeBundle() { await inner() } }
      await vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [again, ${counted}] })`,
    )
    expect(code, output).toBe(0)
    expect(output.match(/DEPLOYED/g), output).toEqual(['DEPLOYED'])
    const dist = expectDeployedDist(root, target)
    expect(dist.has('about.html') && dist.has('index.html')).toBe(true)
  })

  const renderAfter: [string, string][] = [
    ['with an SSR manifest (vite-ssg)', "ssrManifest: true"],
    ['without a page (a static-generation step writes them all)', "rollupOptions: { input: root + '/src/main.js' }"],
  ]
  it.each(renderAfter)('a client build %s, then a server build of the same root and a render into its directory, deploys once, after the render', async (_name, client) => {
    const { root, target } = appWithTarget()
    // Each build loads the config anew (a new plugin instance), as vite-ssg does; the render runs after the server build.
    const { code, output } = await runScript(
      root,
      target,
      `
      await vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist', ${client} }, plugins: [${counted}] })
      await vite.build({ root, configFile: false, logLevel: 'silent', build: { ssr: 'src/greet.js', outDir: 'dist-ssr' }, plugins: [${counted}] })
      const fs = await import('node:fs')
      fs.writeFileSync(root + '/dist/index.html', '<!doctype html><h1>Rendered</h1>')
      fs.mkdirSync(root + '/dist/about', { recursive: true })
      fs.writeFileSync(root + '/dist/about/index.html', '<h1>About</h1>')`,
    )
    expect(code, output).toBe(0)
    expect(output.match(/DEPLOYED/g), output).toEqual(['DEPLOYED'])
    const dist = expectDeployedDist(root, target)
    expect(dist.get('index.html')?.toString()).toContain('<h1>Rendered</h1>')
    expect(dist.has('about/index.html')).toBe(true)
  })

  it('a client build with a page and no SSR manifest, then a server build and a render, deploys twice (the limit docs/plugin.md states)', async () => {
    const { root, target } = appWithTarget()
    // Nothing at the client build's end says a render follows: it deploys there; the render's pages go out at the end of the process.
    const { code, output } = await runScript(
      root,
      target,
      `
      await vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [${counted}] })
      await vite.build({ root, configFile: false, logLevel: 'silent', build: { ssr: 'src/greet.js', outDir: 'dist-ssr' }, plugins: [${counted}] })
      const fs = await import('node:fs')
      fs.writeFileSync(root + '/dist/index.html', '<!doctype html><h1>Rendered</h1>')`,
    )
    expect(code, output).toBe(0)
    expect(output.match(/DEPLOYED/g), output).toEqual(['DEPLOYED', 'DEPLOYED'])
    expect(readFileSync(join(target, 'index.html'), 'utf8')).toContain('<h1>Rendered</h1>')
  })

  it('a client build with an SSR manifest and no server build after it is refused at the end of the process, exit non-zero', async () => {
    const { root, target } = appWithTarget()
    const { code, output } = await runScript(root, target, `await vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist', ssrManifest: true }, plugins: [${plugin}] })`)
    expect(output).toMatch(/Nothing deployed: this build is not the whole site, as it writes an SSR manifest, for a server that renders the pages, and no server build of the app followed it in this process; run `npx collectfasta deploy \S*dist`/)
    expect(code).toBe(1)
    expect(existsSync(target)).toBe(false)
  })

  it('a process that ends during a deploy that waited for its end (vite-ssg exits 15 s after its build) exits non-zero, naming the directory', async () => {
    const { root, target } = appWithTarget()
    const { code, output } = await runScript(
      root,
      target,
      `
      const strategy = filesystem({ dir: target })
      strategy.upload = () => process.exit(0)
      const p = () => collectfasta({ strategy, cacheDir: root + '/.cache' })
      await vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist', ssrManifest: true }, plugins: [p()] })
      await vite.build({ root, configFile: false, logLevel: 'silent', build: { ssr: 'src/greet.js', outDir: 'dist-ssr' }, plugins: [p()] })`,
    )
    expect(output).toMatch(/The process ended during the deploy of \S*dist, which did NOT finish: run `npx collectfasta deploy \S*dist`/)
    expect(code).toBe(1)
  })

  it('files written into the deployed directory later in the process are deployed at its end, or named in a failure', async () => {
    const { root, target } = appWithTarget()
    const late = (exit: string) => `
      await vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist' }, plugins: [${plugin}] })
      const fs = await import('node:fs')
      fs.writeFileSync(root + '/dist/late.html', '<h1>Written after the deploy</h1>')
      ${exit}`
    const natural = await runScript(root, target, late(''))
    expect(natural.code, natural.output).toBe(0)
    expect(existsSync(join(target, 'late.html'))).toBe(true)

    const root2 = copyApp()
    const target2 = join(root2, '..', `${root2.split('/').at(-1)}-target`)
    const exited = await runScript(root2, target2, late('process.exit(0)'))
    expect(exited.output).toMatch(/Files written into \S*dist after its deploy were NOT deployed \(late\.html\): run `npx collectfasta deploy \S*dist`/)
    expect(exited.code).toBe(1)
  })
})

describe("another tool's build of the app's config stays green, deploying nothing", () => {
  it('a tool whose Vite root is its own app elsewhere (Ladle: inside node_modules), run from the project holding vite.config', async () => {
    const { root, target } = appWithTarget()
    writeFileSync(join(root, 'vite.config.js'), 'export default {}')
    mkdirSync(join(root, 'node_modules/tool/app'), { recursive: true })
    writeFileSync(join(root, 'node_modules/tool/app/index.html'), '<!doctype html><h1>The tool</h1>')
    const { code, output } = await runScript(
      root,
      target,
      `await vite.build({ root: root + '/node_modules/tool/app', configFile: false, build: { outDir: root + '/tool-build', emptyOutDir: true }, plugins: [${plugin}] })`,
    )
    expect(code, output).toBe(0)
    expect(output).toContain("[collectfasta] Not deployed: this build passes `configFile: false` beside vite.config.js")
    expect(existsSync(target)).toBe(false)
  })
})

describe('a refused build fails the process', () => {
  // Refused at the end of the process (a later build might have rendered the pages), in each Vite.
  it.each(['vite5', 'vite6', 'vite7', 'vite'])('a client build without a page and nothing after it names its directory, not a placeholder (%s)', async (vite) => {
    const { root, target } = appWithTarget()
    const { code, output } = await runScript(
      root,
      target,
      `await vite.build({ root, configFile: false, logLevel: 'silent', build: { outDir: 'dist', manifest: true, rollupOptions: { input: root + '/src/main.js' } }, plugins: [${plugin}] })`,
      vite,
    )
    expect(output.trim()).toBe(
      '[collectfasta] Nothing deployed: this build is not the whole site, as it has no HTML page (a server, or a later build step, renders the pages); ' +
        'run `npx collectfasta deploy dist` (the directory the app publishes) after the build instead, with collectfasta() removed from the Vite plugins.',
    )
    expect(code).toBe(1)
    expect(existsSync(target)).toBe(false)
  })
})
