import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { filesystem } from '../src/strategies/filesystem.js'
import { context } from './strategies/contract.js'

/** What a deploy killed with SIGKILL leaves, and the next run removing it. */

const REPO = fileURLToPath(new URL('..', import.meta.url))
const JITI = join(REPO, 'node_modules/jiti/lib/jiti-cli.mjs')
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'collectfasta-leftovers-'))
  dirs.push(dir)
  return dir
}

/** Runs a TypeScript script of ours in a child process (jiti, as the CLI loads configs). */
function child(dir: string, name: string, code: string): ChildProcess & { done: Promise<number | null> } {
  const script = join(dir, name)
  writeFileSync(script, code.replaceAll('@src/', `${join(REPO, 'src')}/`))
  const proc = spawn(process.execPath, [JITI, script], { stdio: ['ignore', 'ignore', 'inherit'] })
  const done = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return Object.assign(proc, { done })
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`gave up waiting for ${what}`)
}

describe('leftovers of a killed deploy', () => {
  it('a compressed copy of a large file, in a temporary folder of its own: removed by the next run', async () => {
    const dir = workDir()
    const big = join(dir, 'big.txt')
    writeFileSync(big, Buffer.alloc(24 * 1024 * 1024, 'collectfasta compresses this slowly with brotli 11 '))
    // Compresses with brotli 11 (seconds for 24 MiB), then waits: it is killed meanwhile.
    const compressing = (name: string) =>
      child(
        dir,
        name,
        `import { statSync } from 'node:fs'
import { compressToTemp } from '@src/core/large-file.js'
import { loadStreamHasher } from '@src/hash.js'
const hasher = await loadStreamHasher()
const h = hasher(); h.update(new Uint8Array(0))
const source = { file: ${JSON.stringify(big)}, size: statSync(${JSON.stringify(big)}).size, mtimeMs: 0 }
await compressToTemp(source, 'br', 'not-checked', hasher).catch(() => {})
`,
      )
    const ours = (pid: number | undefined) => readdirSync(tmpdir()).filter((name) => name.startsWith(`collectfasta-${pid}-`))
    const killed = compressing('killed.ts')
    await until(() => ours(killed.pid).some((folder) => readdirSync(join(tmpdir(), folder)).length > 0), 'the compressed copy')
    killed.kill('SIGKILL')
    await killed.done
    expect(ours(killed.pid)).toHaveLength(1) // SIGKILL ran no cleanup: the copy is left

    const next = compressing('next.ts')
    expect(await next.done).toBe(0)
    expect(ours(killed.pid)).toEqual([]) // removed by the next run
    expect(ours(next.pid)).toEqual([]) // and a run that exits removes its own
  })

  it('a temporary file of an interrupted write in a directory target: removed by the next listing', async () => {
    const dir = workDir()
    const target = join(dir, 'www')
    // Uploads a large file whose second chunk never comes: the temporary file stays open.
    const writer = child(
      dir,
      'writer.ts',
      `import { filesystem } from '@src/strategies/filesystem.js'
const size = 16 * 1024 * 1024
const strategy = filesystem({ dir: ${JSON.stringify(target)} })
const file = {
  key: 'big.bin', size, body: new Uint8Array(0), xxh64: 'x', md5: () => '', headers: { contentType: 'application/octet-stream' }, headersFingerprint: 'h',
  read: (start: number, end: number) => (start === 0 ? Promise.resolve(new Uint8Array(end - start)) : new Promise<Uint8Array>(() => {})),
}
strategy.upload(file, { signal: new AbortController().signal, count() {} })
setInterval(() => {}, 1000)
`,
    )
    const leftovers = () => (existsSync(target) ? readdirSync(target).filter((name) => name.startsWith('.collectfasta-tmp-')) : [])
    await until(() => leftovers().length === 1, 'the temporary file')
    writer.kill('SIGKILL')
    await writer.done
    // `.collectfasta-tmp-<host>-<pid>-<random>`: another write in progress (a live pid, a fresh file) is left alone.
    const host = leftovers()[0]?.split('-')[2]
    const inFlight = `.collectfasta-tmp-${host}-${process.pid}-abcdef`
    writeFileSync(join(target, inFlight), 'in flight')
    writeFileSync(join(target, 'index.html'), 'live')

    const listed: string[] = []
    for await (const object of filesystem({ dir: target }).list(context())) listed.push(object.key)
    expect(listed).toEqual(['index.html'])
    expect(leftovers()).toEqual([inFlight])
  })
})
