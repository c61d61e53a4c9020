// The package's own files, checked where a mistake only shows on someone else's machine: a
// script that cmd.exe cannot run, a lock file that `npm install` rewrites, an install that warns,
// an assertion that nobody waits for.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = new URL('../', import.meta.url)
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8'))

// Words of the POSIX shell that cmd.exe lacks, and `NAME=value cmd`, which cmd.exe cannot run.
// Single quotes are checked apart: cmd.exe does not treat them as quotes (a Node one-liner goes in
// double quotes).
const posixOnly = /(^|&&|\|\||;|\|)\s*(rm|cp|mv|mkdir|touch|cat|ln|export|chmod|sed|grep)\s|^\s*[A-Z_]+=\S*\s/

describe('npm scripts', () => {
  const scripts = Object.entries(pkg.scripts as Record<string, string>)

  it('use no POSIX-only command, so they run in cmd.exe (the shell npm runs scripts with on Windows) too', () => {
    expect(scripts.length).toBeGreaterThan(0)
    for (const [name, script] of scripts) {
      const unquoted = script.replaceAll(/"(?:[^"\\]|\\.)*"/g, '""')
      expect({ name, posixOnly: posixOnly.test(unquoted), singleQuote: unquoted.includes("'") }).toEqual({ name, posixOnly: false, singleQuote: false })
    }
  })

  it('the check above catches rm -rf, cp and an environment prefix', () => {
    expect(posixOnly.test('rm -rf dist && tsc')).toBe(true)
    expect(posixOnly.test('tsc && cp a b')).toBe(true)
    expect(posixOnly.test('DEBUG=1 vitest run')).toBe(true)
    expect(posixOnly.test('node -e "" && tsc -p tsconfig.build.json')).toBe(false)
  })
})

describe('package-lock.json', () => {
  it('records the ranges and fields of package.json, so `npm install` leaves it unchanged', () => {
    const recorded = lock.packages[''] as Record<string, unknown>
    const fields = ['name', 'version', 'license', 'engines', 'dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']
    expect(lock.name).toBe(pkg.name)
    expect(lock.version).toBe(pkg.version)
    for (const field of fields) expect({ field, value: recorded[field] }).toEqual({ field, value: pkg[field] })
    // npm records bin paths without their leading './'.
    const bin = Object.fromEntries(Object.entries(pkg.bin as Record<string, string>).map(([name, path]) => [name, path.replace(/^\.\//, '')]))
    expect(recorded.bin).toEqual(bin)
  })

  it('every package with an install script is reviewed in allowScripts, so npm 11 installs without a warning', () => {
    const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean; version?: string }>)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
      .map(([path, entry]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), version: entry.version }))
    expect(withScripts.length).toBeGreaterThan(0)
    const allowed = pkg.allowScripts as Record<string, boolean>
    for (const { name, version } of withScripts) {
      expect({ name, reviewed: name in allowed || `${name}@${version}` in allowed }).toEqual({ name, reviewed: true })
    }
  })
})

/** `expect(…).rejects` / `.resolves` chains whose promise is neither awaited nor returned. */
function floatingAssertions(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && (node.name.text === 'rejects' || node.name.text === 'resolves')) {
      // Climb the chain (`.rejects.toThrow(…)`) to the expression whose promise someone must hold.
      let top: ts.Node = node
      while (ts.isPropertyAccessExpression(top.parent) || (ts.isCallExpression(top.parent) && top.parent.expression === top)) top = top.parent
      const holder = top.parent
      const held =
        ts.isAwaitExpression(holder) ||
        ts.isReturnStatement(holder) ||
        (ts.isArrowFunction(holder) && holder.body === top) ||
        ts.isArrayLiteralExpression(holder) || // Promise.all([...])
        ts.isVariableDeclaration(holder)
      if (!held) found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

describe('tests', () => {
  const testDir = fileURLToPath(new URL('test/', root))
  // Our own test files: not the fixtures' installed packages, not the tests' scratch folders.
  const files: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== '.work') walk(path)
      } else if (/\.m?ts$/.test(entry.name) && !/\.d\.m?ts$/.test(entry.name)) files.push(path)
    }
  }
  walk(testDir)

  it('await or return every expect(…).rejects and .resolves (Vitest only warns, and a rejection after the test ends is lost)', () => {
    expect(files.length).toBeGreaterThan(10)
    expect(files.flatMap((file) => floatingAssertions(file, readFileSync(file, 'utf8')))).toEqual([])
  })

  it('the check above finds a floating one and accepts awaited, returned and collected ones', () => {
    const text = [
      'it("a", async () => {',
      '  expect(p).rejects.toThrow("x")',
      '  await expect(p).rejects.toThrow("x")',
      '  await Promise.all([expect(p).resolves.toBe(1)])',
      '})',
      'it("b", () => expect(p).resolves.toBe(1))',
      'it("c", () => { return expect(p).resolves.toBe(1) })',
    ].join('\n')
    expect(floatingAssertions('x.ts', text)).toEqual(['x.ts:2'])
  })
})
