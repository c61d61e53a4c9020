import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { collectfasta, writeTree } from './helpers.js'
import { S3_BUCKET } from './setup/servers.js'
import { GCS_BUCKET, emulatorStorage, readBackGcs } from './strategies/gcs-emulator.js'
import { LOCAL_SERVERS, countingClient, readBackS3 } from './strategies/s3-servers.js'

// `collectfasta check` and `collectfasta deploy --verify` (issue #26): drift that a warm deploy
// cannot see, caught on a schedule and repaired on request. The CLI runs as a child process.

const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

describe('check and --verify', () => {
  it('on a directory: in sync exits 0; a deleted and a defaced file exit 1 with both named; --verify restores them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-check-'))
    temp.push(dir)
    writeTree(join(dir, 'dist'), { 'index.html': '<h1>home</h1>', 'about.html': '<h1>about</h1>', 'assets/app-1a2b.js': 'app()' })
    const to = `file://${join(dir, 'www')}`
    expect((await collectfasta(dir, ['deploy', 'dist', '--to', to])).code).toBe(0)
    const clean = await collectfasta(dir, ['check', 'dist', '--to', to])
    expect(clean.stdout).toMatch(/all 3 file\(s\) of the build are stored with the same bytes \(a directory keeps no headers/)
    expect(clean.code).toBe(0)

    rmSync(join(dir, 'www/about.html'))
    writeFileSync(join(dir, 'www/index.html'), 'defaced')
    const drift = await collectfasta(dir, ['check', 'dist', '--to', to])
    expect(drift.code).toBe(1)
    expect(drift.stderr).toMatch(/differs from the build in 2 of 3 file\(s\):\n {2}missing {2}about\.html\n {2}changed {2}index\.html\n.*--verify/)
    const json = await collectfasta(dir, ['check', 'dist', '--to', to, '--json'])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ checked: 3, missing: ['about.html'], changed: ['index.html'], headers: [], drift: true })

    // A warm deploy asks one question and cannot see it; --verify lists and restores.
    expect(JSON.parse((await collectfasta(dir, ['deploy', 'dist', '--to', to, '--json'])).stdout).uploaded).toEqual([])
    const verified = JSON.parse((await collectfasta(dir, ['deploy', 'dist', '--to', to, '--verify', '--json'])).stdout)
    expect(verified.plan).toEqual(
      expect.arrayContaining([
        { key: 'about.html', action: 'upload', reason: 'missing' },
        { key: 'index.html', action: 'upload', reason: 'changed' },
      ]),
    )
    expect((await collectfasta(dir, ['check', 'dist', '--to', to])).code).toBe(0)
  })

  it('on S3: an object deleted by hand and one replaced with other headers are drift', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-check-s3-'))
    temp.push(dir)
    writeTree(join(dir, 'dist'), { 'index.html': '<h1>home</h1>', 'robots.txt': 'ok', 'assets/app-1a2b.js': 'app()' })
    const endpoint = inject('fauxqsEndpoint')
    const prefix = `check-${Date.now().toString(36)}/`
    const target = ['--to', `s3://${S3_BUCKET}/${prefix}`, '--endpoint', endpoint]
    expect((await collectfasta(dir, ['deploy', 'dist', ...target])).code).toBe(0)
    expect((await collectfasta(dir, ['check', 'dist', ...target])).code).toBe(0)
    const { client } = countingClient(endpoint)
    await client.send(new DeleteObjectCommand({ Bucket: S3_BUCKET, Key: `${prefix}robots.txt` }))
    // The same bytes, stored again by hand without our metadata and with another content type.
    await client.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: `${prefix}index.html`, Body: '<h1>home</h1>', ContentType: 'text/plain' }))
    client.destroy()
    const drift = await collectfasta(dir, ['check', 'dist', ...target, '--json'])
    expect(drift.code).toBe(1)
    const report = JSON.parse(drift.stdout)
    expect(report.missing).toEqual([`${prefix}robots.txt`])
    expect([...report.changed, ...report.headers]).toEqual([`${prefix}index.html`])
  })
})

/** A stored object's headers as a separate client sees them, and a way to store it again changed. */
interface Tamperable {
  name: string
  target(prefix: string): { args: string[]; env?: Record<string, string> }
  /** Stores the same bytes again with `change` applied to the headers (`metadata: {}` drops ours). */
  restore(key: string, change: Partial<Stored>): Promise<void>
  read(key: string): Promise<Stored | undefined>
}
type Stored = { contentType?: string; cacheControl?: string; contentEncoding?: string; metadata?: Record<string, string> }

const s3Storages: Tamperable[] = LOCAL_SERVERS.map((server) => ({
  name: server.name,
  target: (prefix) => ({ args: ['--to', `s3://${S3_BUCKET}/${prefix}`, '--endpoint', server.endpoint()] }),
  read: async (key) => (await readBackS3(server.endpoint(), key))?.headers,
  restore: async (key, change) => {
    const object = await readBackS3(server.endpoint(), key)
    if (!object) throw new Error(`${key} is not stored`)
    const headers = { ...object.headers, ...change }
    const { client } = countingClient(server.endpoint())
    await client.send(
      new PutObjectCommand({
        Bucket: S3_BUCKET,
        Key: key,
        Body: object.bytes,
        ContentType: headers.contentType,
        CacheControl: headers.cacheControl,
        ContentEncoding: headers.contentEncoding,
        Metadata: headers.metadata,
      }),
    )
    client.destroy()
  },
}))

const gcsStorage: Tamperable = {
  name: 'gcs (emulator)',
  target: (prefix) => ({ args: ['--to', `gs://${GCS_BUCKET}/${prefix}`], env: { STORAGE_EMULATOR_HOST: inject('gcsEndpoint'), GOOGLE_CLOUD_PROJECT: 'collectfasta-test' } }),
  read: async (key) => (await readBackGcs(key))?.headers,
  restore: async (key, change) => {
    const file = emulatorStorage().bucket(GCS_BUCKET).file(key)
    const object = await readBackGcs(key)
    if (!object) throw new Error(`${key} is not stored`)
    const headers = { ...object.headers, ...change }
    await file.save(Buffer.from(object.bytes), {
      resumable: false,
      metadata: { contentType: headers.contentType, cacheControl: headers.cacheControl, contentEncoding: headers.contentEncoding, metadata: headers.metadata },
    })
  },
}

// Issue #31.2: headers changed behind the deploy's back, with the same bytes. `check` reported
// some of them and `deploy --verify` uploaded nothing, so `check` failed forever; a Content-Type
// changed with our metadata kept was not even reported. Each row fails on the code before.
const drifts: { name: string; path: string; change: Partial<Stored>; why: RegExp }[] = [
  { name: 'Content-Type changed', path: 'index.html', change: { contentType: 'text/plain' }, why: /Content-Type "text\/plain", the build's "text\/html; charset=utf-8"/ },
  { name: 'Cache-Control changed', path: 'about.html', change: { cacheControl: 'public, max-age=600' }, why: /Cache-Control "public, max-age=600", the build's "no-cache"/ },
  { name: 'stored again without our metadata', path: 'robots.txt', change: { metadata: {} }, why: /stored without collectfasta's metadata/ },
  { name: 'Content-Encoding added', path: 'assets/app-1a2b.js', change: { contentEncoding: 'gzip' }, why: /Content-Encoding "gzip", the build's none/ },
]

describe.each([...s3Storages, gcsStorage])('check and --verify agree on headers, on $name', (storage) => {
  it.each(drifts)('$name (same bytes): check exits 1 naming it, deploy --verify restores it, check then exits 0', async ({ path, change, why }) => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-check-headers-'))
    temp.push(dir)
    writeTree(join(dir, 'dist'), { 'index.html': '<h1>home</h1>', 'about.html': '<h1>about</h1>', 'robots.txt': 'ok', 'assets/app-1a2b.js': 'app()' })
    const prefix = `check-headers-${process.pid}-${Date.now().toString(36)}-${path.length}/`
    const { args, env } = storage.target(prefix)
    const run = (command: string, more: string[] = []) => collectfasta(dir, [command, 'dist', ...args, ...more], env)
    const deployed = await run('deploy')
    expect(deployed.stderr).toBe('')
    expect(deployed.code).toBe(0)
    const key = prefix + path
    expect(Object.keys((await storage.read(key))?.metadata ?? {})).toContain('collectfasta-headers')
    await storage.restore(key, change)

    const drift = await run('check', ['--json'])
    expect(drift.code).toBe(1)
    expect(JSON.parse(drift.stdout)).toMatchObject({ checked: 4, missing: [], changed: [], headers: [key], drift: true })
    const verified = await run('deploy', ['--verify', '--json'])
    expect(verified.code).toBe(0)
    expect(JSON.parse(verified.stdout).plan).toEqual([{ key, action: 'upload', reason: 'headers' }])
    const after = await run('check')
    expect(after.stderr).toBe('')
    expect(after.code).toBe(0)
    const restored = await storage.read(key)
    expect(restored?.metadata).toHaveProperty('collectfasta-headers')
    expect(restored?.contentEncoding ?? undefined).toBeUndefined()
    expect(restored?.cacheControl).toBe(path.endsWith('.html') ? 'no-cache' : path.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=0, must-revalidate')

    // The text names the header and suggests the command that was just shown to repair it.
    await storage.restore(key, change)
    const text = await run('check')
    expect(text.stderr).toMatch(new RegExp(`\\n {2}headers {2}${key.replace(/[./]/g, '\\$&')} \\(${why.source}\\)\\n`))
    expect(text.stderr).toMatch(/Deploy with `--verify` \(or `verify: true`\) to upload these 1 file\(s\) again with the build's bytes and headers\./)
  })
})

it('on Cloud Storage, a Content-Type patched in place (the generation, which the manifest records, is kept): check names it, --verify restores it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'collectfasta-check-patch-'))
  temp.push(dir)
  writeTree(join(dir, 'dist'), { 'index.html': '<h1>home</h1>', 'robots.txt': 'ok' })
  const prefix = `check-patch-${process.pid}-${Date.now().toString(36)}/`
  const { args, env } = gcsStorage.target(prefix)
  const run = (command: string, more: string[] = []) => collectfasta(dir, [command, 'dist', ...args, ...more], env)
  expect((await run('deploy')).code).toBe(0)
  const file = emulatorStorage().bucket(GCS_BUCKET).file(`${prefix}index.html`)
  const [before] = await file.getMetadata()
  await file.setMetadata({ contentType: 'text/plain' })
  const [after] = await file.getMetadata()
  expect([after.contentType, after.generation]).toEqual(['text/plain', before.generation])

  const drift = await run('check', ['--json'])
  expect(drift.code).toBe(1)
  expect(JSON.parse(drift.stdout).headers).toEqual([`${prefix}index.html`])
  // A cold deploy with --verify: the manifest vouches for the bytes, the listing shows the header.
  const verified = await run('deploy', ['--verify', '--json', '--cache-dir', join(dir, 'cold')])
  expect(JSON.parse(verified.stdout).plan).toEqual([{ key: `${prefix}index.html`, action: 'upload', reason: 'headers' }])
  expect((await run('check')).code).toBe(0)
})
