import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { type DeployReport, deploy, rollback } from '../src/index.js'
import { writeTree } from './helpers.js'
import { type StoredObject, memory } from './strategies/memory.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
afterEach(() => {
  vi.unstubAllEnvs()
})

function project() {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-gha-'))
  dirs.push(root)
  writeTree(join(root, 'dist'), { 'index.html': '<h1>hi</h1>', 'assets/app-1.js': 'app()', 'assets/vendor-1.js': 'vendor()', 'robots.txt': 'ok' })
  const summary = join(root, 'step-summary.md')
  writeFileSync(summary, '')
  vi.stubEnv('GITHUB_ACTIONS', 'true')
  vi.stubEnv('GITHUB_STEP_SUMMARY', summary)
  const out: string[] = []
  const logger = { info: (m: string) => void out.push(m), warn: (m: string) => void out.push(m) }
  return { root, summary, out, logger }
}

describe('on GitHub Actions', () => {
  it('appends a step summary and annotates failed keys', async () => {
    const { root, summary, out, logger } = project()
    const objects = new Map<string, StoredObject>()
    await deploy({ outDir: 'dist', root, strategy: memory({ objects }), logger })
    const first = readFileSync(summary, 'utf8')
    expect(first).toContain('### collectfasta: ✅ `memory://test/`')
    expect(first).toMatch(/\| uploaded \| unchanged \| deleted \| failed \| held back \| bytes \| requests \| time \|\n\|---.*\n\| 4 \| 0 \| 0 \| 0 \| 0 \| /)
    expect(first).toContain('- `assets/app-1.js` (new)')

    writeFileSync(join(root, 'dist/assets/app-1.js'), 'app(2)')
    writeFileSync(join(root, 'dist/index.html'), '<h1>2</h1>')
    const failing = memory({ objects, failUpload: (key) => key === 'assets/app-1.js' })
    const error = (await deploy({ outDir: 'dist', root, strategy: failing, logger }).catch((e: unknown) => e)) as { report: DeployReport }
    expect(error.report.failed.map((f) => f.key)).toEqual(['assets/app-1.js'])
    const second = readFileSync(summary, 'utf8').slice(first.length)
    expect(second).toContain('### collectfasta: ❌ `memory://test/`')
    expect(second).toMatch(/\| `assets\/app-1\.js` \| simulated storage failure \(503\) \|/)
    expect(out).toContain('::error title=collectfasta%3A assets/app-1.js failed::assets/app-1.js: simulated storage failure (503)')
  })

  it('warns about a prune refusal, and folds a dry run into a group', async () => {
    const { root, out, logger } = project()
    const objects = new Map<string, StoredObject>()
    for (let v = 1; v <= 3; v++) {
      writeFileSync(join(root, `dist/assets/v-${v}.js`), `v(${v})`)
      await deploy({ outDir: 'dist', root, strategy: memory({ objects }), logger })
      rmSync(join(root, `dist/assets/v-${v}.js`))
    }
    writeFileSync(join(root, 'dist/assets/v-4.js'), 'v(4)')
    await deploy({ outDir: 'dist', root, strategy: memory({ objects }), logger, prune: { keepDeploys: 1, maxDeletes: 1 }, dryRun: true })
    const start = out.indexOf('::group::collectfasta dry run: 2 decision(s) for memory://test/')
    expect(start).toBeGreaterThanOrEqual(0)
    expect(out[start + 1]).toBe('[collectfasta] would upload assets/v-4.js (new file)')
    expect(out[start + 2]).toBe('[collectfasta] would write the deploy manifest .collectfasta/manifest.json (this deploy changes the storage)')
    expect(out[start + 3]).toBe('::endgroup::')
    expect(out.some((m) => m.startsWith('::warning title=collectfasta prune refused::3 stale objects exceed prune.maxDeletes (1)'))).toBe(true)
  })

  it("a rollback's step summary names the release restored, the one it replaced, and the release recording it", async () => {
    const { root, summary, logger } = project()
    const objects = new Map<string, StoredObject>()
    await deploy({ outDir: 'dist', root, strategy: memory({ objects }), logger })
    writeFileSync(join(root, 'dist/index.html'), '<h1>2</h1>')
    await deploy({ outDir: 'dist', root, strategy: memory({ objects }), logger })
    const deployed = readFileSync(summary, 'utf8')
    expect(deployed).not.toContain('Rollback')
    const dry = await rollback({ strategy: memory({ objects }), logger, dryRun: true })
    const back = await rollback({ strategy: memory({ objects }), logger })
    const [dryText, backText] = readFileSync(summary, 'utf8').slice(deployed.length).split('### collectfasta').slice(1)
    expect(dryText).toContain(`**Rollback:** release \`${dry.rollback.to}\` would be live again (was \`${dry.rollback.from}\`).`)
    expect(backText).toContain(`**Rollback:** release \`${back.rollback.to}\` is live again (was \`${back.rollback.from}\`), recorded as release \`${back.rollback.id}\`.`)
    expect(backText).toContain('- `index.html` (changed)')
  })

  it('githubActions: false, or another CI, writes none of it', async () => {
    const { root, summary, out, logger } = project()
    await deploy({ outDir: 'dist', root, strategy: memory(), logger, githubActions: false })
    vi.stubEnv('GITHUB_ACTIONS', '')
    await deploy({ outDir: 'dist', root, strategy: memory(), logger, cacheDir: 'other' })
    expect(readFileSync(summary, 'utf8')).toBe('')
    expect(out.filter((m) => m.startsWith('::'))).toEqual([])
  })
})
