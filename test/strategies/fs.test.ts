import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { foldPath } from '../../src/paths.js'
import { filesystem } from '../../src/strategies/filesystem.js'
import { context, runContract, uploadFile } from './contract.js'

const root = mkdtempSync(join(tmpdir(), 'collectfasta-fs-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

runContract({
  name: 'filesystem',
  create: (prefix) => filesystem({ dir: root, prefix }),
  storesHeaders: false,
  honoursConditions: true,
  async readBack(_strategy, key) {
    const path = join(root, key)
    return existsSync(path) ? { bytes: new Uint8Array(readFileSync(path)) } : undefined
  },
})

describe('filesystem strategy', () => {
  it('requires `dir`', () => {
    expect(() => filesystem({} as never)).toThrow(/Missing required option `dir`/)
  })

  it('refuses keys that would escape the directory', async () => {
    const strategy = filesystem({ dir: join(root, 'jail') })
    await expect(strategy.upload(await uploadFile('../outside.txt', 'x'), context())).rejects.toThrow(
      /outside .*jail/,
    )
    expect(existsSync(join(root, 'outside.txt'))).toBe(false)
  })

  it('refuses prefixes that are not plain paths', () => {
    expect(() => filesystem({ dir: root, prefix: '../up' })).toThrow(/not a plain path/)
    expect(() => filesystem({ dir: root, prefix: '/' })).toThrow(/names no folder/)
    expect(filesystem({ dir: root, prefix: '/static' }).prefix).toBe('static/')
  })

  it('leaves no temporary file behind', async () => {
    const dir = join(root, 'atomic')
    const strategy = filesystem({ dir })
    await strategy.upload(await uploadFile('a/b.txt', 'b'), context())
    expect(readdirSync(join(dir, 'a'))).toEqual(['b.txt'])
  })
})

describe('filesystem strategy: keys that alias another file, links inside the directory', () => {
  const fresh = (name: string) => {
    const dir = join(root, name)
    mkdirSync(dir, { recursive: true })
    return { dir, strategy: filesystem({ dir }) }
  }

  it('refuses a key ending in / (it would be the file without it): a delete of `index.html/` keeps index.html', async () => {
    const { dir, strategy } = fresh('trailing-slash')
    await strategy.upload(await uploadFile('index.html', '<h1>live</h1>'), context())
    await expect(strategy.delete(['index.html/'], context())).rejects.toThrow(/ends in '\/'/)
    await expect(strategy.upload(await uploadFile('index.html/', 'x'), context())).rejects.toThrow(/ends in '\/'/)
    await expect(strategy.get('index.html/', context())).rejects.toThrow(/ends in '\/'/)
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toBe('<h1>live</h1>')
  })

  it("refuses ':' and segments ending in a dot or a space (aliases on Windows)", async () => {
    const { dir, strategy } = fresh('windows-aliases')
    for (const key of ['a.html:stream', 'page.html.', 'page.html ', 'dir./x.txt']) {
      await expect(strategy.upload(await uploadFile(key, 'x'), context()), key).rejects.toThrow(/\[fs\] Refusing the key/)
    }
    expect(readdirSync(dir)).toEqual([])
  })

  it('never follows a link to a device: a manifest linked to /dev/zero is refused, not read forever', async () => {
    const { dir, strategy } = fresh('link-to-device')
    mkdirSync(join(dir, '.collectfasta'))
    symlinkSync('/dev/zero', join(dir, '.collectfasta/manifest.json'))
    await expect(strategy.get('.collectfasta/manifest.json', context())).rejects.toThrow(/is a symbolic link/)
    await expect(strategy.stat('.collectfasta/manifest.json', context())).rejects.toThrow(/is a symbolic link/)
  })

  it('never follows a link to a secret: its bytes are not read, so no error can show them', async () => {
    const { dir, strategy } = fresh('link-to-secret')
    const secret = join(root, 'secret.txt')
    writeFileSync(secret, 'AKIA-TOP-SECRET')
    symlinkSync(secret, join(dir, 'manifest.json'))
    const failure = await strategy.get('manifest.json', context()).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(failure?.message).toMatch(/symbolic link/)
    expect(failure?.message).not.toContain('AKIA')
  })

  it('never writes, reads or deletes through a linked folder', async () => {
    const { dir, strategy } = fresh('linked-folder')
    const elsewhere = mkdtempSync(join(tmpdir(), 'collectfasta-elsewhere-'))
    writeFileSync(join(elsewhere, 'keep.txt'), 'keep')
    symlinkSync(elsewhere, join(dir, 'sub'))
    try {
      await expect(strategy.upload(await uploadFile('sub/new.txt', 'x'), context())).rejects.toThrow(/folder sub is a symbolic link/)
      await expect(strategy.upload(await uploadFile('sub/deeper/new.txt', 'x'), context())).rejects.toThrow(/folder sub is a symbolic link/)
      await expect(strategy.get('sub/keep.txt', context())).rejects.toThrow(/symbolic link/)
      await expect(strategy.delete(['sub/keep.txt'], context())).rejects.toThrow(/symbolic link/)
      expect(readdirSync(elsewhere)).toEqual(['keep.txt'])
      const listed: string[] = []
      for await (const object of strategy.list(context())) listed.push(object.key)
      expect(listed).toEqual([])
    } finally {
      rmSync(elsewhere, { recursive: true, force: true })
    }
  })

  it('a directory that is itself a link is fine (only links inside it are refused)', async () => {
    const { dir } = fresh('real-root')
    const linked = join(root, 'root-link')
    symlinkSync(dir, linked)
    const strategy = filesystem({ dir: linked })
    await strategy.upload(await uploadFile('a/b.txt', 'b'), context())
    expect(new TextDecoder().decode(await strategy.get('a/b.txt', context()))).toBe('b')
  })

  it('says whether the directory ignores case, as an independent probe finds', () => {
    const { dir, strategy } = fresh('case-probe')
    writeFileSync(join(dir, 'probe-lower.txt'), '')
    expect(strategy.caseInsensitive).toBe(existsSync(join(dir, 'PROBE-LOWER.txt')))
    expect(readdirSync(dir)).toEqual(['probe-lower.txt']) // the probe leaves nothing behind
    expect(filesystem({ dir: join(root, 'not-yet') }).caseInsensitive).toBe(false)
    // A directory with no name to tell by: a probe file, removed at once.
    const digits = join(root, '12345')
    mkdirSync(digits)
    expect(filesystem({ dir: digits }).caseInsensitive).toBe(existsSync(join(dir, 'PROBE-LOWER.txt')))
    expect(readdirSync(digits)).toEqual([])
  })
})

describe('foldPath', () => {
  it('folds case and Unicode normalisation, nothing else', () => {
    expect(foldPath('About/Caf\u0065\u0301.HTML')).toBe(foldPath('about/caf\u00e9.html'))
    expect(foldPath('a/b.html')).not.toBe(foldPath('a/b.htm'))
  })
})
