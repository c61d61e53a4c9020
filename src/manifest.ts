import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import picomatch from 'picomatch'
import { loadHasher, md5Hex } from './hash.js'
import { type HeaderDefaults, createHeaderResolver, fingerprintHeaders, isHtml } from './headers.js'
import type { ObjectHeaders } from './strategy.js'

/** Upload order: each group is finished before the next starts. */
export const GROUP_HASHED = 0
export const GROUP_OTHER = 1
export const GROUP_LAST = 2

export interface Entry {
  /** POSIX path relative to outDir. */
  path: string
  /** Storage key: the strategy's prefix + path. */
  key: string
  bytes: Uint8Array
  size: number
  xxh64: string
  /** Hex MD5, computed on first call to `md5()` (only cache misses and uploads need it). */
  md5Hex?: string
  md5(): string
  headers: ObjectHeaders
  headersFingerprint: string
  group: number
}

export interface ManifestInput extends HeaderDefaults {
  outDir: string
  prefix: string
  /** Bytes already in memory (the bundle), by path relative to outDir. */
  inMemory?: Map<string, Uint8Array>
  include?: string | string[]
  exclude?: string | string[]
  warn(message: string): void
}

/** Files read last: HTML and the manifests that point at other files. */
function groupOf(path: string, assetsPrefix: string): number {
  if (isHtml(path) || path.startsWith('.vite/') || /(^|\/)(manifest\.json|[^/]+\.webmanifest)$/.test(path)) {
    return GROUP_LAST
  }
  return assetsPrefix && path.startsWith(assetsPrefix) ? GROUP_HASHED : GROUP_OTHER
}

/**
 * Every file under outDir, as relative POSIX paths. Symbolic links are followed only when
 * they resolve inside outDir, so a link can never publish a file from elsewhere.
 */
export function listOutDir(outDir: string, warn: (message: string) => void): string[] {
  const root = realpathSync(outDir)
  const paths: string[] = []
  for (const dirent of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const full = join(dirent.parentPath, dirent.name)
    let isFile = dirent.isFile()
    if (dirent.isSymbolicLink()) {
      let target: string
      try {
        target = realpathSync(full)
      } catch {
        warn(`Skipped \`${relative(root, full)}\`: it is a broken symbolic link.`)
        continue
      }
      if (target !== root && !target.startsWith(root + sep)) {
        warn(`Skipped \`${relative(root, full)}\`: it links outside outDir (${target}).`)
        continue
      }
      isFile = statSync(target).isFile()
    }
    if (isFile) paths.push(relative(root, full).split(sep).join('/'))
  }
  return paths
}

export function validatePath(path: string): string | undefined {
  if (path.includes('\\')) return 'it contains a backslash, which storages treat differently'
  if (path.includes('\0')) return 'it contains a NUL character'
  if (path.startsWith('/') || path.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    return 'it is not a plain relative path'
  }
  return undefined
}

/** The first pass: every file to deploy, hashed in memory, with its headers and group. */
export async function buildManifest(input: ManifestInput): Promise<Entry[]> {
  const hash = await loadHasher()
  const headersOf = createHeaderResolver(input)
  const included = input.include ? picomatch(input.include, { dot: true }) : () => true
  const excluded = input.exclude ? picomatch(input.exclude, { dot: true }) : () => false
  const assetsPrefix = input.assetsDir ? `${input.assetsDir.replace(/^\.?\/+|\/+$/g, '')}/` : ''
  const fingerprints = new Map<string, string>()

  const paths = new Set(input.inMemory?.keys())
  for (const path of listOutDir(input.outDir, input.warn)) paths.add(path)

  const entries: Entry[] = []
  for (const path of [...paths].sort()) {
    if (!included(path) || excluded(path)) continue
    const problem = validatePath(path)
    if (problem) throw new Error(`[collectfasta] Cannot deploy \`${path}\`: ${problem}. Rename it or exclude it.`)
    const bytes = input.inMemory?.get(path) ?? readFileSync(join(input.outDir, path))
    const headers = headersOf(path)
    const headersJson = fingerprintHeaders(headers)
    let headersFingerprint = fingerprints.get(headersJson)
    if (!headersFingerprint) {
      headersFingerprint = hash(Buffer.from(headersJson))
      fingerprints.set(headersJson, headersFingerprint)
    }
    const entry: Entry = {
      path,
      key: input.prefix + path,
      bytes,
      size: bytes.byteLength,
      xxh64: hash(bytes),
      md5: () => (entry.md5Hex ??= md5Hex(bytes)),
      headers,
      headersFingerprint,
      group: groupOf(path, assetsPrefix),
    }
    entries.push(entry)
  }
  return entries
}
