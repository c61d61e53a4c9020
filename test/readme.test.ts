// The README's code blocks, kept honest: a user pastes them. Every ```yaml block parses, and one
// that looks like a workflow (it has `jobs:`) runs as pasted: `on:`, `jobs:`, each job with its
// runner and steps. Every ```ts block type-checks against the package's source, all of them in
// one TypeScript program (a file per block in test/.work/readme/, 'vite-plugin-collectfasta'
// mapped to src/ by the paths of tsconfig.json).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

interface Block {
  lang: string
  /** The README line of the block's first code line (1-based). */
  line: number
  code: string
}

/** Fenced code blocks: the fence's first word is the language. */
function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i] ?? '')
    if (!open) continue
    const [, indent = '', fence = '', lang = ''] = open
    const end = lines.findIndex((line, j) => j > i && line.trim().startsWith(fence) && line.trim().replaceAll(fence[0] ?? '`', '') === '')
    const stop = end === -1 ? lines.length : end
    blocks.push({ lang, line: i + 2, code: lines.slice(i + 1, stop).map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line)).join('\n') })
    i = stop
  }
  return blocks
}

const blocks = codeBlocks(README)

/** Types the package exports (its index), by name. */
const exportedTypes = new Set(
  [...readFileSync(join(ROOT, 'src/index.ts'), 'utf8').matchAll(/\bexport\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap(([, names = '']) =>
    names.split(',').map((name) => name.replace(/^\s*type\s+/, '').split(/\s+as\s+/).at(-1)?.trim() ?? ''),
  ),
)

/**
 * A block that describes one of the package's types as an `interface` (the report) must say what
 * the package declares: the same fields, each assignable both ways. Appended to the block's file,
 * not to the README.
 */
function sameAsPackage(code: string): string {
  return [...code.matchAll(/^interface (\w+)/gm)]
    .map(([, name = '']) => name)
    .filter((name) => exportedTypes.has(name))
    .map(
      (name) =>
        `import type { ${name} as Package${name} } from 'vite-plugin-collectfasta'\n` +
        // A field missing on either side shows by name in the error.
        `const fields${name}: { missingInReadme: never; notInPackage: never } = {} as { missingInReadme: Exclude<keyof Package${name}, keyof ${name}>; notInPackage: Exclude<keyof ${name}, keyof Package${name}> }\n` +
        `const toPackage${name} = (r: ${name}): Package${name} => r\n` +
        `const fromPackage${name} = (r: Package${name}): ${name} => r\n` +
        `void [fields${name}, toPackage${name}, fromPackage${name}]\n`,
    )
    .join('')
}

describe('README yaml blocks', () => {
  const yamlBlocks = blocks.filter((b) => b.lang === 'yaml' || b.lang === 'yml')
  const workflows = yamlBlocks.filter((b) => /^jobs:/m.test(b.code))

  it('the README has workflows to check', () => {
    expect(workflows.length).toBeGreaterThan(0)
  })

  it('every yaml block parses', () => {
    for (const block of yamlBlocks) {
      const doc = parseDocument(block.code)
      expect({ line: block.line, errors: doc.errors.map((e) => e.message) }).toEqual({ line: block.line, errors: [] })
    }
  })

  it('every workflow has `on:` and `jobs:`, and each job a runner and steps that each run or use something', () => {
    for (const block of workflows) {
      const workflow = parseDocument(block.code).toJS() as Record<string, unknown>
      const where = `README.md:${block.line}`
      expect(workflow, where).toHaveProperty('on')
      expect(workflow.on, where).toBeTruthy()
      const jobs = Object.entries((workflow.jobs ?? {}) as Record<string, { 'runs-on'?: unknown; uses?: string; steps?: Record<string, unknown>[] }>)
      expect(jobs.length, where).toBeGreaterThan(0)
      for (const [name, job] of jobs) {
        if (job.uses) continue // a reusable workflow
        expect(job['runs-on'], `${where} job ${name}`).toBeTruthy()
        expect(Array.isArray(job.steps) && job.steps.length > 0, `${where} job ${name} has steps`).toBe(true)
        for (const step of job.steps ?? []) expect(typeof step.run === 'string' || typeof step.uses === 'string', `${where} job ${name}: ${JSON.stringify(step)}`).toBe(true)
      }
    }
  })

  it('the check above refuses a workflow without `on:`', () => {
    const [block] = codeBlocks('```yaml\njobs:\n  a:\n    runs-on: x\n    steps: [{ run: echo }]\n```\n')
    expect(block?.lang).toBe('yaml')
    expect(parseDocument(block?.code ?? '').toJS()).not.toHaveProperty('on')
  })
})

describe('README ts blocks', () => {
  const tsBlocks = blocks.filter((b) => b.lang === 'ts' || b.lang === 'typescript')

  it('type-check against the package (one program for every block)', { timeout: 120_000 }, () => {
    expect(tsBlocks.length).toBeGreaterThan(0)
    const work = join(ROOT, 'test/.work/readme')
    rmSync(work, { recursive: true, force: true })
    mkdirSync(work, { recursive: true })
    // Packages a block imports that this repository does not install (a framework's own config
    // helpers): declared as untyped modules, so what is checked is the use of this package.
    const require = createRequire(join(ROOT, 'package.json'))
    const missing = new Set<string>()
    const files = tsBlocks.map((block) => {
      for (const [, spec = ''] of block.code.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)) {
        if (spec.startsWith('.') || spec.startsWith('node:') || spec.startsWith('vite-plugin-collectfasta')) continue
        try {
          require.resolve(spec)
        } catch {
          missing.add(spec)
        }
      }
      const file = join(work, `readme-line-${block.line}.ts`)
      // `export {}` keeps each block a module of its own: names never clash across blocks.
      writeFileSync(file, `${block.code}\nexport {}\n${sameAsPackage(block.code)}`)
      return { file, block }
    })
    writeFileSync(join(work, 'not-installed.d.ts'), [...missing].map((spec) => `declare module '${spec}'\n`).join(''))
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({ extends: '../../../tsconfig.json', compilerOptions: { noEmit: true }, include: ['*.ts'], exclude: [] }, null, 2),
    )

    const config = ts.getParsedCommandLineOfConfigFile(join(work, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => expect.fail(String(d.messageText)) })
    expect((config?.errors ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([])
    const program = ts.createProgram({ rootNames: config?.fileNames ?? [], options: config?.options ?? {} })
    const byFile = new Map(files.map(({ file, block }) => [file, block]))
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n')
      const block = d.file && byFile.get(d.file.fileName)
      if (!d.file || d.start === undefined) return text
      const { line } = d.file.getLineAndCharacterOfPosition(d.start)
      // Where the reader finds it: the README's line, or the source file's.
      return block ? `README.md:${block.line + line}: ${text}` : `${d.file.fileName}:${line + 1}: ${text}`
    })
    expect(files.every(({ file }) => program.getSourceFile(file) !== undefined)).toBe(true)
    expect(problems).toEqual([])
  })
})
