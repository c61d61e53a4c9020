import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { deploy } from '../src/index.js'
import { gcs } from '../src/strategies/gcs.js'
import type { Strategy } from '../src/strategy.js'
import { silent, writeTree } from './helpers.js'
import { type FaultKind, type RecordedRequest, type RecordingProxy, recordingProxy } from './servers/proxy.mjs'
import { S3_BUCKET } from './setup/servers.js'
import { context, uploadFile } from './strategies/contract.js'
import { GCS_BUCKET, emulatorStorage } from './strategies/gcs-emulator.js'
import { AZURE_CONTAINER, AZURITE_KEY } from './strategies/azurite-account.js'
import { countingClient, localS3 } from './strategies/s3-servers.js'
import { s3 } from '../src/strategies/s3.js'

/**
 * Answers that are slow, cut short or wrong, from real servers through the test proxy: each is
 * a failure of its request (retried as errors are), and a deploy fails with a sentence within
 * the bound docs/guarantees.md states. Deadlines are short here (300 ms) to keep the suite fast.
 */

const dirs: string[] = []
const proxies: RecordingProxy[] = []
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  await Promise.all(proxies.map((p) => p.close()))
})

let prefixes = 0
const newPrefix = (name: string) => `answers-${process.pid}-${Date.now().toString(36)}-${++prefixes}-${name}/`

/** A proxy in front of `endpoint` that gives `fault` to the first `times` requests `aimed` picks. */
async function faulty(endpoint: string, fault: FaultKind, aimed: (r: RecordedRequest) => boolean, times = Number.POSITIVE_INFINITY) {
  let given = 0
  const proxy = await recordingProxy(endpoint, { trickleMs: 40, faultFor: (r) => (aimed(r) && given++ < times ? fault : undefined) })
  proxies.push(proxy)
  return proxy
}

const SHORT = { timeout: 300, maxAttempts: 2 }

async function seed(strategy: Strategy, prefix: string, n: number): Promise<string[]> {
  const keys = Array.from({ length: n }, (_, i) => `${prefix}file-${String(i).padStart(3, '0')}.txt`)
  for (const key of keys) await strategy.upload(await uploadFile(key, `content of ${key}`), context())
  return keys
}

async function listed(strategy: Strategy): Promise<string[]> {
  const keys: string[] = []
  for await (const object of strategy.list!(context())) keys.push(object.key)
  return keys.sort()
}

/** How long `promise` takes to settle, and its error (if it rejected). */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error?: Error }> {
  const start = performance.now()
  const error = await promise.then(() => undefined, (e: Error) => e)
  return { ms: performance.now() - start, error }
}

describe('S3: a body trickled from the server', () => {
  it('fails a listing within its deadlines (timeout × attempts), with a sentence', async () => {
    const prefix = newPrefix('trickle-list')
    await seed(localS3(inject('fauxqsEndpoint'), prefix), prefix, 20)
    const proxy = await faulty(inject('fauxqsEndpoint'), 'trickle', (r) => r.kind === 'LIST')
    const { ms, error } = await timed(listed(localS3(proxy.url, prefix, SHORT)))
    expect(error?.message).toMatch(/\[s3\] TimeoutError .*not whole within 300 ms.*`timeout`/)
    expect(ms).toBeLessThan(2 * 300 + 1500)
    expect(proxy.requests.filter((r) => r.kind === 'LIST')).toHaveLength(2)
  })

  it('fails a listing through a user’s own client too, within `maxAttempts` × `timeout`', async () => {
    const prefix = newPrefix('trickle-sdk')
    await seed(localS3(inject('fauxqsEndpoint'), prefix), prefix, 20)
    const proxy = await faulty(inject('fauxqsEndpoint'), 'trickle', (r) => r.kind === 'LIST')
    const { client } = countingClient(proxy.url)
    const { ms, error } = await timed(listed(s3({ bucket: S3_BUCKET, prefix, client, ...SHORT })))
    expect(error?.message).toMatch(/\[s3\] TimeoutError .*did not answer, or did not finish its answer, in time/)
    expect(ms).toBeLessThan(2 * 300 + 1500)
  })

  it('fails a deploy whose manifest GET trickles, within the stated bound', async () => {
    const prefix = newPrefix('trickle-get')
    const direct = localS3(inject('fauxqsEndpoint'), prefix)
    await direct.upload(await uploadFile(`${prefix}.collectfasta/manifest.json`, JSON.stringify({ padding: 'x'.repeat(2000) })), context())
    const proxy = await faulty(inject('fauxqsEndpoint'), 'trickle', (r) => r.kind === 'GET')
    const root = mkdtempSync(join(tmpdir(), 'collectfasta-answers-'))
    dirs.push(root)
    writeTree(join(root, 'dist'), { 'index.html': '<h1>hi</h1>' })
    const { ms, error } = await timed(deploy({ outDir: join(root, 'dist'), root, cacheDir: join(root, 'cache'), strategy: localS3(proxy.url, prefix, SHORT), logger: silent, progress: false }))
    expect(error?.message).toMatch(/TimeoutError .*not whole within 300 ms/)
    expect(ms).toBeLessThan(2 * 300 + 2500)
  })
})

describe('S3: answers believed only when well-formed', () => {
  it.each([
    ['a 200 listing whose body is an <Error> document', 'errorIn200'],
    ['a listing cut short without a length', 'cutShort'],
  ] as const)('%s is retried, never taken as the listing', async (_name, fault) => {
    const prefix = newPrefix(fault)
    const keys = await seed(localS3(inject('fauxqsEndpoint'), prefix), prefix, 12)
    const proxy = await faulty(inject('fauxqsEndpoint'), fault, (r) => r.kind === 'LIST', 1)
    expect(await listed(localS3(proxy.url, prefix, SHORT))).toEqual(keys)
    expect(proxy.requests.filter((r) => r.kind === 'LIST').map((r) => r.fault)).toEqual([fault, undefined])
  })

  it('a listing cut short on every attempt fails with a sentence', async () => {
    const prefix = newPrefix('cut-always')
    await seed(localS3(inject('fauxqsEndpoint'), prefix), prefix, 12)
    const proxy = await faulty(inject('fauxqsEndpoint'), 'cutShort', (r) => r.kind === 'LIST')
    await expect(listed(localS3(proxy.url, prefix, SHORT))).rejects.toThrow(/\[s3\] MalformedAnswer .*not a whole ListBucketResult document/)
  })

  it('DeleteObjects answered 200 with an <Error> document deletes nothing, and says so', async () => {
    const prefix = newPrefix('error-delete')
    const keys = await seed(localS3(inject('fauxqsEndpoint'), prefix), prefix, 6)
    const proxy = await faulty(inject('fauxqsEndpoint'), 'errorIn200', (r) => r.kind === 'DELETE')
    const error = (await localS3(proxy.url, prefix, SHORT).delete!(keys, context()).then(() => undefined, (e: unknown) => e)) as (Error & { deleted?: string[] }) | undefined
    expect(error?.message).toMatch(/\[s3\] InternalError \(HTTP 200\)/)
    expect(error?.deleted).toEqual([])
    expect(proxy.requests.filter((r) => r.kind === 'DELETE')).toHaveLength(2)
    expect(await listed(localS3(inject('fauxqsEndpoint'), prefix))).toEqual(keys)
  })

  it('DeleteObjects counts the keys the server names as deleted', async () => {
    const prefix = newPrefix('delete')
    const keys = await seed(localS3(inject('fauxqsEndpoint'), prefix), prefix, 6)
    await localS3(inject('fauxqsEndpoint'), prefix).delete!(keys, context())
    expect(await listed(localS3(inject('fauxqsEndpoint'), prefix))).toEqual([])
  })
})

describe('GCS: a body trickled from the server', () => {
  const strategy = (endpoint: string, prefix: string) => gcs({ bucket: GCS_BUCKET, prefix, storage: emulatorStorage(endpoint), ...SHORT })

  it('fails a simple upload whose answer trickles, within its deadlines', async () => {
    const prefix = newPrefix('gcs-upload')
    const proxy = await faulty(inject('gcsEndpoint'), 'trickle', (r) => r.kind === 'PUT')
    const { ms, error } = await timed(strategy(proxy.url, prefix).upload(await uploadFile(`${prefix}a.txt`, 'a'), context()))
    expect(error?.message).toMatch(/\[gcs\] .*not whole within \d+ ms/)
    expect(ms).toBeLessThan(2 * 300 + 1500)
  })

  it('fails a listing whose answer trickles, within its deadlines', async () => {
    const prefix = newPrefix('gcs-list')
    await strategy(inject('gcsEndpoint'), prefix).upload(await uploadFile(`${prefix}a.txt`, 'a'), context())
    const proxy = await faulty(inject('gcsEndpoint'), 'trickle', (r) => r.kind === 'LIST')
    const { ms, error } = await timed(listed(strategy(proxy.url, prefix)))
    expect(error?.message).toMatch(/\[gcs\] .*not whole within \d+ ms/)
    expect(ms).toBeLessThan(2 * 300 + 2500)
  })

  it('fails a manifest read whose body trickles, within its deadlines', async () => {
    const prefix = newPrefix('gcs-get')
    await strategy(inject('gcsEndpoint'), prefix).upload(await uploadFile(`${prefix}m.json`, 'x'.repeat(2000)), context())
    const proxy = await faulty(inject('gcsEndpoint'), 'trickle', (r) => r.kind === 'GET')
    const { ms, error } = await timed(strategy(proxy.url, prefix).get!(`${prefix}m.json`, context()))
    expect(error?.message).toMatch(/\[gcs\] .*not whole within \d+ ms/)
    expect(ms).toBeLessThan(2 * 300 + 2500)
  })
})

const CLI = join(fileURLToPath(new URL('..', import.meta.url)), 'dist/cli.js')

/** The built CLI deploying a small site through `endpoint` (s3rver's or Azurite's), its output gathered. */
function cliDeploy(endpoint: string, prefix: string, storage: 's3' | 'azure' = 's3'): ChildProcess & { output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-signals-'))
  dirs.push(root)
  const files: Record<string, string> = { 'index.html': '<h1>signals</h1>' }
  for (let i = 0; i < 40; i++) files[`p/${i}.txt`] = `file ${i}`
  writeTree(join(root, 'dist'), files)
  // No Azure variables of the machine's own: only the test's key.
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AZURE_')))
  const env = { ...base, CI: '1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AZURE_STORAGE_KEY: AZURITE_KEY }
  const to = storage === 's3' ? [`s3://${S3_BUCKET}/${prefix}`, endpoint] : [`azblob://devstoreaccount1/${AZURE_CONTAINER}/${prefix}`, `${endpoint}/devstoreaccount1`]
  const child = spawn(process.execPath, [CLI, 'deploy', 'dist', '--to', to[0] as string, '--endpoint', to[1] as string], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (c) => {
    output += c
  })
  child.stderr?.on('data', (c) => {
    output += c
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  return Object.assign(child, { output: () => output, exited })
}

describe('signals while the storage is slow', () => {
  it.each([
    { name: 'a listing on S3 that trickles', storage: 's3' as const, endpoint: () => inject('fauxqsEndpoint'), aimed: (r: RecordedRequest) => r.kind === 'LIST', fault: 'trickle' as const },
    // Azure: the manifest's HEAD, the first request (every request waits).
    { name: 'an Azure request without an answer', storage: 'azure' as const, endpoint: () => inject('azuriteEndpoint').replace(/\/devstoreaccount1$/, ''), aimed: () => true, fault: 'stall' as const },
  ])('the first SIGTERM stops waiting for $name: the deploy ends at once, with a sentence', async ({ storage, endpoint, aimed, fault }) => {
    let child: ReturnType<typeof cliDeploy> | undefined
    let signalled = 0
    let scheduled = false
    const proxy = await recordingProxy(endpoint(), {
      stallMs: 60_000,
      faultFor: (r) => {
        if (!aimed(r)) return undefined
        if (!scheduled) {
          scheduled = true
          setTimeout(() => {
            signalled = performance.now()
            child?.kill('SIGTERM')
          }, 300)
        }
        return fault
      },
    })
    proxies.push(proxy)
    child = cliDeploy(proxy.url, newPrefix(`${storage}-sigterm`), storage)
    const { code } = await child.exited
    expect(signalled).toBeGreaterThan(0)
    expect(performance.now() - signalled).toBeLessThan(3000)
    expect(code).not.toBe(0)
    expect(child.output()).toMatch(/SIGTERM/)
    expect(child.output()).not.toMatch(/SIGTERM again/)
    expect(proxy.requests.filter((r) => r.kind === 'PUT')).toEqual([])
  })

  it('a second SIGTERM stops at once while an upload is in flight', async () => {
    let child: ReturnType<typeof cliDeploy> | undefined
    let signalled = 0
    const proxy = await recordingProxy(inject('fauxqsEndpoint'), {
      stallMs: 60_000,
      faultFor: (r) => {
        if (r.kind !== 'PUT' || signalled) return undefined
        signalled = performance.now()
        setTimeout(() => child?.kill('SIGTERM'), 200)
        setTimeout(() => child?.kill('SIGTERM'), 600)
        return 'stall'
      },
    })
    proxies.push(proxy)
    child = cliDeploy(proxy.url, newPrefix('sigterm-twice'))
    const { code, signal } = await child.exited
    expect(signalled).toBeGreaterThan(0)
    expect(performance.now() - signalled).toBeLessThan(3000)
    expect(code === 0).toBe(false)
    expect(code ?? signal).not.toBeNull()
    expect(child.output()).toMatch(/SIGTERM again: stopping now/)
  })
})
