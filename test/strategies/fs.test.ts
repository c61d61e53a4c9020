import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
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
