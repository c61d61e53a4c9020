import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { deploy, remove } from '../src/index.js'
import { writeTree } from './helpers.js'
import { type StoredObject, memory } from './strategies/memory.js'

// remove() as the API gives it (the CLI's runs are in test/cli-remove.test.ts).

const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})
const quiet = { info() {}, warn() {} }

async function deployed(objects: Map<string, StoredObject>, prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), 'collectfasta-remove-api-'))
  temp.push(dir)
  writeTree(join(dir, 'dist'), { 'index.html': '<h1>home</h1>', 'assets/app-1a2b.js': 'app()', 'robots.txt': 'ok' })
  await deploy({ outDir: join(dir, 'dist'), strategy: memory({ prefix, objects }), cacheDir: join(dir, 'cache'), logger: quiet })
}

describe('remove()', () => {
  it('stopped half-way by a failed delete, keeps the manifest; run again, it finishes', async () => {
    const objects = new Map<string, StoredObject>()
    await deployed(objects, 'site/')
    const total = objects.size
    const failing = memory({ prefix: 'site/', objects })
    let failed = false
    const del = failing.delete
    failing.delete = async (keys, ctx) => {
      // The first batch (the site's files) is cut short after one key.
      if (!failed) {
        failed = true
        await del.call(failing, keys.slice(0, 1), ctx)
        throw Object.assign(new Error('simulated storage failure (503)'), { deleted: keys.slice(0, 1) })
      }
      return del.call(failing, keys, ctx)
    }
    const error = await remove({ strategy: failing, logger: quiet }).catch((e: unknown) => e as Error & { report?: { deleted: string[] } })
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toBe(`[collectfasta] memory://test/site/: deleted 1 of ${total} object(s), then: simulated storage failure (503). Run remove again to finish.`)
    expect((error as { report?: { deleted: string[] } }).report?.deleted).toHaveLength(1)
    expect(objects.has('site/.collectfasta/manifest.json')).toBe(true)

    const again = await remove({ strategy: memory({ prefix: 'site/', objects }), logger: quiet })
    expect(again.deleted).toHaveLength(total - 1)
    expect(again.deleted.at(-1)).toBe('site/.collectfasta/manifest.json')
    expect([...objects.keys()]).toEqual([])
  })

  it('a declined confirmation deletes nothing; a strategy without delete is refused with a sentence', async () => {
    const objects = new Map<string, StoredObject>()
    await deployed(objects, 'p/')
    const asked: string[][] = []
    const confirm = async (keys: string[]) => {
      asked.push(keys)
      return false
    }
    const report = await remove({ strategy: memory({ prefix: 'p/', objects }), logger: quiet, confirm })
    expect(report).toMatchObject({ declined: true, deleted: [] })
    expect(asked).toHaveLength(1)
    expect(asked[0]?.filter((key) => !key.startsWith('p/.collectfasta/')).sort()).toEqual(['p/assets/app-1a2b.js', 'p/index.html', 'p/robots.txt'])
    expect(asked[0]?.at(-1)).toBe('p/.collectfasta/manifest.json')
    expect(objects.size).toBe(asked[0]?.length)
    const { delete: _, ...noDelete } = memory({ prefix: 'p/', objects })
    await expect(remove({ strategy: noDelete, logger: quiet })).rejects.toThrow('[collectfasta] `remove` needs a strategy that can get, list and delete, and memory lacks delete.')
  })
})
