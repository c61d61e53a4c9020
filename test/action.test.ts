// The GitHub Action (action.yml, action/index.mjs), run as the runner runs it: its entry in a
// child process, every input as INPUT_<NAME> with action.yml's defaults for those the step does
// not set, outputs to a GITHUB_OUTPUT file and the summary to a GITHUB_STEP_SUMMARY file.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { deployedSite, snapshot } from './app.js'
import { writeTree } from './helpers.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SITE = { 'index.html': '<h1>home</h1>', 'about/index.html': '<h1>about</h1>', 'assets/app-1a2b3c.js': 'console.log(1)', 'robots.txt': 'ok' }

interface ActionYml {
  inputs: Record<string, { default?: string }>
  outputs: Record<string, unknown>
  runs: { using: string; main: string }
}
const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as ActionYml

const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

/** A workspace as after `npm ci`: a project with its built site, this package installed. */
function workspace(options: { installed?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'collectfasta-action-'))
  temp.push(dir)
  const project = join(dir, 'project')
  writeTree(join(project, 'dist'), SITE)
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-site', private: true }))
  if (options.installed !== false) {
    mkdirSync(join(project, 'node_modules'))
    symlinkSync(ROOT, join(project, 'node_modules/vite-plugin-collectfasta'), 'junction')
  }
  const runnerTemp = join(dir, 'runner-temp')
  mkdirSync(runnerTemp)
  return { dir, project, runnerTemp, target: join(dir, 'www') }
}

interface Step {
  code: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
}

/** Runs the action's entry as the runner would for a step `with: inputs`, in `cwd` (GITHUB_WORKSPACE). */
function step(cwd: string, runnerTemp: string, inputs: Record<string, string>): Promise<Step> {
  const outputFile = join(runnerTemp, `output-${Math.random()}`)
  const summaryFile = join(runnerTemp, `summary-${Math.random()}`)
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile, RUNNER_TEMP: runnerTemp }
  for (const [name, spec] of Object.entries(action.inputs)) env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? spec.default ?? ''
  for (const name of Object.keys(inputs)) expect(action.inputs, `the input ${name} is declared`).toHaveProperty([name])
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, action.runs.main)], { cwd, env }, (error, stdout, stderr) => {
      resolve({
        code: error ? ((error as { code?: number }).code ?? 1) : 0,
        stdout,
        stderr,
        outputs: readOutputs(readFileSync(outputFile, 'utf8')),
        summary: readFileSync(summaryFile, 'utf8'),
      })
    })
  })
}

/** GITHUB_OUTPUT as the runner reads it: `name=value` lines and `name<<DELIMITER` blocks. */
function readOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const block = /^([^=<]+)<<(.+)$/.exec(line)
    if (block) {
      const [, name = '', delimiter] = block
      const end = lines.indexOf(delimiter ?? '', i + 1)
      expect(end, `the delimiter of ${name} closes its value`).toBeGreaterThan(i)
      outputs[name] = lines.slice(i + 1, end).join('\n')
      i = end
    } else if (line.includes('=')) {
      outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    }
  }
  return outputs
}

describe('the GitHub Action', () => {
  it('is a JavaScript action on a Node that GitHub runs, with the inputs and outputs it documents', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'action/index.mjs' })
    expect(Object.keys(action.inputs).sort()).toEqual(
      ['cache-dir', 'command', 'concurrency', 'config', 'dir', 'dry-run', 'endpoint', 'force', 'mode', 'prune', 'release', 'report', 'steps', 'to', 'verify', 'working-directory'].sort(),
    )
    expect(Object.keys(action.outputs).sort()).toEqual(['bytes', 'deleted', 'failed', 'report', 'skipped', 'uploaded'])
  })

  it('deploys with the installed command, sets the counts and the report path, and writes the step summary', async () => {
    const { project, runnerTemp, target } = workspace()
    const to = pathToFileURL(target).href
    const first = await step(project, runnerTemp, { to, 'cache-dir': '.collectfasta-cache', concurrency: '4' })
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.outputs).toMatchObject({ uploaded: '4', skipped: '0', deleted: '0', failed: '0' })
    expect(Number(first.outputs.bytes)).toBe(Object.values(SITE).reduce((sum, text) => sum + Buffer.byteLength(text), 0))
    expect(first.outputs.report?.startsWith(runnerTemp)).toBe(true)
    const report = JSON.parse(readFileSync(first.outputs.report ?? '', 'utf8'))
    expect(report.uploaded.map((u: { key: string }) => u.key).sort()).toEqual(Object.keys(SITE).sort())
    expect(first.summary).toContain(`### collectfasta: ✅ \`${to}/\``)
    expect([...snapshot(target).keys()].filter((path) => !path.startsWith('.collectfasta/')).sort()).toEqual(Object.keys(SITE).sort())
    expect(existsSync(join(project, '.collectfasta-cache'))).toBe(true)

    // The next run, with the cache kept: nothing to upload. A dry run with force says what it would send.
    const second = await step(project, runnerTemp, { to, 'cache-dir': '.collectfasta-cache' })
    expect(second.code).toBe(0)
    expect(second.outputs).toMatchObject({ uploaded: '0', skipped: '4', failed: '0', bytes: '0' })
    writeFileSync(join(target, 'robots.txt'), 'changed behind the deploy')
    const dry = await step(project, runnerTemp, { to, 'dry-run': 'true', force: 'true', report: 'deploy-report.json' })
    expect(dry.code).toBe(0)
    expect(dry.outputs).toMatchObject({ uploaded: '4', report: join(project, 'deploy-report.json') })
    expect(dry.summary).toContain('(dry run)')
    expect(readFileSync(join(target, 'robots.txt'), 'utf8')).toBe('changed behind the deploy')
    // verify finds the object changed behind the deploy's back, whatever the cache says.
    const verified = await step(project, runnerTemp, { to, 'cache-dir': '.collectfasta-cache', verify: 'true' })
    expect(verified.outputs).toMatchObject({ uploaded: '1', skipped: '3' })
    expect(readFileSync(join(target, 'robots.txt'), 'utf8')).toBe('ok')
  })

  it('runs in working-directory, deploying its dist/ and keeping the cache in the default folder', async () => {
    const { dir, project, runnerTemp, target } = workspace()
    const result = await step(dir, runnerTemp, { 'working-directory': 'project', to: pathToFileURL(target).href })
    expect(result.code).toBe(0)
    expect(result.outputs.uploaded).toBe('4')
    expect(existsSync(join(project, 'node_modules/.cache/vite-plugin-collectfasta'))).toBe(true)
  })

  it('fails on a bad target with the command’s sentence, as an annotation too, and sets no counts', async () => {
    const { project, runnerTemp } = workspace()
    const result = await step(project, runnerTemp, { to: 'ftp://example.com/site' })
    expect(result.code).toBe(2)
    const sentence = result.stderr.trim().split('\n').at(-1) ?? ''
    expect(sentence).toMatch(/^\[collectfasta\] .*ftp/)
    expect(result.stdout).toContain(`::error title=collectfasta::${sentence}`)
    expect(result.summary).toBe(`### collectfasta: ❌ not deployed\n\n${sentence}\n\n`)
    expect(result.outputs).toEqual({})
  })

  it('fails with a sentence saying what to install when the package is not in the project', async () => {
    const { project, runnerTemp, target } = workspace({ installed: false })
    const result = await step(project, runnerTemp, { to: pathToFileURL(target).href })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('vite-plugin-collectfasta is not installed in')
    expect(result.stderr).toContain('`npm i -D vite-plugin-collectfasta`')
    expect(result.stdout).toContain('::error title=collectfasta::[collectfasta] The action runs the collectfasta command of your project')
    expect(result.summary).toContain('### collectfasta: ❌ not deployed')
    expect(existsSync(target)).toBe(false)
  })

  it('command: check compares, remove takes the site down (confirmed by the step), each with its report', async () => {
    const { project, runnerTemp, target } = workspace()
    const to = pathToFileURL(target).href
    expect((await step(project, runnerTemp, { to })).code).toBe(0)
    writeFileSync(join(project, 'dist/robots.txt'), 'changed in the build')
    const checked = await step(project, runnerTemp, { command: 'check', to })
    expect(checked.code).toBe(1)
    expect(checked.stdout).toContain(`collectfasta check --to ${to} --json`)
    expect(JSON.parse(readFileSync(checked.outputs.report ?? '', 'utf8'))).toMatchObject({ checked: 4, changed: ['robots.txt'], drift: true })
    expect(checked.outputs).toEqual({ report: checked.outputs.report })

    const dry = await step(project, runnerTemp, { command: 'remove', to, 'dry-run': 'true' })
    expect(dry.code).toBe(0)
    // Everything stored is the site's: its 4 files, the manifest, the release's record and kept pages.
    expect(snapshot(target).size).toBeGreaterThan(5)
    const stored = snapshot(target).size
    expect(dry.outputs.deleted).toBe(String(stored))
    const removed = await step(project, runnerTemp, { command: 'remove', to })
    expect(removed.code).toBe(0)
    expect(removed.stdout).toContain(`collectfasta remove --to ${to} --yes --json`)
    expect(removed.outputs.deleted).toBe(String(stored))
    expect(JSON.parse(readFileSync(removed.outputs.report ?? '', 'utf8')).deleted).toHaveLength(stored)
    expect(snapshot(target).size).toBe(0)
  })

  it('command: rollback restores the release before the live one, sets the outputs as a deploy does, and its summary names both releases', async () => {
    const { project, runnerTemp, target } = workspace()
    const to = pathToFileURL(target).href
    expect((await step(project, runnerTemp, { to })).code).toBe(0)
    const v1 = deployedSite(target)
    writeFileSync(join(project, 'dist/index.html'), '<h1>home, v2</h1>')
    expect((await step(project, runnerTemp, { to })).code).toBe(0)
    const manifest = JSON.parse(readFileSync(join(target, '.collectfasta/manifest.json'), 'utf8')) as { deploys: { id: string }[] }
    const [live, before] = manifest.deploys.map((d) => d.id)

    const dry = await step(project, runnerTemp, { command: 'rollback', to, 'dry-run': 'true' })
    expect(dry.stdout).toMatch(new RegExp(`^collectfasta rollback --to ${to} --dry-run --report ${runnerTemp}/collectfasta-report-[\\w-]+\\.json$`, 'm'))
    expect(readFileSync(join(target, 'index.html'), 'utf8')).toBe('<h1>home, v2</h1>')

    const back = await step(project, runnerTemp, { command: 'rollback', to, steps: '1' })
    expect(back.code, back.stderr).toBe(0)
    expect(back.stdout).toContain(`collectfasta rollback --to ${to} --steps 1 --report`)
    expect(deployedSite(target)).toEqual(v1)
    expect(back.outputs).toMatchObject({ uploaded: '1', deleted: '0', failed: '0' })
    expect(back.summary).toContain(`release \`${before}\` is live again (was \`${live}\`)`)
  })

  it('refuses an unknown command, and an input the command does not take, before running anything', async () => {
    const { project, runnerTemp, target } = workspace()
    const to = pathToFileURL(target).href
    const unknown = await step(project, runnerTemp, { command: 'publish', to })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('[collectfasta] The input `command` must be one of deploy, check, remove, rollback, got "publish".')
    const misplaced = await step(project, runnerTemp, { command: 'remove', to, prune: 'true' })
    expect(misplaced.code).toBe(2)
    expect(misplaced.stderr).toContain('[collectfasta] The input `prune` does not apply to the command `remove`: remove it from the step.')
    expect(existsSync(target)).toBe(false)
  })

  it('refuses a boolean input that is neither true nor false', async () => {
    const { project, runnerTemp, target } = workspace()
    const result = await step(project, runnerTemp, { to: pathToFileURL(target).href, prune: 'yes' })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('[collectfasta] The input `prune` must be true or false, got "yes".')
    expect(existsSync(target)).toBe(false)
  })
})
