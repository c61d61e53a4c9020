import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SRC = join(ROOT, 'src')
const TRACER = join(ROOT, 'test/fixtures/trace-loads.mjs')

/** Every static import and re-export of every file in src, type-only ones included. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
  for (const file of files) {
    const text = readFileSync(join(SRC, file), 'utf8')
    const targets = [...text.matchAll(/^(?:import|export)\b[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gms)].map((m) =>
      relative(SRC, resolve(dirname(join(SRC, file)), (m[1] as string).replace(/\.js$/, '.ts'))),
    )
    graph.set(file, targets)
  }
  return graph
}

function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (node: string) => {
    state.set(node, 'open')
    path.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next])
      else if (!state.has(next)) visit(next)
    }
    path.pop()
    state.set(node, 'done')
  }
  for (const node of graph.keys()) if (!state.has(node)) visit(node)
  return cycles
}

describe('the layout of src', () => {
  const graph = importGraph()

  it('reads the imports of every file', () => {
    expect(graph.size).toBeGreaterThan(15)
    expect(graph.get('core/deploy.ts')).toContain('core/plan.ts')
  })

  it('has no import cycle, type-only imports included', () => {
    expect(findCycles(graph)).toEqual([])
  })

  it('the cycle finder finds a cycle', () => {
    expect(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual([['a', 'b', 'c', 'a']])
  })

  it('strategies import only the ground modules and each other’s utils', () => {
    const allowed = new Set(['strategy.ts', 'paths.ts', 'pool.ts', 'defaults.ts', 'hash.ts', 'strategies/utils.ts', 'strategies/s3-errors.ts', 'strategies/s3-options.ts', 'strategies/s3-api.ts', 'strategies/s3-config.ts', 'strategies/s3-list.ts', 'strategies/s3-sdk.ts', 'strategies/s3-transport.ts', 'strategies/s3-xml.ts', 'strategies/gcs-sdk.ts', 'strategies/gcs-transport.ts', 'strategies/azure-api.ts', 'strategies/azure-auth.ts', 'strategies/azure-options.ts', 'strategies/azure-sdk.ts', 'strategies/azure-transport.ts', 'strategies/undici.ts', 'strategies/directory.ts', 'process.ts', 'redact.ts'])
    const strategies = [...graph.keys()].filter((f) => f.startsWith('strategies/'))
    expect(strategies.length).toBeGreaterThanOrEqual(4)
    for (const file of strategies) expect(graph.get(file)?.filter((t) => !allowed.has(t)), file).toEqual([])
  })

  it('no phase imports the pipeline back', () => {
    const importers = [...graph].filter(([file, targets]) => file.startsWith('core/') && targets.includes('core/deploy.ts'))
    expect(importers).toEqual([])
  })

  it('ground modules (options, defaults, strategy, paths, report) and the site layout import nothing from core/', () => {
    const ground = ['options.ts', 'defaults.ts', 'strategy.ts', 'paths.ts', 'report.ts', 'site/layout.ts']
    for (const file of ground) expect(graph.has(file), file).toBe(true)
    for (const file of ground) expect(graph.get(file)?.filter((t) => t.startsWith('core/')), file).toEqual([])
  })

  it('doors reach the core through deploy() (and check()) and the site model only', () => {
    const doors = [...graph.keys()].filter((f) => f === 'plugin.ts' || f === 'published.ts' || f.startsWith('cli/') || f.startsWith('frameworks/'))
    expect(doors.length).toBeGreaterThan(6)
    const allowed = new Set(['core/deploy.ts', 'core/check.ts', 'core/headers.ts'])
    for (const file of doors) expect(graph.get(file)?.filter((t) => t.startsWith('core/') && !allowed.has(t)), file).toEqual([])
  })

  it('the site model imports no door, and no core phase but the page and redirect helpers', () => {
    const site = [...graph.keys()].filter((f) => f.startsWith('site/'))
    expect(site.length).toBeGreaterThanOrEqual(6)
    const allowed = new Set(['core/headers.ts', 'core/redirects.ts'])
    for (const file of site) {
      expect(graph.get(file)?.filter((t) => (t.startsWith('core/') && !allowed.has(t)) || t === 'plugin.ts' || t.startsWith('cli/') || t.startsWith('frameworks/')), file).toEqual([])
    }
  })

  it('no function of the plugin (plugin.ts and the site model it asks, src/site/) is over 80 lines', () => {
    const files = ['plugin.ts', ...readdirSync(join(SRC, 'site')).map((name) => `site/${name}`)]
    expect(files.length).toBeGreaterThan(1)
    // A function starts at a line ending in `{` that opens it (function, method, arrow) and ends at the line closing it at its indent.
    const long: string[] = []
    for (const file of files) {
      const lines = readFileSync(join(SRC, file), 'utf8').split('\n')
      lines.forEach((line, start) => {
        if (!/(?:function\b.*|=>|\)(?::[^{]*)?)\s*\{$/.test(line)) return
        const indent = line.length - line.trimStart().length
        const end = lines.findIndex((l, i) => i > start && l.length - l.trimStart().length === indent && /^\s*\}/.test(l))
        if (end - start > 80) long.push(`${file}:${start + 1}: ${line.trim()}`)
      })
    }
    expect(long).toEqual([])
  })

  it('no file is much over 300 lines', () => {
    const long = [...graph.keys()].filter((f) => readFileSync(join(SRC, f), 'utf8').split('\n').length > 320)
    expect(long).toEqual([])
  })
})

describe('the published strategy entries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'collectfasta-trace-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** What a fresh Node process loads when it imports `entry` from dist/. */
  function loads(entry: string): { modules: string[]; builtins: string[] } {
    const traceFile = join(dir, `${entry.replaceAll('/', '_')}.txt`)
    const script = `await import(${JSON.stringify(join(ROOT, 'dist', entry))}); console.log(JSON.stringify(process.moduleLoadList))`
    const out = execFileSync(process.execPath, ['--import', TRACER, '--input-type=module', '-e', script], {
      env: { ...process.env, TRACE_FILE: traceFile },
      encoding: 'utf8',
    })
    return { modules: readFileSync(traceFile, 'utf8').trim().split('\n'), builtins: JSON.parse(out) }
  }

  it.each(['strategies/s3.js', 'strategies/gcs.js', 'strategies/filesystem.js'])('%s loads none of the core’s dependencies', (entry) => {
    const { modules, builtins } = loads(entry)
    expect(modules.some((m) => m.endsWith(entry))).toBe(true)
    const heavy = modules.filter((m) => /picomatch|mrmime|xxhash-wasm|\/dist\/core\//.test(m))
    expect(heavy).toEqual([])
    expect(builtins.filter((b) => /^NativeModule zlib$/.test(b))).toEqual([])
  })

  it('the main entry does load them (the check can fail)', () => {
    const { modules, builtins } = loads('index.js')
    expect(modules.filter((m) => /picomatch|mrmime/.test(m)).length).toBeGreaterThan(0)
    expect(builtins).toContain('NativeModule zlib')
  })
})
