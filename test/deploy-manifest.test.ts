import { describe, expect, it } from 'vitest'
import { parseManifest } from '../src/core/deploy-manifest.js'

const file = (i: number) => ({ xxh64: i.toString(16).padStart(16, '0'), headers: 'f00d', size: i, md5: '', version: `"${i}"` })

describe('parseManifest (a file from a bucket others can write)', () => {
  it('reads 100,000 entries (the time is measured by npm run bench, not asserted here)', () => {
    const files: Record<string, ReturnType<typeof file>> = {}
    const paths: string[] = []
    for (let i = 0; i < 100_000; i++) {
      files[`assets/chunk-${i}.js`] = file(i)
      paths.push(`assets/chunk-${i}.js`)
    }
    const bytes = Buffer.from(JSON.stringify({ format: 1, tool: 'vite-plugin-collectfasta', deploys: [{ at: 'now', paths, site: 's' }], files }))
    const manifest = parseManifest(bytes)
    expect(Object.keys(manifest.files)).toHaveLength(100_000)
    expect(manifest.deploys[0]?.paths).toHaveLength(100_000)
  })

  it.each([
    [{ format: 1, tool: 'vite-plugin-collectfasta', deploys: [null], files: {} }, /schema at deploys\.0/],
    [{ format: 1, tool: 'vite-plugin-collectfasta', deploys: [{ at: 'x', paths: 'abc' }], files: {} }, /schema at deploys\.0\.paths/],
    [{ format: 1, tool: 'vite-plugin-collectfasta', deploys: [], files: { 'a.js': { xxh64: 1 } } }, /schema at files\.a\.js/],
    [{ format: 1, tool: 'vite-plugin-collectfasta', deploys: [], files: { 'a.js': { ...file(1), size: -1 } } }, /schema at files\.a\.js\.size/],
    [{ format: 2, tool: 'vite-plugin-collectfasta', deploys: [], files: {} }, /format 2, written by a later version of vite-plugin-collectfasta \(this one reads 1\)/],
    [{ format: 1, tool: 'something-else', deploys: [], files: {} }, /not written by vite-plugin-collectfasta/],
    ['[1, 2', /JSON|position/],
  ])('refuses %j', (data, message) => {
    expect(() => parseManifest(Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)))).toThrow(message)
  })

  it('drops paths that are not plain relative paths, and says how many', () => {
    const warnings: string[] = []
    const manifest = parseManifest(
      Buffer.from(
        JSON.stringify({
          format: 1,
          tool: 'vite-plugin-collectfasta',
          deploys: [{ at: 'x', paths: ['ok.js', '../up.js', '/abs.js', 'a//b.js'] }],
          files: { 'ok.js': file(1), '../up.js': file(2) },
        }),
      ),
      (m) => void warnings.push(m),
    )
    expect(manifest.deploys[0]?.paths).toEqual(['ok.js'])
    expect(Object.keys(manifest.files)).toEqual(['ok.js'])
    expect(warnings).toEqual(['[collectfasta] Ignored 4 path(s) in the deploy manifest that are not plain relative paths.'])
  })
})

describe('paths named like Object.prototype members', () => {
  it('are plain keys of the manifest’s files', () => {
    const text = `{"format":1,"tool":"vite-plugin-collectfasta","deploys":[],"files":{"__proto__":${JSON.stringify(file(1))},"constructor":${JSON.stringify(file(2))}}}`
    const manifest = parseManifest(Buffer.from(text))
    expect(Object.keys(manifest.files).sort()).toEqual(['__proto__', 'constructor'])
    expect(manifest.files['constructor' as string]?.size).toBe(2)
    expect(Object.hasOwn(manifest.files, 'toString')).toBe(false)
    expect(manifest.files.toString).toBeUndefined()
  })
})
