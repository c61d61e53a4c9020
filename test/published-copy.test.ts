// publishedCopy: the folder an app publishes instead of its client build (a copy with pages
// written there), found in big projects too, and a word when the search stopped short.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { publishedCopy } from '../src/site/copy.js'

const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

/** A project with a client build in dist/client, and `count` empty folders under `under`. */
function project(under: string[], count: number): string {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-copy-'))
  temp.push(root)
  mkdirSync(join(root, 'dist/client/assets'), { recursive: true })
  writeFileSync(join(root, 'dist/client/index.html'), '<h1>Home</h1>')
  writeFileSync(join(root, 'dist/client/assets/index-abc123.js'), 'console.log(1)\n')
  for (const folder of under) for (let i = 0; i < count; i++) mkdirSync(join(root, folder, `p${i}`), { recursive: true })
  return root
}

/** What Analog's prerender does: the client build copied into dist/analog/public, a page written there. */
function copyWithPage(root: string) {
  cpSync(join(root, 'dist/client'), join(root, 'dist/analog/public'), { recursive: true })
  writeFileSync(join(root, 'dist/analog/public/about.html'), '<h1>About</h1>')
}

describe('publishedCopy in a big project', () => {
  it('finds the copy beside the build however many folders the rest of the project holds', () => {
    // Folders named to come first in any order: the old depth-first walk spent its bound there.
    const root = project(['a-content/posts', 'content/posts'], 2100)
    copyWithPage(root)
    const warnings: string[] = []
    expect(publishedCopy(join(root, 'dist/client'), root, undefined, (m) => warnings.push(m))).toBe(join(root, 'dist/analog/public'))
    expect(warnings).toEqual([])
  })

  it('skips dependencies and caches (.angular, .cache, …) but searches .output', () => {
    const root = project(['.angular/cache', 'node_modules'], 4100)
    const warnings: string[] = []
    // Every folder of the project that is not a cache is searched: no word about a bound.
    expect(publishedCopy(join(root, 'dist/client'), root, undefined, (m) => warnings.push(m))).toBeUndefined()
    cpSync(join(root, 'dist/client'), join(root, '.output/public'), { recursive: true })
    writeFileSync(join(root, '.output/public/about.html'), '<h1>About</h1>')
    expect(publishedCopy(join(root, 'dist/client'), root, undefined, (m) => warnings.push(m))).toBe(join(root, '.output/public'))
    expect(warnings).toEqual([])
  })

  it('says so when its bound stops the search before the whole project is seen', () => {
    const root = project(['content/posts'], 4100)
    const warnings: string[] = []
    expect(publishedCopy(join(root, 'dist/client'), root, undefined, (m) => warnings.push(m))).toBeUndefined()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^\[collectfasta\] Looked for a copy of \S*dist\/client .* in the 4000 folders nearest to it, not in the rest of the project/)
    // A project the bound covers: no word.
    rmSync(join(root, 'content'), { recursive: true })
    const quiet: string[] = []
    expect(publishedCopy(join(root, 'dist/client'), root, undefined, (m) => quiet.push(m))).toBeUndefined()
    expect(quiet).toEqual([])
  })
})
