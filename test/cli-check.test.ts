import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { writeTree } from './helpers.js'
import { S3_BUCKET } from './setup/servers.js'
import { countingClient } from './strategies/s3-servers.js'

// `collectfasta check` and `collectfasta deploy --verify` (issue #26): drift that a warm deploy
// cannot see, caught on a schedule and repaired on request. The CLI runs as a child process.

const CLI = join(fileURLToPath(new URL('..', import.meta.url)), 'dist/cli.js')
const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

function cli(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, CI: '1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }
    execFile(process.execPath, [CLI, ...args], { cwd, env }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

describe('check and --verify', () => {
  it('on a directory: in sync exits 0; a deleted and a defaced file exit 1 with both named; --verify restores them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-check-'))
    temp.push(dir)
    writeTree(join(dir, 'dist'), { 'index.html': '<h1>home</h1>', 'about.html': '<h1>about</h1>', 'assets/app-1a2b.js': 'app()' })
    const to = `file://${join(dir, 'www')}`
    expect((await cli(dir, ['deploy', 'dist', '--to', to])).code).toBe(0)
    const clean = await cli(dir, ['check', 'dist', '--to', to])
    expect(clean.stdout).toMatch(/all 3 file\(s\) of the build are stored with the same bytes and headers/)
    expect(clean.code).toBe(0)

    rmSync(join(dir, 'www/about.html'))
    writeFileSync(join(dir, 'www/index.html'), 'defaced')
    const drift = await cli(dir, ['check', 'dist', '--to', to])
    expect(drift.code).toBe(1)
    expect(drift.stderr).toMatch(/differs from the build in 2 of 3 file\(s\):\n {2}missing {2}about\.html\n {2}changed {2}index\.html\n.*--verify/)
    const json = await cli(dir, ['check', 'dist', '--to', to, '--json'])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ checked: 3, missing: ['about.html'], changed: ['index.html'], headers: [], drift: true })

    // A warm deploy asks one question and cannot see it; --verify lists and restores.
    expect(JSON.parse((await cli(dir, ['deploy', 'dist', '--to', to, '--json'])).stdout).uploaded).toEqual([])
    const verified = JSON.parse((await cli(dir, ['deploy', 'dist', '--to', to, '--verify', '--json'])).stdout)
    expect(verified.plan).toEqual(
      expect.arrayContaining([
        { key: 'about.html', action: 'upload', reason: 'missing' },
        { key: 'index.html', action: 'upload', reason: 'changed' },
      ]),
    )
    expect((await cli(dir, ['check', 'dist', '--to', to])).code).toBe(0)
  })

  it('on S3: an object deleted by hand and one replaced with other headers are drift', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-check-s3-'))
    temp.push(dir)
    writeTree(join(dir, 'dist'), { 'index.html': '<h1>home</h1>', 'robots.txt': 'ok', 'assets/app-1a2b.js': 'app()' })
    const endpoint = inject('fauxqsEndpoint')
    const prefix = `check-${Date.now().toString(36)}/`
    const target = ['--to', `s3://${S3_BUCKET}/${prefix}`, '--endpoint', endpoint]
    expect((await cli(dir, ['deploy', 'dist', ...target])).code).toBe(0)
    expect((await cli(dir, ['check', 'dist', ...target])).code).toBe(0)
    const { client } = countingClient(endpoint)
    await client.send(new DeleteObjectCommand({ Bucket: S3_BUCKET, Key: `${prefix}robots.txt` }))
    // The same bytes, stored again by hand without our metadata and with another content type.
    await client.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: `${prefix}index.html`, Body: '<h1>home</h1>', ContentType: 'text/plain' }))
    client.destroy()
    const drift = await cli(dir, ['check', 'dist', ...target, '--json'])
    expect(drift.code).toBe(1)
    const report = JSON.parse(drift.stdout)
    expect(report.missing).toEqual([`${prefix}robots.txt`])
    expect([...report.changed, ...report.headers]).toEqual([`${prefix}index.html`])
  })
})
