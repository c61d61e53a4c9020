import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { deploy } from '../src/index.js'
import { runPool } from '../src/pool.js'
import { writeTree } from './helpers.js'
import { type RecordedRequest, recordingProxy } from './servers/proxy.mjs'
import { S3_BUCKET } from './setup/servers.js'
import { localS3, readBackS3 } from './strategies/s3-servers.js'

// `collectfasta rollback` and `collectfasta releases` as a user runs them: the built CLI, a
// target URL and nothing else (no build directory, no cache).

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(ROOT, 'dist/cli.js')
const ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', CI: '1' }
const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

/** Version `v` of a site of 150 pages that all change, and a hashed chunk. */
function site(v: number): Record<string, string> {
  const files: Record<string, string> = { 'index.html': `<script src="/assets/app-v${v}.js"></script>`, [`assets/app-v${v}.js`]: `app(${v})` }
  for (let i = 0; i < 150; i++) files[`p/${i}.html`] = `<p>page ${i} of v${v}</p>`
  return files
}

function run(args: string[]): ChildProcess & { done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: tmpdir(), env: { ...process.env, ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c) => {
    stdout += c
  })
  child.stderr?.on('data', (c) => {
    stderr += c
  })
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
  return Object.assign(child, { done })
}

describe('collectfasta rollback and releases (S3, fauxqs)', () => {
  it('lists the releases; a dry run changes nothing; a rollback killed mid-way and run again leaves exactly the release; a release that is not kept exits 2', async () => {
    const endpoint = inject('fauxqsConditionalEndpoint')
    const prefix = `cli-rollback-${Date.now().toString(36)}/`
    const root = mkdtempSync(join(tmpdir(), 'collectfasta-cli-rollback-'))
    temp.push(root)
    for (const v of [1, 2, 3]) {
      rmSync(join(root, 'dist'), { recursive: true, force: true })
      writeTree(join(root, 'dist'), site(v))
      await deploy({ outDir: 'dist', root, strategy: localS3(endpoint, prefix), release: `v${v}`, logger: { info() {}, warn() {} } })
    }
    const to = `s3://${S3_BUCKET}/${prefix}`

    const listed = await run(['releases', '--to', to, '--endpoint', endpoint, '--json']).done
    expect(listed.code, listed.stderr).toBe(0)
    const releases = JSON.parse(listed.stdout) as { id: string; label?: string; live: boolean; canRollBack: boolean; files: number }[]
    expect(releases.map((r) => [r.label, r.live, r.canRollBack, r.files])).toEqual([
      ['v3', true, true, 152],
      ['v2', false, true, 152],
      ['v1', false, true, 152],
    ])
    const v2 = releases[1]?.id ?? ''

    const dry = await run(['rollback', '--to', to, '--endpoint', endpoint, '--dry-run']).done
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(new RegExp(`would copy ${prefix}p/0\\.html from ${prefix}\\.collectfasta/kept/`))
    expect(Buffer.from((await readBackS3(endpoint, `${prefix}p/0.html`))?.bytes ?? []).toString()).toBe('<p>page 0 of v3</p>')

    // Killed after 40 writes of its copies (HTML last: the pages are the last group).
    let child: ReturnType<typeof run> | undefined
    let puts = 0
    const proxy = await recordingProxy(endpoint, {
      onRequest: (r: RecordedRequest) => {
        if (r.kind === 'PUT' && r.path.includes('/p/') && ++puts === 40) child?.kill('SIGKILL')
      },
    })
    try {
      child = run(['rollback', '--to', to, '--endpoint', proxy.url, '--release', v2])
      const killed = await child.done
      expect(killed.code).not.toBe(0)
      expect(puts).toBeGreaterThanOrEqual(40)
    } finally {
      await proxy.close()
    }
    const again = await run(['rollback', '--to', to, '--endpoint', endpoint, '--release', v2]).done
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toMatch(new RegExp(`Release ${v2} is live again`))
    const wrong: string[] = []
    const want = Object.entries(site(2))
    await runPool(want, async ([path, text]) => {
      const stored = await readBackS3(endpoint, prefix + path)
      if (Buffer.from(stored?.bytes ?? []).toString() !== text) wrong.push(path)
    }, { limit: 16 })
    expect(want.length).toBeGreaterThan(0)
    expect(wrong).toEqual([])

    const refused = await run(['rollback', '--to', to, '--endpoint', endpoint, '--release', 'ffffffffffffffff']).done
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^\[collectfasta\] No kept release has the id "ffffffffffffffff"; the kept ones are /m)
    const both = await run(['rollback', '--to', to, '--release', v2, '--steps', '2']).done
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/Give --release or --steps, not both\./)
  })
})
