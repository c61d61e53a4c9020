import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { jsonUpload } from '../src/core/deploy-manifest.js'
import { jsonBytes, jsonPieces, writeJson } from '../src/core/json-bytes.js'
import { pathRecord } from '../src/paths.js'

/** A manifest-like document with what JSON.stringify treats specially, big enough to be written in pieces. */
function sample(files: number): unknown {
  const record = pathRecord<unknown>()
  // Names an ordinary assignment would not make own properties.
  const own = (name: string, value: unknown) => Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true })
  own('__proto__', { xxh64: 'a', headers: 'h', size: 0, md5: '', version: '' })
  own('constructor', { xxh64: 'b', headers: 'h', size: 1, md5: '', version: 'v' })
  record['10'] = { xxh64: 'integer-like keys come first', headers: '', size: 2, md5: '', version: '' }
  for (let i = 0; i < files; i++) record[`static/${i % 7}/fïle-${i}-😀.txt`] = { xxh64: i.toString(16), headers: 'h', size: i, md5: i % 2 ? 'm' : '', version: i % 3 ? 'v' : '' }
  const paths = Object.keys(record)
  return {
    format: 1,
    tool: 'vite-plugin-collectfasta',
    deploys: [{ at: '2026-12-07T00:00:00.000Z', paths, site: undefined, partial: true, when: new Date(0) }],
    files: record,
    pending: undefined,
    odd: [undefined, () => 1, Symbol('s'), Number.NaN, -0, Number.POSITIVE_INFINITY, 'lone \ud800 surrogate', 'quote " and \\ and \n', null, [], {}],
    many: Array.from({ length: 200 }, (_, i) => (i % 5 === 0 ? undefined : i % 3 === 0 ? [i, { i }] : `${i}`)),
    hook: { toJSON: () => ({ replaced: [1, 2, 3] }) },
  }
}

describe('JSON written a piece at a time', () => {
  it('gives the bytes of JSON.stringify, for small and large documents', () => {
    for (const files of [0, 10, 63, 64, 1000]) {
      const value = sample(files)
      const expected = JSON.stringify(value)
      expect([...jsonPieces(value)].length, `${files} files`).toBeGreaterThan(files >= 64 ? files : 0)
      expect(jsonBytes(value).toString('utf8'), `${files} files`).toBe(expected)
      expect(jsonBytes(value, '\n').equals(Buffer.from(`${expected}\n`)), `${files} files, with an end`).toBe(true)
    }
  })

  it('writes the same bytes to a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-json-'))
    const value = sample(20_000) // more than one batch
    const file = join(dir, 'out.json')
    const fd = openSync(file, 'w')
    writeJson(fd, value)
    closeSync(fd)
    expect(readFileSync(file).equals(Buffer.from(JSON.stringify(value)))).toBe(true)
  })

  it('makes an upload of the bytes the earlier versions wrote', async () => {
    const value = sample(500)
    const file = await jsonUpload('k', value)
    expect(Buffer.from(file.body).equals(Buffer.from(`${JSON.stringify(value)}\n`))).toBe(true)
    expect(file.size).toBe(Buffer.byteLength(`${JSON.stringify(value)}\n`))
  })
})
