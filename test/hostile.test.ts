import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type DeployOptions, deploy } from '../src/index.js'
import { group, stepSummary } from '../src/github-actions.js'
import { printable } from '../src/paths.js'
import { redactUrl } from '../src/redact.js'
import { type DeployReport, failureMessage } from '../src/report.js'
import { writeTree } from './helpers.js'
import { memory } from './strategies/memory.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function site(files: Record<string, string> = { 'index.html': '<h1>hi</h1>' }) {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-hostile-'))
  dirs.push(root)
  writeTree(join(root, 'dist'), files)
  const strategy = memory()
  const lines: string[] = []
  const log = (m: string) => void lines.push(...m.split('\n'))
  const run = (options: Partial<DeployOptions> = {}) => deploy({ outDir: 'dist', root, strategy, logger: { info: log, warn: log }, ...options })
  return { root, outDir: join(root, 'dist'), strategy, lines, run }
}

/** A line a GitHub Actions runner would read as a workflow command. */
const COMMAND = /^\s*::/

describe('names that speak to CI', () => {
  it.each(['a\n::error::injected', 'b\n::add-mask::x', 'c\r::warning::x', 'tab\there', 'del\x7f', 'esc\x1b[2J'])(
    'a file named %j is refused with a sentence, before anything is written',
    async (name) => {
      const { run, strategy, lines } = site({ 'index.html': 'ok', [name]: 'x' })
      const error = await run().catch((e: Error) => e)
      expect((error as Error).message).toMatch(/Cannot deploy `.*`: it contains the control character U\+00[0-9A-F]{2}, .*Rename it or exclude it\./)
      expect((error as Error).message.split('\n').filter((line) => COMMAND.test(line))).toEqual([])
      expect(strategy.calls.filter((call) => !/^(stat|list|get)\b/.test(call))).toEqual([])
      expect(lines.filter((line) => COMMAND.test(line))).toEqual([])
    },
  )

  it('a link named like a command, leading outside outDir, is warned about on one line', async () => {
    const { outDir, run, lines } = site({ 'index.html': 'ok' })
    symlinkSync(tmpdir(), join(outDir, 'a\n::error::injected'))
    await run()
    expect(lines.some((line) => line.includes('links outside outDir'))).toBe(true)
    expect(lines.filter((line) => COMMAND.test(line))).toEqual([])
  })

  it('a dry run lists a stored object named like a command on one line', async () => {
    const { run, strategy, lines } = site({ 'index.html': 'ok' })
    await run() // the first deploy records the site; the hostile object is written by someone else
    strategy.objects.set('b\n::add-mask::x', { bytes: Buffer.from('x'), headers: { contentType: 'text/plain' } })
    lines.length = 0
    const report = await run({ dryRun: true, force: true, prune: { unknown: true }, githubActions: true })
    expect(report.deleted).toEqual(['b\n::add-mask::x'])
    expect(lines.some((line) => line.includes('would delete b\\u{a}::add-mask::x'))).toBe(true)
    expect(lines.filter((line) => COMMAND.test(line) && !/^::(end)?group::/.test(line))).toEqual([])
  })

  it('the group, the failure message and the step summary escape every key', () => {
    const printed: string[] = []
    group('title', ['[collectfasta] would upload x\n::error::y (new file)'], { info: (m) => void printed.push(m), warn() {} }, true)
    expect(printed).toEqual(['::group::title', '[collectfasta] would upload x\\u{a}::error::y (new file)', '::endgroup::'])

    const report: DeployReport = {
      target: 'memory://t/',
      dryRun: false,
      uploaded: [{ key: 'tick`s`.js', size: 1, reason: 'new' }],
      skipped: [],
      failed: [{ key: 'f\n::error::x', error: 'boom' }],
      pending: ['p\n::add-mask::y'],
      deleted: [],
      bytesUploaded: 1,
      durationMs: 1,
      requests: { list: 0, stat: 0, get: 0, upload: 1, delete: 0, copy: 0 },
      plan: [],
    }
    const message = failureMessage(report, new AbortController().signal) ?? ''
    expect(message).toContain('f\\u{a}::error::x')
    expect(message.split('\n').filter((line) => COMMAND.test(line))).toEqual([])
    const summary = stepSummary(report)
    // The key stays one code span: fenced with more backticks than it holds.
    expect(summary).toContain('- ``tick`s`.js`` (new)')
    expect(summary).toContain('| `f\\u{a}::error::x` | boom |')
  })

  it('printable escapes C0, DEL, C1 and line separators, and nothing else', () => {
    expect(printable('a\nb\rc\u0085d\u2028e\x7f')).toBe('a\\u{a}b\\u{d}c\\u{85}d\\u{2028}e\\u{7f}')
    expect(printable('ünïcödé/файл 日本.js')).toBe('ünïcödé/файл 日本.js')
  })
})

describe('every entry through one gate: redirects, clean URLs, files', () => {
  const withRedirects = () => {
    const s = site({ 'index.html': 'ok', 'blog.html': '<h1>blog page</h1>', 'blog/index.html': '<h1>blog index</h1>' })
    const strategy = Object.assign(s.strategy, { websiteRedirects: true })
    return { ...s, strategy }
  }

  it('a _redirects rule cannot overwrite the deploy manifest', async () => {
    const { outDir, run, strategy } = withRedirects()
    writeTree(outDir, { _redirects: '/.collectfasta/manifest.json https://evil.example/ 301\n' })
    await expect(run()).rejects.toThrow(
      '[collectfasta] The redirect from /.collectfasta/manifest.json in _redirects would replace the deploy manifest .collectfasta/manifest.json: remove it, or move the manifest with the `manifest` option.',
    )
    expect(strategy.calls.filter((call) => call.startsWith('upload'))).toEqual([])
  })

  it.each([
    ['/../outside /x', /Cannot deploy `\.\.\/outside` \(the redirect from \/\.\.\/outside in _redirects\): it is not a plain relative path\. Fix the rule\./],
    [`/${'r'.repeat(1100)} /x`, /its key would be 1100 bytes, storages allow 1024/],
  ])('a _redirects rule %# is checked like a file: %s', async (rule, message) => {
    const { outDir, run, strategy } = withRedirects()
    writeTree(outDir, { _redirects: `${rule}\n` })
    await expect(run()).rejects.toThrow(message)
    expect(strategy.calls.filter((call) => call.startsWith('upload'))).toEqual([])
  })

  it('the same redirect in `redirects` and _redirects is an error naming both', async () => {
    const { outDir, run } = withRedirects()
    writeTree(outDir, { _redirects: '/old /b 301\n' })
    await expect(run({ redirects: [{ from: '/old', to: '/a' }] })).rejects.toThrow(
      '[collectfasta] The redirect from /old in _redirects and the redirect from /old would both be stored under old: remove one of them.',
    )
  })

  it('blog.html and blog/index.html meet at `blog` (directoryIndex): one is kept, both are named, the next deploy uploads nothing', async () => {
    const { run, strategy, lines } = withRedirects()
    const first = await run({ directoryIndex: { bare: true, html: true } })
    expect(first.uploaded.filter((u) => u.key === 'blog').length).toBe(1)
    expect(new TextDecoder().decode(strategy.objects.get('blog')?.bytes)).toBe('<h1>blog page</h1>')
    expect(lines).toContain(
      '[collectfasta] 1 object(s) would be stored under a key already taken, and are left out: the clean URL blog of blog/index.html (kept: the clean URL blog of blog.html). Rename one of each pair, or turn off the `directoryIndex` form that makes them meet.',
    )
    const second = await run({ directoryIndex: { bare: true, html: true } })
    expect(second.uploaded).toEqual([])
  })
})

describe('redactUrl', () => {
  it.each([
    ['HTTPS://KEY:SECRET@host', 'HTTPS://***@host'],
    [' https://KEY:SECRET@host/x', ' https://***@host/x'],
    ['s3://K:S@bucket/p', 's3://***@bucket/p'],
    ['at http://K:se/cr+et@host:9000, then', 'at http://***@host:9000, then'],
    ['https://host/no-credentials', 'https://host/no-credentials'],
    ['https://acct.blob.core.windows.net/$web?sv=2022-11-02&sig=abc%2Bdef%3D&se=x', 'https://acct.blob.core.windows.net/$web?sv=2022-11-02&sig=***&se=x'],
    ['DefaultEndpointsProtocol=https;AccountName=a;AccountKey=ab+c/d==;EndpointSuffix=x', 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=***;EndpointSuffix=x'],
  ])('%j → %j', (text, shown) => {
    expect(redactUrl(text)).toBe(shown)
  })
})
