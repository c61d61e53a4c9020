import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { collectfasta, writeTree } from './helpers.js'
import { S3_BUCKET } from './setup/servers.js'
import { countingClient } from './strategies/s3-servers.js'

// `collectfasta remove` (issue #33): a site taken down deletes what its deploy manifest says this
// tool wrote, and nothing of anyone else's. The CLI runs as a child process (stdin is no terminal).

const CLI = join(fileURLToPath(new URL('..', import.meta.url)), 'dist/cli.js')
const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

function project(name: string, trees: Record<string, Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), `collectfasta-${name}-`))
  temp.push(dir)
  for (const [folder, files] of Object.entries(trees)) writeTree(join(dir, folder), files)
  return dir
}

const endpoint = () => inject('fauxqsEndpoint')

/** Every key under `prefix`, by a client of the test's own. */
async function keysUnder(prefix: string): Promise<string[]> {
  const { client } = countingClient(endpoint())
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: prefix, ContinuationToken: token }))
    keys.push(...(page.Contents ?? []).map((o) => o.Key as string))
    token = page.NextContinuationToken
  } while (token)
  client.destroy()
  return keys.sort()
}

async function put(key: string, body: string): Promise<void> {
  const { client } = countingClient(endpoint())
  await client.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: key, Body: body }))
  client.destroy()
}

describe('collectfasta remove', () => {
  it('on a shared S3 bucket: deletes every path of every deploy, .collectfasta/ and the manifest last; nothing beside, nothing not ours', async () => {
    const run = `remove-${Date.now().toString(36)}`
    const dir = project('remove', {
      v1: { 'index.html': '<h1>v1</h1>', 'old.html': 'old', 'assets/app-1111.js': 'v1()' },
      v2: { 'index.html': '<h1>v2</h1>', 'new.html': 'new', 'assets/app-2222.js': 'v2()' },
      other: { 'index.html': '<h1>other</h1>', 'assets/app-3333.js': 'other()' },
    })
    const target = (name: string) => ['--to', `s3://${S3_BUCKET}/${run}/${name}/`, '--endpoint', endpoint()]
    expect((await collectfasta(dir, ['deploy', 'v1', ...target('pr-1')])).code).toBe(0)
    expect((await collectfasta(dir, ['deploy', 'v2', ...target('pr-1')])).code).toBe(0)
    // Beside it: a prefix that starts with the same characters.
    expect((await collectfasta(dir, ['deploy', 'other', ...target('pr-10')])).code).toBe(0)
    await put(`${run}/pr-1/uploads/user.txt`, 'not deployed by this tool')
    await put(`${run}/pr-1/.collectfasta/kept/0123abcd`, 'a kept copy')
    const before = await keysUnder(`${run}/`)
    const others = before.filter((key) => key.startsWith(`${run}/pr-10/`))
    // Its 2 files and manifest, with its release's record and kept page under .collectfasta/.
    expect(others.filter((key) => !key.includes('/.collectfasta/'))).toHaveLength(2)
    expect(others).toContain(`${run}/pr-10/.collectfasta/manifest.json`)

    const refused = await collectfasta(dir, ['remove', ...target('pr-1')])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^\[collectfasta\] remove deletes the site .* add --yes/)
    expect(await keysUnder(`${run}/`)).toEqual(before)

    const mine = ['assets/app-1111.js', 'assets/app-2222.js', 'index.html', 'new.html', 'old.html'].map((path) => `${run}/pr-1/${path}`)
    const dry = await collectfasta(dir, ['remove', '--dry-run', ...target('pr-1')])
    expect(dry.code).toBe(0)
    const listed = [...dry.stdout.matchAll(/^ {2}delete {2}(.*)$/gm)].map((m) => m[1])
    expect(listed.slice(0, 5).sort()).toEqual(mine)
    const ours = listed.slice(5)
    expect(ours.every((key) => key?.startsWith(`${run}/pr-1/.collectfasta/`))).toBe(true)
    expect(ours).toContain(`${run}/pr-1/.collectfasta/kept/0123abcd`)
    expect(ours.at(-1)).toBe(`${run}/pr-1/.collectfasta/manifest.json`)
    expect(await keysUnder(`${run}/`)).toEqual(before)

    const removed = await collectfasta(dir, ['remove', '--yes', '--json', ...target('pr-1')])
    expect(removed.code, removed.stderr).toBe(0)
    const report = JSON.parse(removed.stdout)
    expect(report.deleted).toEqual(listed)
    expect(report.deleted.at(-1)).toBe(`${run}/pr-1/.collectfasta/manifest.json`)
    expect(report.requests).toMatchObject({ get: 1, list: 1, delete: 3 })
    expect(await keysUnder(`${run}/`)).toEqual([...others, `${run}/pr-1/uploads/user.txt`].sort())

    // Nothing of ours is left: run again, it says so and deletes nothing.
    const again = await collectfasta(dir, ['remove', '--yes', ...target('pr-1')])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/^\[collectfasta\] Nothing this tool deployed is at s3:\/\/.*there is no deploy manifest/)
    expect(await keysUnder(`${run}/`)).toEqual([...others, `${run}/pr-1/uploads/user.txt`].sort())
  })

  it('refuses a prefix that holds another site below it, deleting nothing; the site below goes first, then the one above', async () => {
    const run = `remove-nested-${Date.now().toString(36)}`
    const dir = project('remove-nested', {
      site: { 'index.html': '<h1>site</h1>' },
      blog: { 'index.html': '<h1>blog</h1>', 'post.html': 'post' },
    })
    const to = (path: string) => ['--to', `s3://${S3_BUCKET}/${run}/${path}`, '--endpoint', endpoint()]
    expect((await collectfasta(dir, ['deploy', 'site', ...to('www/')])).code).toBe(0)
    expect((await collectfasta(dir, ['deploy', 'blog', ...to('www/blog/')])).code).toBe(0)
    const before = await keysUnder(`${run}/`)
    // Three files and two manifests (and each site's release records and kept pages).
    const site = (keys: string[]) => keys.filter((key) => !key.includes('/.collectfasta/') || key.endsWith('/.collectfasta/manifest.json'))
    expect(site(before)).toHaveLength(5)

    for (const flags of [['--yes'], ['--dry-run']]) {
      const refused = await collectfasta(dir, ['remove', ...flags, ...to('www/')])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(new RegExp(`^\\[collectfasta\\] s3://.* holds another site's deploy manifest below it \\(${run}/www/blog/\\.collectfasta/manifest\\.json\\), so nothing was deleted`))
      expect(await keysUnder(`${run}/`)).toEqual(before)
    }
    expect((await collectfasta(dir, ['remove', '--yes', ...to('www/blog/')])).code).toBe(0)
    const left = await keysUnder(`${run}/`)
    expect(site(left)).toEqual([`${run}/www/.collectfasta/manifest.json`, `${run}/www/index.html`])
    expect(left.some((key) => key.startsWith(`${run}/www/blog/`))).toBe(false)
    expect((await collectfasta(dir, ['remove', '--yes', ...to('www/')])).code).toBe(0)
    expect(await keysUnder(`${run}/`)).toEqual([])
  })

  it('on a directory: deletes what was deployed, keeps a file someone else put there', async () => {
    const dir = project('remove-dir', { dist: { 'index.html': '<h1>home</h1>', 'assets/app-1a2b.js': 'app()' } })
    const www = join(dir, 'www')
    const to = `file://${www}`
    expect((await collectfasta(dir, ['deploy', 'dist', '--to', to])).code).toBe(0)
    mkdirSync(join(www, 'uploads'), { recursive: true })
    writeFileSync(join(www, 'uploads/user.txt'), 'theirs')
    const removed = await collectfasta(dir, ['remove', '--yes', '--to', to])
    expect(removed.code, removed.stderr).toBe(0)
    expect(removed.stdout).toMatch(/removed \d+ object\(s\) \(2 of the site\)/)
    const files = readdirSync(www, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())
    expect(files.map((d) => relative(www, join(d.parentPath, d.name)))).toEqual(['uploads/user.txt'])
    expect(existsSync(join(www, '.collectfasta/manifest.json'))).toBe(false)
  })

  // A terminal for the child: util-linux `script` gives it one (its arguments differ elsewhere).
  const script = process.platform === 'linux' && existsSync('/usr/bin/script')
  it.skipIf(!script)('on a terminal, lists the keys and asks: anything but y deletes nothing (exit 1), y deletes', async () => {
    const dir = project('remove-ask', { dist: { 'index.html': '<h1>home</h1>' } })
    const to = `file://${join(dir, 'www')}`
    expect((await collectfasta(dir, ['deploy', 'dist', '--to', to])).code).toBe(0)
    const answer = (reply: string) =>
      new Promise<{ code: number; output: string }>((resolve) => {
        const child = spawn('/usr/bin/script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} remove --to ${JSON.stringify(to)}`, '/dev/null'], { cwd: dir })
        let output = ''
        let replied = false
        // The reply goes once; the terminal may close before it is read (nothing to answer then).
        child.stdin.on('error', () => {})
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString()
          if (!replied && output.includes('[y/N]')) {
            replied = true
            child.stdin.write(`${reply}\n`)
          }
        })
        child.on('close', (code) => resolve({ code: code ?? 1, output }))
      })
    const declined = await answer('n')
    expect(declined.output).toMatch(/ {2}delete {2}index\.html\r?\n/)
    expect(declined.output).toMatch(/ {2}delete {2}\.collectfasta\/manifest\.json\r?\n/)
    expect(declined.output).toContain('Not confirmed: nothing was deleted.')
    expect(declined.code).toBe(1)
    expect(existsSync(join(dir, 'www/index.html'))).toBe(true)
    const confirmed = await answer('y')
    expect(confirmed.code).toBe(0)
    expect(existsSync(join(dir, 'www/index.html'))).toBe(false)
  })

  it('refuses a target where nothing was deployed', async () => {
    const dir = project('remove-empty', {})
    const refused = await collectfasta(dir, ['remove', '--yes', '--to', `file://${join(dir, 'nothing')}`])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^\[collectfasta\] Nothing this tool deployed is at file:\/\//)
  })
})
