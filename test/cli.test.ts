import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { snapshot } from './app.js'
import { writeTree } from './helpers.js'
import { S3_BUCKET } from './setup/servers.js'
import { GCS_BUCKET, readBackGcs } from './strategies/gcs-emulator.js'
import { readBackS3 } from './strategies/s3-servers.js'
import { recordingProxy } from './servers/proxy.mjs'
import { NODE_24 } from './servers/runtimes.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(ROOT, 'dist/cli.js')
const SITE = { 'index.html': '<h1>home</h1>', 'about/index.html': '<h1>about</h1>', 'assets/app-1a2b3c.js': 'console.log(1)', 'robots.txt': 'ok' }

const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

/** A project folder with a built site in dist/, and this package linked in as an install would. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'collectfasta-cli-'))
  temp.push(dir)
  writeTree(join(dir, 'dist'), SITE)
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(ROOT, join(dir, 'node_modules/vite-plugin-collectfasta'), 'junction')
  symlinkSync(join(ROOT, 'node_modules/vite'), join(dir, 'node_modules/vite'), 'junction')
  return dir
}

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs the built CLI as a user would, in `cwd`. */
function cli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CI: '1', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

function siteFiles(dir: string): string[] {
  return [...snapshot(dir).keys()].filter((path) => !path.startsWith('.collectfasta/')).sort()
}

describe('collectfasta deploy', () => {
  it('--help lists every flag with one line each', async () => {
    const { code, stdout } = await cli(ROOT, ['deploy', '--help'])
    expect(code).toBe(0)
    const flags = ['--to', '--endpoint', '--config', '--mode', '--dry-run', '--force', '--concurrency', '--prune', '--report', '--cache-dir', '--json', '--quiet']
    for (const flag of flags) expect(stdout, flag).toMatch(new RegExp(`^\\s+${flag}\\b.*\\S`, 'm'))
  })

  it('to a directory: deploys, then finds nothing to do; --json prints only the report', async () => {
    const dir = project()
    const www = join(dir, 'www')
    const first = await cli(dir, ['deploy', 'dist', '--to', pathToFileURL(www).href])
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/\[collectfasta\] file:\/\/.*: uploaded 4 file\(s\)/)
    expect(siteFiles(www)).toEqual(Object.keys(SITE).sort())
    const again = await cli(dir, ['deploy', '--to', pathToFileURL(www).href, '--json'])
    expect(again.code).toBe(0)
    const report = JSON.parse(again.stdout)
    expect(report.uploaded).toEqual([])
    expect(report.skipped).toHaveLength(4)
    expect(again.stderr).toMatch(/0 file\(s\)/) // the summary goes to stderr with --json
  })

  it('to a local S3 server with --endpoint, credentials from the environment', async () => {
    const dir = project()
    const endpoint = inject('s3rverEndpoint')
    const prefix = `cli-${Date.now()}/`
    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }
    const { code, stdout, stderr } = await cli(dir, ['deploy', '--to', `s3://${S3_BUCKET}/${prefix}`, '--endpoint', endpoint, '--report', 'out/report.json'], env)
    expect(stderr.replace(/.*NodeVersionSupportWarning[^\n]*\n?/g, '')).not.toMatch(/error/i)
    expect(code).toBe(0)
    expect(stdout).toContain(`s3://${S3_BUCKET}/${prefix}`)
    for (const [path, content] of Object.entries(SITE)) {
      expect(Buffer.from((await readBackS3(endpoint, prefix + path))?.bytes ?? []).toString(), path).toBe(content)
    }
    expect((await readBackS3(endpoint, `${prefix}assets/app-1a2b3c.js`))?.headers?.cacheControl).toBe('public, max-age=31536000, immutable')
    expect(snapshot(join(dir, 'out')).has('report.json')).toBe(true)
  })

  it('to the GCS emulator', async () => {
    const dir = project()
    const prefix = `cli-${Date.now()}/`
    const { code } = await cli(dir, ['deploy', '--to', `gs://${GCS_BUCKET}/${prefix}`], {
      STORAGE_EMULATOR_HOST: inject('gcsEndpoint'),
      GOOGLE_CLOUD_PROJECT: 'collectfasta-test',
    })
    expect(code).toBe(0)
    for (const [path, content] of Object.entries(SITE)) {
      expect(Buffer.from((await readBackGcs(prefix + path))?.bytes ?? []).toString(), path).toBe(content)
    }
  })

  it('reads collectfasta.config.ts (defineConfig); flags override it', async () => {
    const dir = project()
    writeFileSync(
      join(dir, 'collectfasta.config.ts'),
      [
        "import { defineConfig } from 'vite-plugin-collectfasta'",
        "import { filesystem } from 'vite-plugin-collectfasta/filesystem'",
        "const dir: string = new URL('./from-config', import.meta.url).pathname",
        'export default defineConfig({ strategy: filesystem({ dir }), dir: "dist", exclude: "robots.txt" })',
      ].join('\n'),
    )
    const dry = await cli(dir, ['deploy', '--dry-run'])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/would upload 3 file\(s\)/)
    const real = await cli(dir, ['deploy'])
    expect(real.code).toBe(0)
    expect(siteFiles(join(dir, 'from-config'))).toEqual(['about/index.html', 'assets/app-1a2b3c.js', 'index.html'])
    const elsewhere = join(dir, 'from-flag')
    expect((await cli(dir, ['deploy', '--to', pathToFileURL(elsewhere).href])).code).toBe(0)
    expect(siteFiles(elsewhere)).toEqual(['about/index.html', 'assets/app-1a2b3c.js', 'index.html']) // --to won, exclude kept
  })

  it('reads the plugin options of vite.config.ts for --mode, and its outDir', async () => {
    const dir = project()
    writeTree(join(dir, 'out'), SITE)
    writeFileSync(
      join(dir, 'vite.config.ts'),
      [
        "import { defineConfig } from 'vite'",
        "import collectfasta from 'vite-plugin-collectfasta'",
        "import { filesystem } from 'vite-plugin-collectfasta/filesystem'",
        'export default defineConfig(({ mode }) => ({',
        "  build: { outDir: 'out' },",
        "  plugins: [collectfasta({ strategy: filesystem({ dir: new URL('./www-' + mode, import.meta.url).pathname }) })],",
        '}))',
      ].join('\n'),
    )
    const { code, stdout } = await cli(dir, ['deploy', '--mode', 'staging', '--quiet'])
    expect(code).toBe(0)
    expect(stdout).toBe('')
    expect(siteFiles(join(dir, 'www-staging'))).toEqual(Object.keys(SITE).sort())
  })

  it.each([
    ['a vite.config without the plugin', {}],
    ['a collectfasta.config without dir', { 'collectfasta.config.mjs': "export default { exclude: 'robots.txt' }\n" }],
  ])("%s: build.outDir of vite.config is where the CLI looks, never a stale dist/", async (_case, files) => {
    const dir = project() // a stale site in dist/
    writeTree(join(dir, 'dist'), { 'index.html': '<h1>stale</h1>' })
    writeTree(join(dir, 'out'), { ...SITE, 'index.html': '<h1>fresh</h1>' })
    writeTree(dir, { 'vite.config.js': "export default { build: { outDir: 'out' } }\n", ...files })
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(readFileSync(join(www, 'index.html'), 'utf8')).toBe('<h1>fresh</h1>')
    expect(siteFiles(www)).toContain('about/index.html')
  })

  it('exit 1 when uploads failed, with the report on stdout under --json', async () => {
    const dir = project()
    const www = join(dir, 'www')
    mkdirSync(join(www, 'index.html'), { recursive: true }) // a directory where a page must go
    const { code, stdout, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href, '--json'])
    expect(code).toBe(1)
    expect(stderr).toMatch(/1 upload\(s\) to file:\/\/.* failed:\n\s+index\.html: /)
    expect(JSON.parse(stdout).failed.map((f: { key: string }) => f.key)).toEqual(['index.html'])
  })

  it.each([
    [['deploy', '--to', 's3://bucket/x', '--concurrency', '0'], /\[collectfasta\] --concurrency expects a whole number ≥ 1, got "0"\./],
    [['deploy', '--to', 's3://bucket/x', '--concurrency', 'abc'], /\[collectfasta\] --concurrency expects a whole number ≥ 1, got "abc"\./],
    [['deploy', '--bogus'], /^\[collectfasta\] Unknown option `--bogus`\. Run `collectfasta deploy --help` for every option\.$/m],
    [['deploy', '--dryrun'], /^\[collectfasta\] Unknown option `--dryrun`\. Did you mean --dry-run\? Run `collectfasta deploy --help`/m],
    [['deploy', '--to', 's3://'], /^\[collectfasta\] --to "s3:\/\/" names no bucket: use --to s3:\/\/my-bucket or --to s3:\/\/my-bucket\/prefix\.$/m],
    [['deploy', '--to', 'ftp://host/x'], /unknown scheme ftp:/],
    [['deploy'], /No target: pass --to s3:\/\/bucket\/prefix/],
    [['deploy', '--nope'], /Unknown option `--nope`/],
    [['deploy', 'missing-dir', '--to', 'file:///tmp/collectfasta-cli-never'], /The directory .*missing-dir does not exist: build first/],
    [['publish'], /Unknown command "publish"/],
  ])('exit 2 for bad usage: %j', async (args, message) => {
    const dir = project()
    const { code, stderr } = await cli(dir, args)
    expect(stderr).toMatch(message)
    expect(stderr).not.toMatch(/s3\(\{/) // a CLI user is told the CLI form, not JavaScript
    expect(code).toBe(2)
  })

  it('a --to prefix a URL parser would resolve elsewhere is exit 2, before any request (also --prune)', async () => {
    const proxy = await recordingProxy(inject('fauxqsEndpoint'))
    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }
    const targets = ['s3://site/app/../', 's3://site/..', 's3://site/%2e%2e/', 's3://site//', 's3://site?x=1/', 's3://site/#frag', 's3://site/a/../../other/']
    try {
      const dir = project()
      const results = await Promise.all(targets.map((to) => cli(dir, ['deploy', '--prune', '--to', to, '--endpoint', proxy.url], env)))
      expect(results).toHaveLength(targets.length)
      for (const [i, { code, stderr }] of results.entries()) {
        expect(stderr, targets[i]).toMatch(/^\[collectfasta\] --to ".*" has a prefix that is not a plain path: .*\. Name the folder plainly, e\.g\. --to s3:\/\/my-bucket\/site\/\.$/m)
        expect(code, targets[i]).toBe(2)
      }
      expect(proxy.requests).toEqual([])
    } finally {
      await proxy.close()
    }
  })

  it.each([
    ['gs://site/app/../', /--to "gs:\/\/site\/app\/\.\.\/" has a prefix that is not a plain path: it has a '\.' or '\.\.' segment/],
    ['file:./www?x=1', /--to "file:\.\/www\?x=1" is not a plain directory: it contains `\?` or `#`/],
    ['file:///srv/www#top', /is not a plain directory: it contains `\?` or `#`/],
    ['file:///srv/site/%2e%2e/www', /is not a plain directory: it has a percent-encoded dot segment/],
  ])('--to %s is exit 2 with one sentence', async (to, message) => {
    const { code, stderr } = await cli(project(), ['deploy', '--to', to])
    expect(stderr).toMatch(message)
    expect(code).toBe(2)
  })

  it.each([
    [['deploy', '--to', 's3://AKIAKEY:s3cr3tv4lue@bucket/x'], /--to "s3:\/\/\*\*\*@bucket\/x" carries credentials/],
    [['deploy', '--to', 's3://bucket/x', '--endpoint', 'HTTPS://AKIAKEY:s3cr3t/v4lue@host'], /got "HTTPS:\/\/\*\*\*@host", which is not a valid URL/],
    [['deploy', '--to', 's3://bucket/x', '--endpoint', ' https://AKIAKEY:s3cr3tv4lue@host'], /got " https:\/\/\*\*\*@host"/],
    [['deploy', '--to', 's3://bucket/x', '--endpoint', 's3://AKIAKEY:s3cr3tv4lue@host'], /got "s3:\/\/\*\*\*@host"/],
  ])('credentials in a URL are never printed: %j', async (args, message) => {
    const { code, stderr } = await cli(project(), args, { DEBUG: '1' })
    expect(stderr).toMatch(message)
    expect(stderr).not.toMatch(/s3cr3t|v4lue/)
    expect(code).toBe(2)
  })

  it('a missing SDK exits 2 (install it, then deploy), with the install line', async () => {
    const dir = project()
    // The SDK made unresolvable, as in a project that never installed it.
    const hook = join(dir, 'no-sdk.mjs')
    const resolver = `export async function resolve(specifier, context, next) {
  if (specifier === '@google-cloud/storage') throw Object.assign(new Error("Cannot find package '@google-cloud/storage'"), { code: 'ERR_MODULE_NOT_FOUND' })
  return next(specifier, context)
}`
    writeFileSync(hook, `import { register } from 'node:module'\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(resolver)}))\n`)
    const { code, stderr } = await cli(dir, ['deploy', '--to', 'gs://bucket/x'], { NODE_OPTIONS: `--import=${pathToFileURL(hook).href}` })
    expect(stderr).toMatch(/Cannot import `@google-cloud\/storage`\. Install it with `npm i -D @google-cloud\/storage`\./)
    expect(code).toBe(2)
  })

  it('a runtime TypeError is a failed deploy (exit 1), not bad usage; --json still prints the report', async () => {
    const dir = project()
    writeFileSync(
      join(dir, 'collectfasta.config.ts'),
      [
        "import { defineConfig } from 'vite-plugin-collectfasta'",
        'const broken = undefined as unknown as { version: string }',
        "export default defineConfig({ strategy: { name: 'custom', target: 'custom://x/', async upload() { return undefined }, async stat() { return { key: broken.version } }, async get() { return undefined } } })",
      ].join('\n'),
    )
    const { code, stdout, stderr } = await cli(dir, ['deploy', '--json'])
    expect(stderr).toMatch(/Cannot read properties of undefined/)
    expect(code).toBe(1)
    expect(JSON.parse(stdout).failed).toEqual([{ key: '', error: expect.stringMatching(/Cannot read properties of undefined/) }])
  })

  it('--json prints the report when the deploy stops before any upload', async () => {
    const dir = project()
    writeFileSync(join(dir, 'blocker'), '')
    const { code, stdout, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(join(dir, 'www')).href, '--cache-dir', 'blocker/cache', '--json'])
    expect(stderr).toMatch(/is not writable/)
    expect(code).toBe(1)
    expect(JSON.parse(stdout).failed).toEqual([{ key: '', error: expect.stringMatching(/cache directory .*blocker\/cache is not writable/) }])
  })

  it("`dir` in a config file is relative to the config file's folder; no jiti cache is written", async () => {
    const dir = project()
    const temp = mkdtempSync(join(tmpdir(), 'collectfasta-cli-tmp-'))
    writeTree(join(dir, 'site/build'), { 'page.html': '<h1>page</h1>' })
    writeFileSync(
      join(dir, 'site/collectfasta.config.ts'),
      [
        "import { defineConfig } from 'vite-plugin-collectfasta'",
        "import { filesystem } from 'vite-plugin-collectfasta/filesystem'",
        `export default defineConfig({ strategy: filesystem({ dir: ${JSON.stringify(join(dir, 'www'))} }), dir: 'build' })`,
      ].join('\n'),
    )
    const { code, stderr } = await cli(dir, ['deploy', '--config', 'site/collectfasta.config.ts'], { TMPDIR: temp })
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(siteFiles(join(dir, 'www'))).toEqual(['page.html'])
    expect(readdirSync(temp).filter((name) => name.includes('jiti'))).toEqual([])
    rmSync(temp, { recursive: true, force: true })
  })
})

/** A project folder with no built site yet: each test lays out what a framework would leave. */
function bare(): string {
  const dir = project()
  rmSync(join(dir, 'dist'), { recursive: true })
  return dir
}

describe('collectfasta deploy with no directory: the one the build publishes, never a server bundle', () => {
  it.each([
    ['dist/client + dist/server (TanStack Start, Vike, Astro SSR)', 'dist/client', ['dist/server/server.js']],
    ['dist/client alone beside a manifest (Vike with every page prerendered)', 'dist/client', ['dist/assets.json']],
    ['build/client + build/server (React Router)', 'build/client', ['build/server/index.js']],
    ['.output/public + .output/server (Nitro: Nuxt, SolidStart, Analog)', '.output/public', ['.output/server/index.mjs']],
    ['.vercel/output/static (the Build Output API)', '.vercel/output/static', ['.vercel/output/functions/render.func/index.js']],
  ])('%s: deploys %s, keys without its folder', async (_layout, published, serverFiles) => {
    const dir = bare()
    writeTree(join(dir, published), SITE)
    writeTree(dir, Object.fromEntries(serverFiles.map((file) => [file, 'export default {}'])))
    const www = join(dir, 'www')
    const { code, stdout, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toContain(`[collectfasta] ${published}: the directory this build publishes`)
    expect(siteFiles(www)).toEqual(Object.keys(SITE).sort())
  })

  // Nitro (Analog's static prerender) copies the client build into dist/analog/public and
  // writes the pages there: dist/client is then the site without its pages.
  const client = { 'index.html': '<app-root></app-root>', 'assets/app-1a2b3c.js': 'console.log(1)', 'robots.txt': 'ok' }
  const copied = (dir: string, pagesAt: Date) => {
    writeTree(join(dir, 'dist/client'), client)
    writeTree(join(dir, 'dist/analog/public'), { ...client, 'index.html': '<h1>home</h1>', 'about/index.html': '<h1>about</h1>' })
    writeTree(dir, { 'dist/analog/server/index.mjs': 'export {}', 'dist/ssr/main.server.js': 'export {}' })
    const built = new Date(Date.now() - 60_000)
    for (const file of Object.keys(client)) utimesSync(join(dir, 'dist/client', file), built, built)
    for (const file of [...Object.keys(client), 'about/index.html']) utimesSync(join(dir, 'dist/analog/public', file), pagesAt, pagesAt)
  }

  it("a copy inside the server half (its own static/ with a newer page) is never the site: the client half is deployed, or suggested", async () => {
    const dir = bare()
    writeTree(join(dir, 'dist/client'), client)
    const built = new Date(Date.now() - 60_000)
    for (const file of Object.keys(client)) utimesSync(join(dir, 'dist/client', file), built, built)
    writeTree(join(dir, 'dist/server'), { 'entry-server.js': 'export const secret = 1', 'static/assets/app-1a2b3c.js': 'console.log(1)', 'static/robots.txt': 'ok', 'static/index.html': '<!--ssr-outlet-->' })
    const www = join(dir, 'www')
    const chosen = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(chosen.stderr).toBe('')
    expect(chosen.code).toBe(0)
    expect(chosen.stdout).toContain('[collectfasta] dist/client: the directory this build publishes')
    expect(siteFiles(www)).toEqual(Object.keys(client).sort())
    const named = await cli(dir, ['deploy', 'dist', '--to', pathToFileURL(join(dir, 'www2')).href])
    expect(named.stderr).toContain('`npx collectfasta deploy dist/client`')
    expect(named.stderr).not.toContain('dist/server/static')
    expect(named.code).toBe(2)
  })

  // A copy is evidence (the site model's copy rule, as the plugin asks it): it refuses the
  // directory found and is suggested, never deployed unnamed, wherever in the project it is.
  it.each([
    ['in the same build folder (Nitro: dist/analog/public)', 'dist/analog/public'],
    ['elsewhere in the project (www/, pages rewritten there)', 'www-copy'],
  ])('a client build copied %s with pages written there after it: refused (exit 2), the copy suggested; named, it deploys', async (_where, copy) => {
    const dir = bare()
    copied(dir, new Date())
    if (copy !== 'dist/analog/public') renameSync(join(dir, 'dist/analog/public'), join(dir, copy))
    const www = join(dir, 'www')
    const refused = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(refused.stderr).toBe(
      `[collectfasta] Nothing deployed, as Vite's client build (dist/client) is copied into ${copy}, where the app writes its pages after it: ` +
        `name the directory the app publishes, \`npx collectfasta deploy ${copy}\` (\`npx collectfasta deploy dist/client\` if that copy is not the site).\n`,
    )
    expect(refused.code).toBe(2)
    expect(existsSync(www)).toBe(false)
    const named = await cli(dir, ['deploy', copy, '--to', pathToFileURL(www).href])
    expect(named.code, named.stderr).toBe(0)
    expect(siteFiles(www)).toEqual(['about/index.html', 'assets/app-1a2b3c.js', 'index.html', 'robots.txt'])
  })

  it('`deploy dist` of that layout is refused, suggesting the rendered copy, not the unrendered client', async () => {
    const dir = bare()
    copied(dir, new Date())
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', pathToFileURL(www).href])
    expect(stderr).toContain('`npx collectfasta deploy dist/analog/public`')
    expect(stderr).not.toContain('deploy dist/client')
    expect(code).toBe(2)
    expect(existsSync(www)).toBe(false)
  })

  it('a copy older than the client build (left by an earlier build) is not the site: the client build is deployed', async () => {
    const dir = bare()
    copied(dir, new Date(Date.now() - 120_000))
    const www = join(dir, 'www')
    const { code, stdout } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(code).toBe(0)
    expect(stdout).toContain('[collectfasta] dist/client: the directory this build publishes')
    expect(siteFiles(www)).toEqual(Object.keys(client).sort())
  })

  it('a site whose own client/ is a section of pages (dist/index.html at its top, no server bundle): deploys dist whole', async () => {
    const dir = bare()
    writeTree(join(dir, 'dist'), { ...SITE, 'client/index.html': '<h1>for clients</h1>' })
    const www = join(dir, 'www')
    const { code, stdout, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).not.toContain('the directory this build publishes')
    expect(siteFiles(www)).toEqual([...Object.keys(SITE), 'client/index.html'].sort())
  })

  // Only a split's client half gives way to a copy, only to one in the same base folder, and only
  // to one where pages were written (a page the client build lacks, or has with other bytes).
  it.each([
    ['a plain site copied into a native shell (Capacitor)', { 'ios/App/App/public': { ...SITE, 'cordova.js': 'x' } }, 'dist', SITE],
    ['a plain site and a backup/ of it', { backup: { ...SITE, 'old.txt': 'x' } }, 'dist', SITE],
    ['a split and a copy of its client outside dist/, pages as built', { 'ios/App/App/public': { ...SITE, 'cordova.js': 'x' }, 'dist/server/entry.js': 'export {}' }, 'dist/client', SITE],
    ['a split and a plain mirror of its client in dist/', { 'dist/mirror': { ...SITE, 'extra.txt': 'x' }, 'dist/server/entry.js': 'export {}' }, 'dist/client', SITE],
  ] as [string, Record<string, unknown>, string, Record<string, string>][])('%s: the build itself is deployed, never the copy', async (_layout, others, published, files) => {
    const dir = bare()
    writeTree(join(dir, published), files)
    const built = new Date(Date.now() - 60_000)
    for (const file of Object.keys(files)) utimesSync(join(dir, published, file), built, built)
    for (const [path, content] of Object.entries(others)) {
      if (typeof content === 'string') writeTree(dir, { [path]: content })
      else writeTree(join(dir, path), content as Record<string, string>)
    }
    const www = join(dir, 'www')
    const { code, stdout, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    if (published === 'dist') expect(stdout).not.toContain('the directory this build publishes')
    else expect(stdout).toContain(`[collectfasta] ${published}: the directory this build publishes`)
    expect(siteFiles(www)).toEqual(Object.keys(files).sort())
  })

  it("the previous deploy's own file: target is not a copy to deploy instead", async () => {
    const dir = project()
    expect((await cli(dir, ['deploy', '--to', 'file:./www'])).code).toBe(0)
    const again = await cli(dir, ['deploy', '--to', 'file:./www', '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).not.toContain('the directory this build publishes')
    expect(JSON.parse(again.stdout).skipped).toHaveLength(Object.keys(SITE).length)
  })

  it('a site without a home page whose server/ section has a page and a script (a docs chapter): deployed whole', async () => {
    const dir = bare()
    const files = { '404.html': 'not found', 'guide/index.html': '<h1>guide</h1>', 'server/index.html': '<h1>server docs</h1>', 'server/setup.js': 'setup()' }
    writeTree(join(dir, 'dist'), files)
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(siteFiles(www)).toEqual(Object.keys(files).sort())
  })

  it.each(['public', 'browser', 'static'])('a server bundle beside a public half named %s (Waku: dist/public): that half is deployed', async (half) => {
    const dir = bare()
    writeTree(dir, { 'dist/server/entry.js': 'export {}', ...Object.fromEntries(Object.entries(SITE).map(([path, text]) => [`dist/${half}/${path}`, text])) })
    const www = join(dir, 'www')
    const { code, stdout, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(stderr).toBe('')
    expect(stdout).toContain(`[collectfasta] dist/${half}: the directory this build publishes`)
    expect(code).toBe(0)
    expect(siteFiles(www)).toEqual(Object.keys(SITE).sort())
  })

  it('without the default directory, names the folders holding a built site (VuePress: docs/.vuepress/dist)', async () => {
    const dir = bare()
    writeTree(dir, { 'index.html': 'the source page', 'public/index.html': 'a source page too' })
    const past = new Date(Date.now() - 60_000)
    for (const file of ['package.json', 'index.html']) if (existsSync(join(dir, file))) utimesSync(join(dir, file), past, past)
    utimesSync(join(dir, 'public/index.html'), past, past)
    writeTree(dir, { 'docs/.vuepress/dist/index.html': 'built', 'node_modules/x/dist/index.html': 'not ours' })
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(stderr).toMatch(/The directory \S*dist does not exist: build first, or name the directory to deploy\. Built sites in this project: `npx collectfasta deploy docs\/\.vuepress\/dist`\.\n$/)
    expect(code).toBe(2)
    expect(existsSync(www)).toBe(false)
  })

  it('Nuxt links dist to .output/public: one site, deployed', async () => {
    const dir = bare()
    writeTree(join(dir, '.output/public'), SITE)
    symlinkSync(join(dir, '.output/public'), join(dir, 'dist'), 'junction')
    const www = join(dir, 'www')
    const { code } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(code).toBe(0)
    expect(siteFiles(www)).toEqual(Object.keys(SITE).sort())
  })

  it.each([
    ['a server bundle alone', { 'dist/server/server.js': 'export {}' }, /dist\/server is a server bundle, never deployed to a bucket, and no public directory was found beside it: name the directory the app publishes, `npx collectfasta deploy <dir>`\./],
    // `functions` is a server half's name in the one layout table (the Build Output API's, Cloudflare's, Firebase's).
    ['a functions/ folder of modules alone', { 'dist/functions/api.js': 'export {}', 'dist/about/index.html': '<h1>about</h1>' }, /dist\/functions is a server bundle, never deployed to a bucket/],
    ['two built sites', { 'dist/client/index.html': 'a', '.output/public/index.html': 'b' }, /Several built sites here \(\.output\/public, dist\/client\): name the one to deploy/],
    ['a SvelteKit project', { 'svelte.config.js': 'export default {}', 'build/index.html': 'a' }, /This is a SvelteKit project: .*npx collectfasta deploy build/],
  ])('%s: exit 2 with the command to run, nothing deployed', async (_case, files, message) => {
    const dir = bare()
    writeTree(dir, files)
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(www).href])
    expect(stderr).toMatch(message)
    expect(code).toBe(2)
    expect(existsSync(www)).toBe(false)
  })

  it('a functions/ folder alone is refused only as a guess: `deploy dist`, named, deploys it whole (no public half, so no split)', async () => {
    const dir = bare()
    writeTree(dir, { 'dist/functions/api.js': 'export {}', 'dist/about/index.html': '<h1>about</h1>' })
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', pathToFileURL(www).href])
    expect(code, stderr).toBe(0)
    expect(siteFiles(www)).toEqual(['about/index.html', 'functions/api.js'])
  })
})

describe('collectfasta deploy <dir> of a client/server split: never the server bundle', () => {
  it.each([
    ['dist', 'dist/client', 'dist/server/server.js'],
    ['.output', '.output/public', '.output/server/index.mjs'],
  ])('%s whole is refused (exit 2) with the public half to deploy, nothing deployed', async (named, half, serverFile) => {
    const dir = bare()
    writeTree(join(dir, half), SITE)
    writeTree(dir, { [serverFile]: 'export const secret = 1' })
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', named, '--to', pathToFileURL(www).href])
    expect(stderr).toContain(`[collectfasta] ${named} holds a server bundle (${serverFile.split('/').slice(0, -1).join('/')}) beside the site it publishes`)
    expect(stderr).toContain(`\`npx collectfasta deploy ${half}\``)
    expect(code).toBe(2)
    expect(existsSync(www)).toBe(false)
  })

  it.each([
    ['.vercel/output', '.vercel/output/static', '.vercel/output/functions', { '.vercel/output/functions/index.func/index.mjs': 'export const secret = 1', '.vercel/output/config.json': '{}' }],
    ['dist', 'dist/app/browser', 'dist/app/server', { 'dist/app/server/server.mjs': 'export const secret = 1', 'dist/app/server/index.server.html': '<app-root></app-root>' }],
    ['dist/app', 'dist/app/browser', 'dist/app/server', { 'dist/app/server/server.mjs': 'export const secret = 1' }],
    ['dist', 'dist/client', 'dist/server', { 'dist/server/entry.js': 'export const secret = 1', 'dist/server/index.html': '<!--app-html-->' }],
  ])('%s holding %s beside a server bundle by another name or with a template (%s): refused, nothing deployed', async (named, half, server, serverFiles) => {
    const dir = bare()
    writeTree(join(dir, half), SITE)
    writeTree(dir, serverFiles)
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', named, '--to', pathToFileURL(www).href])
    expect(stderr).toContain(`[collectfasta] ${named} holds a server bundle (${server}) beside the site it publishes`)
    expect(stderr).toContain(`\`npx collectfasta deploy ${half}\``)
    expect(code).toBe(2)
    expect(existsSync(www)).toBe(false)
  })

  it.each([
    ['my build', "'my build/client'"],
    ["it's built", "'it'\\''s built/client'"],
  ])('a path with a space or a quote (%s) is quoted in the suggested command', async (base, suggested) => {
    const dir = bare()
    writeTree(join(dir, base, 'client'), SITE)
    writeTree(join(dir, base), { 'server/index.js': 'export const secret = 1' })
    const { code, stderr } = await cli(dir, ['deploy', base, '--to', pathToFileURL(join(dir, 'www')).href])
    expect(stderr).toContain(`\`npx collectfasta deploy ${suggested}\``)
    expect(code).toBe(2)
  })

  it('a site with its own client/ and server/ pages (a docs chapter each) is deployed whole', async () => {
    const dir = bare()
    writeTree(join(dir, 'dist'), { ...SITE, 'client/index.html': '<h1>client</h1>', 'server/index.html': '<h1>server</h1>', 'server/example.js': 'x' })
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', pathToFileURL(www).href])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(siteFiles(www)).toContain('server/example.js')
  })

  // A site (index.html at its top) is never a client/server split, whatever its folders are called.
  it.each([
    ["a tutorial's functions/ chapter and static/ logo", { 'functions/index.html': '<h1>functions</h1>', 'functions/closure.js': 'x', 'functions/arrow.js': 'x', 'static/logo.svg': '<svg/>' }],
    ['docs with client/ and server/ sections holding demo scripts', { 'client/index.html': '<h1>client</h1>', 'server/index.html': '<h1>server</h1>', 'server/express-demo.js': 'x', 'server/koa-demo.js': 'x' }],
    ['docs with public/ and server/ sections', { 'public/index.html': '<h1>public</h1>', 'server/index.html': '<h1>server</h1>', 'server/demo1.js': 'x', 'server/demo2.mjs': 'x' }],
    ['examples/browser and examples/server', { 'examples/browser/index.html': '<h1>demo</h1>', 'examples/browser/app.js': 'x', 'examples/server/server.js': 'x', 'examples/server/readme.txt': 'x' }],
  ])('a site whose own sections look like halves (%s) is deployed whole, named or not', async (_site, sections) => {
    const files = { ...SITE, ...sections }
    for (const args of [['deploy', 'dist'], ['deploy']]) {
      const dir = bare()
      writeTree(join(dir, 'dist'), files)
      const www = join(dir, 'www')
      const { code, stdout, stderr } = await cli(dir, [...args, '--to', pathToFileURL(www).href])
      expect(stderr, args.join(' ')).toBe('')
      expect(code).toBe(0)
      expect(stdout).not.toContain('the directory this build publishes')
      expect(siteFiles(www)).toEqual(Object.keys(files).sort())
    }
  })

  it('a split whose public half has no page is refused without suggesting that half', async () => {
    const dir = bare()
    writeTree(join(dir, 'dist'), { 'static/logo.svg': '<svg/>', 'functions/render.js': 'export const secret = 1' })
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', pathToFileURL(www).href])
    expect(stderr).toContain('[collectfasta] dist holds a server bundle (dist/functions)')
    expect(stderr).toContain('`npx collectfasta deploy <dir>`')
    expect(stderr).not.toContain('dist/static')
    expect(code).toBe(2)
    expect(existsSync(www)).toBe(false)
  })

  it.each([
    ["exclude: 'server/**'", 'export default { exclude: "server/**" }'],
    ["include: ['client/**']", "export default { include: ['client/**'] }"],
  ])('a filter in collectfasta.config that leaves the server out (%s) is deployed as chosen', async (_filter, config) => {
    const dir = bare()
    writeTree(join(dir, 'dist/client'), SITE)
    writeTree(dir, { 'dist/server/server.js': 'export const secret = 1' })
    writeFileSync(join(dir, 'collectfasta.config.mjs'), `${config}\n`)
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', pathToFileURL(www).href])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(siteFiles(www)).toEqual(Object.keys(SITE).map((path) => `client/${path}`).sort())
  })

  it.each([
    ["exclude: '**/*.map'", "{ exclude: ['**/*.map'] }"],
    ["include: '**/*.js'", "{ include: '**/*.js' }"],
    ["exclude: 'server/*.map'", "{ exclude: 'server/*.map' }"],
  ])('a filter that still uploads a server file (%s) keeps the refusal', async (_filter, config) => {
    const dir = bare()
    writeTree(join(dir, 'dist/client'), SITE)
    writeTree(dir, { 'dist/server/entry.js': 'export const secret = 1', 'dist/server/entry.js.map': '{}' })
    writeFileSync(join(dir, 'collectfasta.config.mjs'), `export default ${config}\n`)
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', pathToFileURL(www).href])
    expect(stderr).toContain('[collectfasta] dist holds a server bundle (dist/server)')
    expect(code).toBe(2)
    expect(existsSync(www)).toBe(false)
  })

})

describe("collectfasta deploy: Cloudflare Pages' _worker.js is server code", () => {
  it.each([
    ['a folder', { '_worker.js/index.js': 'export default {}', '_worker.js/chunk-a.mjs': 'export const secret = 1' }],
    ['a file', { '_worker.js': 'export default { fetch() {} }' }],
  ])('_worker.js as %s: refused (exit 2) with the way out, named or not, nothing deployed', async (_kind, worker) => {
    for (const args of [['deploy', 'dist'], ['deploy']]) {
      const dir = bare()
      writeTree(join(dir, 'dist'), { ...SITE, '_routes.json': '{}', ...worker })
      const www = join(dir, 'www')
      const { code, stderr } = await cli(dir, [...args, '--to', pathToFileURL(www).href])
      expect(stderr, args.join(' ')).toContain("[collectfasta] dist/_worker.js is server code (Cloudflare Pages' advanced mode)")
      expect(stderr).toContain("exclude: ['_worker.js', '_worker.js/**']")
      expect(code).toBe(2)
      expect(existsSync(www)).toBe(false)
    }
  })

  it.each([
    ["exclude: ['_worker.js', '_worker.js/**']", "{ exclude: ['_worker.js', '_worker.js/**'] }", true],
    ["exclude: ['**/*.map']", "{ exclude: ['**/*.map'] }", false],
  ])('with %s in collectfasta.config: deployed only when it leaves the worker out', async (_filter, config, deploys) => {
    const dir = bare()
    writeTree(join(dir, 'dist'), { ...SITE, '_worker.js/index.js': 'export default {}' })
    writeFileSync(join(dir, 'collectfasta.config.mjs'), `export default ${config}\n`)
    const www = join(dir, 'www')
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', pathToFileURL(www).href])
    if (deploys) {
      expect(stderr).toBe('')
      expect(code).toBe(0)
      expect(siteFiles(www)).toEqual(Object.keys(SITE).sort())
    } else {
      expect(stderr).toContain('dist/_worker.js is server code')
      expect(code).toBe(2)
      expect(existsSync(www)).toBe(false)
    }
  })
})

describe("collectfasta deploy: the hashed folder from the build's Vite manifest", () => {
  const manifest = (files: string[]) => JSON.stringify(Object.fromEntries(files.map((file, i) => [`src/entry-${i}.js`, { file, css: [], isEntry: true }])))

  it('a framework that sets assetsDir in its plugin (_build/assets): those files are cached for good, and it says so', async () => {
    const dir = bare()
    const hashed = ['_build/assets/app-B1a2b3c4.js', '_build/assets/app-4d5_e6fG.css'] // Vite's default: [name]-[hash], 8 base64url characters
    writeTree(join(dir, 'dist'), { 'index.html': '<h1>home</h1>', 'robots.txt': 'ok', '.vite/manifest.json': manifest(hashed), ...Object.fromEntries(hashed.map((f) => [f, f])) })
    const { code, stdout, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(join(dir, 'www')).href, '--json'])
    expect(code, stderr).toBe(0)
    expect(stderr).toContain("[collectfasta] _build/assets/: the build's hashed files (its .vite/manifest.json), cached for good.")
    const report = JSON.parse(stdout) as { uploaded: { key: string; immutable?: true }[] }
    expect(report.uploaded.filter((u) => u.immutable).map((u) => u.key).sort()).toEqual(hashed.sort())
  })

  it('files without a hash in their names (output.entryFileNames: static/[name].js): never cached for good', async () => {
    const dir = bare()
    const plain = ['static/main.js', 'static/index-frontend.css']
    writeTree(join(dir, 'dist'), { 'index.html': '<h1>home</h1>', '.vite/manifest.json': manifest(plain), ...Object.fromEntries(plain.map((f) => [f, f])) })
    const { code, stdout, stderr } = await cli(dir, ['deploy', '--to', pathToFileURL(join(dir, 'www')).href, '--json'])
    expect(code, stderr).toBe(0)
    expect(stderr).not.toContain('hashed files')
    const report = JSON.parse(stdout) as { uploaded: { key: string; immutable?: true }[] }
    expect(report.uploaded.map((u) => u.key)).toEqual(expect.arrayContaining(['index.html', ...plain]))
    expect(report.uploaded.filter((u) => u.immutable)).toEqual([])
  })

  it('files in several folders, or a config that names assetsDir: the usual rule (assets/, or the one named)', async () => {
    const dir = bare()
    writeTree(join(dir, 'dist'), { 'index.html': 'a', 'assets/a-1a2b3c.js': 'a', 'js/b-4d5e6f.js': 'b', '.vite/manifest.json': manifest(['assets/a-1a2b3c.js', 'js/b-4d5e6f.js']) })
    const mixed = await cli(dir, ['deploy', '--to', pathToFileURL(join(dir, 'www')).href, '--json'])
    expect(mixed.code, mixed.stderr).toBe(0)
    expect((JSON.parse(mixed.stdout) as { uploaded: { key: string; immutable?: true }[] }).uploaded.filter((u) => u.immutable).map((u) => u.key)).toEqual(['assets/a-1a2b3c.js'])
    writeFileSync(join(dir, 'collectfasta.config.mjs'), "export default { assetsDir: 'js' }\n")
    const named = await cli(dir, ['deploy', '--to', pathToFileURL(join(dir, 'www2')).href, '--json'])
    expect(named.code, named.stderr).toBe(0)
    expect(named.stderr).not.toContain('hashed files')
    expect((JSON.parse(named.stdout) as { uploaded: { key: string; immutable?: true }[] }).uploaded.filter((u) => u.immutable).map((u) => u.key)).toEqual(['js/b-4d5e6f.js'])
  })
})

describe('--to file: targets', () => {
  it.each([['file:./out'], ['file:out']])('%s is relative to the current folder, never the filesystem root', async (to) => {
    const dir = project()
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', to])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(siteFiles(join(dir, 'out'))).toEqual(Object.keys(SITE).sort())
  })

  it.each([
    ['file:', /^\[collectfasta\] --to "file:" names no directory: use file:\/\/\/absolute\/path, or file:\.\/www for a path relative to this folder\.$/m],
    ['file:~/x', /^\[collectfasta\] --to "file:~\/x" starts with ~, which the shell does not expand inside a URL: use file:\/\/\/home\/you\/x, or file:\.\/x for a path relative to this folder\.$/m],
    ['file:///~/x', /--to "file:\/\/\/~\/x" starts with ~, which the shell does not expand inside a URL/],
  ])('%s is a usage error (exit 2) with a sentence, nothing written', async (to, message) => {
    const dir = project()
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', to])
    expect(stderr).toMatch(message)
    expect(stderr).not.toMatch(/\[fs\]/)
    expect(code).toBe(2)
    expect(existsSync(join(dir, '~'))).toBe(false)
  })

  it('file://out (a host, not a folder) is refused with a sentence', async () => {
    const dir = project()
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', 'file://out'])
    expect(stderr).toMatch(/--to "file:\/\/out" names the host `out`, not a directory: use file:\/\/\/absolute\/path, or file:\.\/out/)
    expect(stderr).not.toMatch(/ERR_INVALID_FILE_URL_HOST|File URL host/)
    expect(code).toBe(2)
    expect(existsSync(join(dir, 'out'))).toBe(false)
  })
})


// Node 22.1+ keeps compiled code on disk; Node picks the shared temporary folder by default, where
// another user of the machine could plant code for the CLI to run.
describe.runIf(existsSync(NODE_24))('the compile cache (Node 24; skipped where test/servers/install.mjs installs no Node 24 binary)', () => {
  it("lives in node_modules/.cache, never in the shared temporary folder", async () => {
    const shared = mkdtempSync(join(tmpdir(), 'collectfasta-tmp-'))
    temp.push(shared)
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: shared, TMP: shared, TEMP: shared }
    delete env.NODE_COMPILE_CACHE
    const code = await new Promise<number>((resolve) => execFile(NODE_24, [CLI, '--version'], { env }, (error) => resolve(error ? 1 : 0)))
    expect(code).toBe(0)
    expect(readdirSync(shared)).toEqual([])
    expect(existsSync(join(ROOT, 'node_modules/.cache/vite-plugin-collectfasta/compile'))).toBe(true)
  })
})

describe('--to file: a directory that overlaps the one deployed', () => {
  it.each([
    ['file:./dist', 'dist', 'is'],
    ['file:./dist/www', 'dist/www', 'is inside'],
    ['file:.', '', 'contains'],
  ])('%s is refused before any write (exit 1), with one sentence', async (to, target, relation) => {
    const dir = project()
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', to])
    expect(stderr.trim()).toBe(
      `[collectfasta] Refusing to deploy ${join(dir, 'dist')} into ${join(dir, target).replace(/\/$/, '')}: the target ${relation} the directory being deployed, ` +
        'so the deploy would write into (and prune) the files it reads; choose a target directory outside it, and not above it.',
    )
    expect(code).toBe(1)
    expect(siteFiles(join(dir, 'dist'))).toEqual(Object.keys(SITE).sort())
    expect(readdirSync(join(dir, 'dist')).sort()).toEqual(['about', 'assets', 'index.html', 'robots.txt'])
    expect(readdirSync(dir).sort()).toEqual(['dist', 'node_modules'])
  })
})

describe('--to with whitespace around it', () => {
  it.each([[' file:./%s'], ['file:./%s '], ['\tfile:%s']])('%j is a usage error (exit 2) with a sentence; nothing is written, at the root or here', async (form) => {
    const dir = project()
    const name = `collectfasta-space-${Math.random().toString(36).slice(2)}`
    const to = form.replace('%s', name)
    const atRoot = join('/', name)
    temp.push(atRoot) // removed afterwards if a regression wrote it
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', to])
    expect(stderr.trim()).toBe(`[collectfasta] --to ${JSON.stringify(to)} has whitespace around it (a quoting slip?): remove it, e.g. --to ${JSON.stringify(to.trim())}.`)
    expect(code).toBe(2)
    expect(existsSync(atRoot)).toBe(false)
    expect(readdirSync(dir).sort()).toEqual(['dist', 'node_modules'])
  })
})

describe('--to file: a regular file', () => {
  it('is one [fs] sentence (exit 1: the command is well formed, the disk holds a file there), the file untouched', async () => {
    const dir = project()
    writeFileSync(join(dir, 'afile'), 'not a folder')
    const { code, stderr } = await cli(dir, ['deploy', 'dist', '--to', 'file:./afile'])
    expect(stderr.trim()).toBe(`[collectfasta] [fs] The target ${join(dir, 'afile')} is a file, not a directory: choose a directory to deploy into, or move the file away.`)
    expect(stderr).not.toMatch(/ENOTDIR/)
    expect(code).toBe(1)
    expect(readFileSync(join(dir, 'afile'), 'utf8')).toBe('not a folder')
  })
})
