// Every default is written once, in DEFAULTS: the JSDoc `@default` of each option and the
// Default column of docs/options.md must say the same.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../src/defaults.js'

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), 'utf8')

/** `name` → the `@default` text of its JSDoc, for every documented field of a source file. */
function jsdocDefaults(source: string): Map<string, string> {
  const found = new Map<string, string>()
  for (const match of source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*?)@default ([^\n]*?)\s*(?:\*\/)?\n(?:\s*\*\/\n)?\s*(\w+)\?:/g)) {
    found.set(match[3] as string, (match[2] as string).trim())
  }
  return found
}

/** `name` → the Default column of docs/options.md's tables. */
function docsDefaults(): Map<string, string> {
  const found = new Map<string, string>()
  for (const match of read('docs/options.md').matchAll(/^\| `(\w+)` \| [^|]*(?:\\\|[^|]*)* \| ([^|]+) \|/gm)) found.set(match[1] as string, (match[2] as string).trim())
  return found
}

/** How a default is written in the docs and the JSDoc. */
const written = (value: unknown) => (typeof value === 'string' ? `'${value}'` : String(value))

/** Top-level DEFAULTS that are plain values (objects are checked field by field below). */
const plain = Object.entries(DEFAULTS).filter(([, value]) => typeof value !== 'object')

describe('every default is written once (DEFAULTS)', () => {
  const jsdoc = new Map([...jsdocDefaults(read('src/options.ts')), ...jsdocDefaults(read('src/core/compress.ts'))])
  const docs = docsDefaults()

  it('reads the JSDoc and the docs tables', () => {
    expect(jsdoc.size).toBeGreaterThan(20)
    expect(docs.size).toBeGreaterThan(20)
    expect(plain.length).toBeGreaterThan(10)
  })

  it('the JSDoc @default of every option in DEFAULTS is its value', () => {
    const checked = plain.filter(([name]) => jsdoc.has(name) && name !== 'concurrency')
    expect(checked.length).toBeGreaterThan(10)
    for (const [name, value] of checked) expect(jsdoc.get(name), name).toBe(written(value))
    for (const name of ['keepDeploys', 'maxDeletes', 'unknown', 'minShare'] as const) expect(jsdoc.get(name), name).toBe(written(DEFAULTS.prune[name]))
    for (const name of ['gzip', 'minSize'] as const) expect(jsdoc.get(name), name).toBe(written(DEFAULTS.compress[name]))
    expect(jsdoc.get('concurrency')).toBe(`strategy's suggestion, else ${DEFAULTS.concurrency}`)
    expect(jsdoc.get('brotli')).toBe(`${DEFAULTS.compress.brotli.siblings} for siblings; ${DEFAULTS.compress.brotli.inPlace} in place`)
  })

  it("docs/options.md's Default column of every option in DEFAULTS is its value", () => {
    const checked = plain.filter(([name]) => docs.has(name) && name !== 'concurrency')
    expect(checked.length).toBeGreaterThan(10)
    for (const [name, value] of checked) expect(docs.get(name), name).toBe(`\`${written(value)}\``)
    expect(docs.get('concurrency')).toContain(`\`${DEFAULTS.concurrency}\``)
  })
})
