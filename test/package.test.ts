// The package's own files, checked where a mistake only shows on someone else's machine: a
// script that cmd.exe cannot run, a lock file that `npm install` rewrites, an install that warns.
import { readFileSync } from 'node:fs'
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
