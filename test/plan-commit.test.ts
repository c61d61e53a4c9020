import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import type { DeployReport, Strategy } from '../src/index.js'
import { type Backend, backends, project } from './backends.js'
import { writeTree } from './helpers.js'

// Issue #26: each case was reproduced on the code before the plan-and-commit change (against
// s3rver, checked with `rclone check`), and ends here with a storage that is what was built.

const CHILD = fileURLToPath(new URL('./fixtures/deploy-child.mjs', import.meta.url))

/** Replaces the project's dist/ with `files`. */
function build(root: string, files: Record<string, string>): void {
  rmSync(join(root, 'dist'), { recursive: true, force: true })
  writeTree(join(root, 'dist'), files)
}

/** A site of `n` files: pages, hashed assets and an index, with a tag in every body. */
function site(n: number, tag: string): Record<string, string> {
  const files: Record<string, string> = { 'index.html': `<h1>${tag}</h1><script src="/assets/app-${tag}.js"></script>`, [`assets/app-${tag}.js`]: `app('${tag}')` }
  for (let i = 0; Object.keys(files).length < n; i++) files[`pages/p-${i}.html`] = `<p>${i} ${tag}</p>`
  return files
}

/** Every stored object's bytes as text, by path under the prefix (the manifest left out). */
async function contents(backend: Backend, p: ReturnType<typeof project>): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const path of await p.stored()) {
    const read = await backend.read(p.prefix + path)
    if (read) out[path] = Buffer.from(read.bytes).toString('utf8')
  }
  return out
}

/** The deploy manifest as stored. */
async function manifestOf(backend: Backend, p: ReturnType<typeof project>) {
  const read = await backend.read(p.manifest)
  return read && (JSON.parse(Buffer.from(read.bytes).toString('utf8')) as { deploys: { paths: string[]; shrunk?: boolean; site?: string }[]; pending?: object })
}

/** Runs test/fixtures/deploy-child.mjs and kills it (SIGKILL) after `after` confirmed uploads. */
async function killedDeploy(backend: Backend, p: ReturnType<typeof project>, cacheDir: string, after: number): Promise<string[]> {
  const target = backend.child?.()
  if (!target) throw new Error('no child target')
  const job = { target, prefix: p.prefix, root: p.root, outDir: join(p.root, 'dist'), cacheDir: join(p.root, cacheDir), delayMs: 20 }
  const child: ChildProcess = spawn(process.execPath, [CHILD, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const uploaded: string[] = []
  const exited = new Promise((resolve) => child.once('exit', resolve))
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line === 'done') throw new Error('the child finished before it was killed')
    uploaded.push(line.replace(/^uploaded /, ''))
    if (uploaded.filter((key) => key !== p.manifest).length >= after) {
      child.kill('SIGKILL')
      break
    }
  }
  await exited
  if (uploaded.length === 0) throw new Error(`the child uploaded nothing:\n${stderr}`)
  return uploaded
}

describe.each(backends)('a deploy is a plan, then a commit, on $name', (backend) => {
  it('#26.1 a broken build deployed again and again never prunes the live site (keepDeploys 1, 2 and the default)', async () => {
    for (const prune of [{ keepDeploys: 1 }, { keepDeploys: 2 }, true] as const) {
      const p = project(backend)
      for (let i = 0; i < 3; i++) {
        build(p.root, { ...site(150, 'good'), 'stamp.txt': `good build ${i}` })
        await p.run({ prune })
      }
      const live = await p.stored()
      expect(live).toHaveLength(151)
      const refusals: (string | undefined)[] = []
      for (let i = 0; i < 4; i++) {
        // A failed step that exited 0: 21 files of other names, one of them new every build.
        const broken: Record<string, string> = { 'stamp.txt': `broken build ${i}` }
        for (let j = 0; j < 20; j++) broken[`oops/${j}.txt`] = `partial ${j}`
        build(p.root, broken)
        const report = await p.run({ prune })
        expect(report.deleted).toEqual([])
        refusals.push(report.pruneRefused)
        expect(await p.stored()).toEqual(expect.arrayContaining(live))
      }
      // Refused each time the broken build had something stale to delete; never a reference.
      expect(refusals.filter((r) => r?.includes('the largest full deploy kept'))).not.toHaveLength(0)
      expect((await manifestOf(backend, p))?.deploys.filter((d) => d.shrunk)).toHaveLength(4)
    }
  })

  it('#26.1 once the user lets a shrink through (minShare: 0), the guard compares with it from then on', async () => {
    const p = project(backend)
    build(p.root, site(40, 'big'))
    await p.run({ prune: { keepDeploys: 1 } })
    build(p.root, site(10, 'small'))
    expect((await p.run({ prune: { keepDeploys: 1 } })).pruneRefused).toMatch(/fewer than 50% of the 40 of the largest full deploy kept/)
    const allowed = await p.run({ prune: { keepDeploys: 1, minShare: 0 }, force: true })
    expect(allowed.pruneRefused).toBeUndefined()
    expect(allowed.deleted.length).toBe(31) // the big site's pages and its app
    build(p.root, site(10, 'small-2'))
    const next = await p.run({ prune: { keepDeploys: 1 } })
    expect(next.pruneRefused).toBeUndefined()
    expect(await p.stored()).toHaveLength(10)
  })

  it.runIf(backend.child)('#26.2 a deploy killed mid-way, then a rollback from the same cache: every object is the rollback’s again', async () => {
    const p = project(backend)
    build(p.root, site(120, 'v1'))
    await p.run({ cacheDir: 'shared' })
    expect((await p.run({ cacheDir: 'shared' })).requests).toMatchObject({ upload: 0 })
    build(p.root, site(120, 'v2'))
    const written = await killedDeploy(backend, p, 'shared', 30)
    expect(written.length).toBeGreaterThanOrEqual(30)
    build(p.root, site(120, 'v1'))
    const rollback = await p.run({ cacheDir: 'shared' })
    // A killed deploy cannot be told from a slow one still writing (#31): the repair does not
    // vouch, and the next deploy lists once more, uploads nothing and vouches.
    expect(rollback.vouched).toBe(false)
    const after = await p.run({ cacheDir: 'shared' })
    expect(after.requests).toMatchObject({ upload: 0 })
    expect(after.vouched).toBe(true)
    const stored = await contents(backend, p)
    // v2's app stays (a new name, never pruned here); every other object is v1's again.
    const v2 = Object.entries(stored).filter(([path, body]) => body.includes('v2') && path !== 'assets/app-v2.js')
    expect(v2).toEqual([])
    // v1, and v2's app that was uploaded before the kill (a killed write's temporary file aside: #27 cleans those).
    expect(Object.keys(stored).filter((path) => !path.includes('.collectfasta-tmp-'))).toHaveLength(120 + 1)
    // And the next warm deploy asks one question again.
    expect((await p.run({ cacheDir: 'shared' })).requests).toMatchObject({ stat: 1, list: 0, upload: 0, get: 0 })
  })

  it.runIf(backend.child)('#26.3 another runner killed mid-way: the warm runner’s next deploy repairs what it left', async () => {
    const p = project(backend)
    build(p.root, site(120, 'v1'))
    await p.run({ cacheDir: 'runner-a' })
    build(p.root, site(120, 'v2'))
    await killedDeploy(backend, p, 'runner-b', 25)
    build(p.root, site(120, 'v1'))
    const again = await p.run({ cacheDir: 'runner-a' })
    expect(again.uploaded.length).toBeGreaterThanOrEqual(20)
    expect(Object.values(await contents(backend, p)).filter((body) => body.includes('v2') && !body.startsWith('app('))).toEqual([])
  })

  it('#26.3 another runner cancelled mid-way (its signal): the warm runner’s next deploy repairs what it left', async () => {
    const p = project(backend)
    build(p.root, site(80, 'v1'))
    await p.run({ cacheDir: 'runner-a' })
    build(p.root, site(80, 'v2'))
    const controller = new AbortController()
    let uploads = 0
    const strategy = backend.strategy(p.prefix)
    const counting: Strategy = {
      ...strategy,
      upload: async (file, ctx) => {
        const stored = await strategy.upload(file, ctx)
        if (++uploads === 20) controller.abort(new Error('cancelled by the test'))
        return stored
      },
    }
    await expect(p.run({ cacheDir: 'runner-b', strategy: counting, signal: controller.signal, concurrency: 2 })).rejects.toThrow(/Deploy cancelled/)
    expect(uploads).toBeGreaterThanOrEqual(20)
    const manifest = await manifestOf(backend, p)
    expect(manifest?.pending).toBeDefined() // the storage says a deploy did not finish
    build(p.root, site(80, 'v1'))
    const again = await p.run({ cacheDir: 'runner-a' })
    expect(again.uploaded.length).toBeGreaterThan(0)
    const stored = await contents(backend, p)
    expect(Object.entries(stored).filter(([path, body]) => body.includes('v2') && !path.includes('app-v2'))).toEqual([])
    expect((await manifestOf(backend, p))?.pending).toBeUndefined()
  })

  it('#26.4 a partial deploy vouches only for what it looked at: the next full deploy repairs the rest', async () => {
    const p = project(backend)
    build(p.root, { ...site(10, 'v1'), 'robots.txt': 'runner A' })
    await p.run({ cacheDir: 'runner-a' })
    build(p.root, { ...site(10, 'v1'), 'robots.txt': 'runner B' })
    await p.run({ cacheDir: 'runner-b' })
    build(p.root, { ...site(10, 'v1'), 'robots.txt': 'runner A' })
    writeFileSync(join(p.root, 'dist/index.html'), '<h1>hotfix</h1>')
    const partial = await p.run({ cacheDir: 'runner-a', include: 'index.html' })
    expect(partial.uploaded.map((u) => u.key)).toEqual([`${p.prefix}index.html`])
    expect(partial.vouched).toBe(false)
    const full = await p.run({ cacheDir: 'runner-a' })
    expect(full.plan).toContainEqual({ key: `${p.prefix}robots.txt`, action: 'upload', reason: 'changed' })
    expect((await contents(backend, p))['robots.txt']).toBe('runner A')
  })

  it('#26.5 objects deleted or changed behind the deploy’s back: verify lists and restores them', async () => {
    const p = project(backend)
    build(p.root, site(12, 'v1'))
    await p.run()
    await backend.remove(`${p.prefix}pages/p-3.html`)
    await backend.put(`${p.prefix}pages/p-4.html`, 'defaced')
    // A warm deploy cannot see it (one question, the manifest did not change): documented.
    expect((await p.run()).uploaded).toEqual([])
    const verified = await p.run({ verify: true })
    expect(verified.plan).toEqual(
      expect.arrayContaining([
        { key: `${p.prefix}pages/p-3.html`, action: 'upload', reason: 'missing' },
        { key: `${p.prefix}pages/p-4.html`, action: 'upload', reason: 'changed' },
      ]),
    )
    expect(verified.requests.list).toBeGreaterThan(0)
    const stored = await contents(backend, p)
    expect(stored['pages/p-3.html']).toBe('<p>3 v1</p>')
    expect(stored['pages/p-4.html']).toBe('<p>4 v1</p>')
  })

  it.runIf(backend.conditional)('#26.6 a deploy that runs while another commits: both are in the history, prune spares the other’s files, and it does not vouch', async () => {
    const p = project(backend)
    build(p.root, site(10, 'v1'))
    await p.run({ cacheDir: 'runner-a', prune: { keepDeploys: 1, unknown: true } })
    build(p.root, site(10, 'v2'))
    const strategy = backend.strategy(p.prefix)
    // Runner B: another checkout (its own root and cache), the same target.
    const b = project(backend)
    build(b.root, site(10, 'v3'))
    let other: DeployReport | undefined
    const interleaving: Strategy = {
      ...strategy,
      upload: async (file, ctx) => {
        // B deploys v3 to the end while A is between its mark and its commit.
        if (!other && !file.key.endsWith('manifest.json')) other = await b.run({ strategy: backend.strategy(p.prefix) })
        return strategy.upload(file, ctx)
      },
    }
    const a = await p.run({ cacheDir: 'runner-a', strategy: interleaving, prune: { keepDeploys: 1, unknown: true } })
    expect(other?.uploaded.length).toBeGreaterThan(0)
    expect(a.vouched).toBe(false)
    // Its lease (#31) read B's deploy and spared every path of it: only v1's own chunk, which no
    // kept deploy uses, is deleted.
    expect(a.deleted).toEqual([`${p.prefix}assets/app-v1.js`])
    expect(a.pruneRefused).toBeUndefined()
    expect(p.warnings.join('\n')).toMatch(/Another deploy ran at the same time/)
    expect(await p.stored()).toEqual(expect.arrayContaining(['assets/app-v2.js', 'assets/app-v3.js']))
    const history = (await manifestOf(backend, p))?.deploys ?? []
    // keepDeploys 1, and B ran at the same time: both stay in the history.
    expect(history.length).toBeGreaterThanOrEqual(2)
    expect(history.some((d) => d.paths.includes('assets/app-v3.js'))).toBe(true)
    expect(history.some((d) => d.paths.includes('assets/app-v2.js'))).toBe(true)
    // A's next deploy cannot trust its cache: it checks the storage.
    expect((await p.run({ cacheDir: 'runner-a' })).requests.list).toBeGreaterThan(0)
  })

  it('#26.6 prune never deletes an object written after this deploy began (by hand, mid-deploy)', async () => {
    const p = project(backend)
    build(p.root, { ...site(10, 'v1'), 'extra.txt': 'v1 extra' })
    await p.run({ prune: { keepDeploys: 1, unknown: true } })
    build(p.root, site(10, 'v2'))
    const strategy = backend.strategy(p.prefix)
    let written = false
    const meddling: Strategy = {
      ...strategy,
      upload: async (file, ctx) => {
        // Between this deploy's mark and its prune: someone writes a stale key and a new one by hand.
        if (!written && !file.key.endsWith('manifest.json')) {
          written = true
          await new Promise((resolve) => setTimeout(resolve, 5))
          await backend.put(`${p.prefix}extra.txt`, 'written by hand')
          await backend.put(`${p.prefix}uploads/user.txt`, 'a user upload')
        }
        return strategy.upload(file, ctx)
      },
    }
    const report = await p.run({ strategy: meddling, prune: { keepDeploys: 1, unknown: true } })
    expect(written).toBe(true)
    expect(report.deleted.length).toBeGreaterThan(0) // v1's app
    expect(report.deleted).not.toContain(`${p.prefix}extra.txt`)
    expect(report.deleted).not.toContain(`${p.prefix}uploads/user.txt`)
    const stored = await contents(backend, p)
    expect(stored['extra.txt']).toBe('written by hand')
    expect(stored['uploads/user.txt']).toBe('a user upload')
  })

  it('#26.7 a corrupt manifest: the deploy lists, prune refuses in one sentence, nothing is deleted', async () => {
    const p = project(backend)
    build(p.root, site(10, 'v1'))
    await p.run({ prune: { keepDeploys: 1, unknown: true } })
    await backend.put(p.manifest, '{ not json')
    build(p.root, site(10, 'v2'))
    const report = await p.run({ prune: { keepDeploys: 1, unknown: true } })
    expect(report.deleted).toEqual([])
    expect(report.pruneRefused).toMatch(/^the deploy manifest .* exists but cannot be read .*nothing was deleted\. Delete that object once/)
    expect(await p.stored()).toContain('assets/app-v1.js')
  })

  it('#26.7 a manifest of a later format is never overwritten, and nothing is deleted', async () => {
    const p = project(backend)
    build(p.root, site(10, 'v1'))
    await p.run({ prune: { keepDeploys: 1, unknown: true } })
    const later = JSON.stringify({ format: 2, tool: 'vite-plugin-collectfasta', deploys: [], files: {}, future: true })
    await backend.put(p.manifest, later)
    build(p.root, site(10, 'v2'))
    await expect(p.run({ prune: { keepDeploys: 1, unknown: true } })).rejects.toThrow(/written by a later version of vite-plugin-collectfasta; this version will not overwrite it\. Upgrade/)
    expect(Buffer.from((await backend.read(p.manifest))?.bytes ?? []).toString('utf8')).toBe(later)
    expect(await p.stored()).toContain('assets/app-v1.js')
  })

  it('#26.8 a site deployed under this one’s prefix keeps its files, whatever this one prunes', async () => {
    const root = project(backend)
    build(root.root, { ...site(10, 'r1'), 'blog/old.html': 'an old root page' })
    await root.run({ prune: { keepDeploys: 1 } })
    // The blog is its own site, deployed under `blog/` with its own manifest.
    const blog = project(backend)
    const blogRun = (files: Record<string, string>) => {
      build(blog.root, files)
      return blog.run({ strategy: backend.strategy(`${root.prefix}blog/`), site: 'blog' })
    }
    await blogRun({ 'old.html': 'the blog', 'index.html': '<h1>blog</h1>' })
    for (const v of ['r2', 'r3']) {
      build(root.root, site(10, v))
      const report = await root.run({ prune: { keepDeploys: 1 } })
      expect(report.deleted.filter((key) => key.includes('/blog/'))).toEqual([])
    }
    build(root.root, site(10, 'r4'))
    const unknown = await root.run({ prune: { keepDeploys: 1, unknown: true } })
    expect(unknown.deleted.length).toBeGreaterThan(0)
    expect(unknown.deleted.filter((key) => key.includes('/blog/'))).toEqual([])
    const stored = await contents(backend, root)
    expect(stored['blog/old.html']).toBe('the blog')
    expect(stored['blog/index.html']).toBe('<h1>blog</h1>')
  })
})

describe('prune on a storage where two spellings name one file', () => {
  it('never deletes a stale key that is a live file under another case or normalisation', async () => {
    const p = project(backends[0] as Backend)
    const insensitive = (): Strategy => Object.assign(backends[0]!.strategy(p.prefix), { caseInsensitive: true })
    build(p.root, { 'index.html': 'v1', 'About.html': 'about v1', 'Cafe\u0301.html': 'café v1', 'old.html': 'old' })
    await p.run({ strategy: insensitive(), prune: { keepDeploys: 1 } })
    build(p.root, { 'index.html': 'v2', 'about.html': 'about v2', 'caf\u00e9.html': 'café v2' })
    const report = await p.run({ strategy: insensitive(), prune: { keepDeploys: 1 } })
    expect(report.deleted).toEqual([`${p.prefix}old.html`])
    // The same on an exact storage deletes the old spellings.
    build(p.root, { 'index.html': 'v3', 'ABOUT.html': 'about v3' })
    const exact = await p.run({ prune: { keepDeploys: 1, maxDeletes: 10 } })
    expect(exact.deleted.sort()).toEqual([`${p.prefix}about.html`, `${p.prefix}caf\u00e9.html`])
  })
})

describe('the marker costs', () => {
  it('a warm no-change deploy still makes one request; one that uploads writes the manifest twice (mark, commit)', async () => {
    const p = project(backends[0] as Backend)
    build(p.root, site(20, 'v1'))
    await p.run()
    expect((await p.run()).requests).toEqual({ list: 0, stat: 1, get: 0, upload: 0, delete: 0, copy: 0 })
    writeFileSync(join(p.root, 'dist/pages/p-1.html'), 'changed')
    const one = await p.run()
    // The mark, the release record, the page, the commit; the page's live content copied under
    // .collectfasta/kept/ before it is replaced, for rollback.
    expect(one.requests).toEqual({ list: 0, stat: 1, get: 1, upload: 4, delete: 0, copy: 1 })
  })
})

describe('failures after the uploads are loud, and never hide the deploy', () => {
  it('a prune whose deletes fail part-way: what was deleted is reported, a warning, the summary, onDeployed, then exit 1', async () => {
    const p = project(backends[0] as Backend)
    build(p.root, site(10, 'v1'))
    await p.run({ prune: { keepDeploys: 1 } })
    // v2 moves its pages: v1's eight pages and its app are stale.
    build(p.root, Object.fromEntries(Object.entries(site(10, 'v2')).map(([path, body]) => [path.replace('pages/', 'moved/'), body])))
    const strategy = backends[0]!.strategy(p.prefix)
    const failing: Strategy = {
      ...strategy,
      delete: async (keys) => {
        await strategy.delete?.(keys.slice(0, 1), { signal: new AbortController().signal, count() {} })
        throw Object.assign(new Error('simulated 500 on the second batch'), { deleted: keys.slice(0, 1) })
      },
    }
    const seen: DeployReport[] = []
    const error = await p.run({ strategy: failing, prune: { keepDeploys: 1 }, onDeployed: (r) => void seen.push(r) }).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/^\[collectfasta\] The site is deployed, but prune failed: deleting 8 stale object\(s\) failed: simulated 500/)
    const report = (error as { report: DeployReport }).report
    expect(report.deleted).toHaveLength(1)
    expect(report.pruneFailed).toMatch(/simulated 500/)
    expect(seen).toHaveLength(1) // the CDN hook ran: the site did change
    expect(p.warnings.join('\n')).toMatch(/Prune failed: .*1 object\(s\) were deleted/)
    expect(p.infos.join('\n')).toMatch(/, 1 deleted, prune failed, /)
    // On GitHub Actions, an error annotation.
    const summary = join(p.root, 'summary.md')
    const gh = { GITHUB_ACTIONS: process.env.GITHUB_ACTIONS, GITHUB_STEP_SUMMARY: process.env.GITHUB_STEP_SUMMARY }
    Object.assign(process.env, { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary })
    try {
      build(p.root, site(10, 'v3'))
      await p.run({ strategy: failing, prune: { keepDeploys: 1 } }).catch(() => {})
    } finally {
      for (const [name, value] of Object.entries(gh)) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    }
    expect(p.infos.some((line) => line.startsWith('::error title=collectfasta prune failed::deleting'))).toBe(true)
  })

  it('a report file that cannot be written is a warning: the deploy succeeds and onDeployed runs; a failing deploy keeps its own error', async () => {
    const p = project(backends[0] as Backend)
    build(p.root, site(5, 'v1'))
    writeFileSync(join(p.root, 'not-a-dir'), 'a file')
    let called = 0
    const report = await p.run({ reportFile: 'not-a-dir/report.json', onDeployed: () => void called++ })
    expect(report.uploaded.length).toBe(5)
    expect(called).toBe(1)
    expect(p.warnings.join('\n')).toMatch(/Could not write the report file .*not-a-dir\/report\.json/)
    const failing: Strategy = { ...backends[0]!.strategy(p.prefix), stat: async () => Promise.reject(new Error('the storage said no')) }
    await expect(p.run({ strategy: failing, reportFile: 'not-a-dir/report.json', force: true })).rejects.toThrow(/the storage said no/)
  })
})
