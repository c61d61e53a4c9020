// The README's and docs/'s code blocks, kept honest: a user pastes them. Every ```yaml block
// parses, and one that looks like a workflow (it has `jobs:`) runs as pasted: `on:`, `jobs:`,
// each job with its runner and steps. Every ```json block parses. Every ```ts block type-checks
// against the package's source, all of them in one TypeScript program (a file per block in
// test/.work/readme/, 'vite-plugin-collectfasta' mapped to src/ by the paths of tsconfig.json).
// Every relative link points to a file that exists (and a heading, where it names one), and
// every option the package declares is documented.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The Markdown a user reads: the README and every page of docs/, by path from the root. */
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const TEXT = new Map(PAGES.map((page) => [page, readFileSync(join(ROOT, page), 'utf8')]))

interface Block {
  lang: string
  /** The page's line of the block's first code line (1-based). */
  line: number
  code: string
  /** The page it is in, e.g. `docs/options.md` (set by `allBlocks`). */
  page?: string
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

const blocks = PAGES.flatMap((page) => codeBlocks(TEXT.get(page) ?? '').map((block) => ({ ...block, page })))
/** Where a reader finds a block's line: `docs/options.md:120`. */
const at = (block: Block, offset = 0) => `${block.page ?? 'README.md'}:${block.line + offset}`

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

describe('yaml and json blocks of the README and docs/', () => {
  const yamlBlocks = blocks.filter((b) => b.lang === 'yaml' || b.lang === 'yml')
  const workflows = yamlBlocks.filter((b) => /^jobs:/m.test(b.code))

  it('reads the README and the pages of docs/', () => {
    expect(PAGES).toContain('README.md')
    expect(PAGES.filter((page) => page.startsWith('docs/')).length).toBeGreaterThan(5)
  })

  it('the README has workflows to check, and a GitLab CI file', () => {
    expect(workflows.filter((b) => b.page === 'README.md').length).toBeGreaterThan(0)
    expect(yamlBlocks.some((b) => b.page === 'README.md' && /^\s+script:/m.test(b.code))).toBe(true)
  })

  it('every yaml block parses', () => {
    expect(yamlBlocks.length).toBeGreaterThan(0)
    for (const block of yamlBlocks) {
      const doc = parseDocument(block.code)
      expect({ at: at(block), errors: doc.errors.map((e) => e.message) }).toEqual({ at: at(block), errors: [] })
    }
  })

  it('every json block parses', () => {
    const jsonBlocks = blocks.filter((b) => b.lang === 'json')
    expect(jsonBlocks.length).toBeGreaterThan(0)
    for (const block of jsonBlocks) {
      let error = ''
      try {
        JSON.parse(block.code)
      } catch (e) {
        error = String(e)
      }
      expect({ at: at(block), error }).toEqual({ at: at(block), error: '' })
    }
  })

  it('every workflow has `on:` and `jobs:`, and each job a runner and steps that each run or use something', () => {
    for (const block of workflows) {
      const workflow = parseDocument(block.code).toJS() as Record<string, unknown>
      const where = at(block)
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

  it('the preview recipe deploys a pull request on every push to it and removes the same prefix when it closes', () => {
    const preview = workflows.find((b) => b.page === 'README.md' && /collectfasta remove/.test(b.code))
    expect(preview, 'a README workflow runs collectfasta remove').toBeDefined()
    type Job = { if?: string; steps: { run?: string }[] }
    const workflow = parseDocument(preview?.code ?? '').toJS() as { on: { pull_request: { types: string[] } }; jobs: Record<string, Job> }
    expect(workflow.on.pull_request.types).toEqual(expect.arrayContaining(['opened', 'synchronize', 'closed']))
    const runs = (job: Job | undefined) => (job?.steps ?? []).map((step) => step.run ?? '').join('\n')
    const target = (job: Job | undefined, command: string) => new RegExp(`collectfasta ${command} .*--to (s3://[^ ]+/pr-\\$\\{\\{ github\\.event\\.pull_request\\.number \\}\\}/)`).exec(runs(job))?.[1]
    const { deploy, remove } = workflow.jobs
    expect(deploy?.if).toBe("github.event.action != 'closed'")
    expect(remove?.if).toBe("github.event.action == 'closed'")
    expect(target(deploy, 'deploy')).toBeTruthy()
    expect(target(remove, 'remove')).toBe(target(deploy, 'deploy'))
    // No terminal in CI: remove needs --yes there.
    expect(runs(remove)).toMatch(/collectfasta remove .* --yes$/m)
  })

  it('the check above refuses a workflow without `on:`', () => {
    const [block] = codeBlocks('```yaml\njobs:\n  a:\n    runs-on: x\n    steps: [{ run: echo }]\n```\n')
    expect(block?.lang).toBe('yaml')
    expect(parseDocument(block?.code ?? '').toJS()).not.toHaveProperty('on')
  })
})

describe('ts blocks of the README and docs/', () => {
  const tsBlocks = blocks.filter((b) => b.lang === 'ts' || b.lang === 'typescript')

  it('type-check against the package (one program for every block)', { timeout: 120_000 }, () => {
    expect(tsBlocks.length).toBeGreaterThan(0)
    expect(tsBlocks.some((b) => b.page === 'README.md') && tsBlocks.some((b) => b.page?.startsWith('docs/'))).toBe(true)
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
      const file = join(work, `${(block.page ?? 'README.md').replace(/\W/g, '-')}-line-${block.line}.ts`)
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
      // Where the reader finds it: the page's line, or the source file's.
      return block ? `${at(block, line)}: ${text}` : `${d.file.fileName}:${line + 1}: ${text}`
    })
    expect(files.every(({ file }) => program.getSourceFile(file) !== undefined)).toBe(true)
    expect(problems).toEqual([])
  })
})

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** The anchors of a page's headings (outside code blocks). */
function anchors(markdown: string): Set<string> {
  const fenced = new Set(codeBlocks(markdown).flatMap((b) => b.code.split('\n').map((_, i) => b.line + i)))
  return new Set(
    markdown
      .split('\n')
      .map((line, i) => (fenced.has(i + 1) ? undefined : /^#{1,6}\s+(.*)$/.exec(line)?.[1]))
      .filter((h): h is string => h !== undefined)
      .map(slug),
  )
}

/** Relative links and images of a page (outside code blocks): `[text](target)`. */
function relativeLinks(markdown: string): { target: string; line: number }[] {
  const fenced = new Set(codeBlocks(markdown).flatMap((b) => b.code.split('\n').map((_, i) => b.line + i)))
  return markdown.split('\n').flatMap((text, i) =>
    fenced.has(i + 1)
      ? []
      : [...text.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target = '']) => ({ target, line: i + 1 })).filter(({ target }) => !/^[a-z][\w+.-]*:/i.test(target)),
  )
}

describe('links of the README and docs/', () => {
  it('the anchor of a heading is GitHub\'s', () => {
    expect(slug("The plugin's options")).toBe('the-plugins-options')
    expect(slug('`collectfasta deploy`')).toBe('collectfasta-deploy')
    expect(slug('GitHub Actions, with OIDC')).toBe('github-actions-with-oidc')
  })

  it('every relative link points to a file that exists, and to a heading of it where it names one', () => {
    const links = PAGES.flatMap((page) => relativeLinks(TEXT.get(page) ?? '').map((link) => ({ ...link, page })))
    expect(links.length).toBeGreaterThan(20)
    const broken = links.filter(({ page, target }) => {
      const [path = '', anchor] = target.split('#')
      const file = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), decodeURIComponent(path))
      if (!existsSync(file)) return true
      if (anchor === undefined || !file.endsWith('.md')) return false
      const name = relative(ROOT, file).split('\\').join('/')
      return !anchors(TEXT.get(name) ?? readFileSync(file, 'utf8')).has(anchor)
    })
    expect(broken.map(({ page, line, target }) => `${page}:${line}: ${target}`)).toEqual([])
  })

  it('the check above finds a missing file and a missing heading', () => {
    expect(relativeLinks('see [a](docs/nope.md) and [b](https://x.test/y)\n').map((l) => l.target)).toEqual(['docs/nope.md'])
    expect(anchors('# Title\n```md\n# not a heading\n```\n## Two words\n')).toEqual(new Set(['title', 'two-words']))
  })
})

/** The properties of the named interfaces of a source file, by interface. */
function optionNames(file: string, interfaces: string[]): Map<string, string[]> {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest)
  const found = new Map<string, string[]>()
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && interfaces.includes(node.name.text)) {
      found.set(
        node.name.text,
        node.members.flatMap((m) => (ts.isPropertySignature(m) && ts.isIdentifier(m.name) ? [m.name.text] : [])),
      )
    }
  })
  return found
}

describe('every option is documented', () => {
  // Where each interface's options are documented: one page each, so each fact lives in one place.
  const where: [page: string, file: string, interfaces: string[]][] = [
    ['docs/options.md', 'src/options.ts', ['PruneOptions', 'DeployCommonOptions', 'DeployOptions', 'CollectfastaOptions']],
    ['docs/options.md', 'src/options.ts', ['CompressOptions']],
    ['docs/options.md', 'src/options.ts', ['HeaderRule']],
    ['docs/strategies.md', 'src/strategies/s3-options.ts', ['S3Options']],
    ['docs/strategies.md', 'src/strategies/gcs.ts', ['GcsOptions']],
    ['docs/strategies.md', 'src/strategies/filesystem.ts', ['FilesystemOptions']],
    ['docs/cdn.md', 'src/cdn/cloudfront.ts', ['CloudfrontOptions']],
    ['docs/cdn.md', 'src/cdn/cloud-cdn.ts', ['CloudCdnOptions']],
    ['docs/cdn.md', 'src/cdn/invalidation.ts', ['InvalidationOptions']],
  ]

  it.each(where)('%s documents every option of %s', (page, file, interfaces) => {
    const found = optionNames(file, interfaces)
    expect([...found.keys()].sort()).toEqual([...interfaces].sort())
    const names = [...found.values()].flat()
    expect(names.length).toBeGreaterThan(0)
    const text = TEXT.get(page) ?? ''
    expect(names.filter((name) => !text.includes(`\`${name}\``))).toEqual([])
  })

  it('the check above reads an interface\'s options', () => {
    expect(optionNames('src/options.ts', ['PruneOptions']).get('PruneOptions')).toEqual(['keepDeploys', 'maxDeletes', 'unknown', 'minShare'])
  })
})
