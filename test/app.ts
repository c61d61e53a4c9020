import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FIXTURE = fileURLToPath(new URL('./fixtures/app', import.meta.url))

const created: string[] = []

/** A private copy of the fixture app, so a test may edit it. */
export function copyApp(): string {
  const root = mkdtempSync(join(tmpdir(), 'collectfasta-app-'))
  cpSync(FIXTURE, root, { recursive: true })
  created.push(root)
  return root
}

export function removeApps(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** Every file under `dir` by POSIX path, with its bytes. */
export function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  for (const dirent of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!dirent.isFile()) continue
    const path = join(dirent.parentPath, dirent.name)
    files.set(relative(dir, path).split(sep).join('/'), readFileSync(path))
  }
  return files
}

/** Whether a key (under any prefix) is in our own folder `.collectfasta/` (the manifest, release records, kept copies of pages), not the site's. */
export function isOurs(key: string): boolean {
  return /(^|\/)\.collectfasta\//.test(key)
}

/** What a deploy stored in a directory target, without our own folder: the files that must equal the build. */
export function deployedSite(dir: string): Map<string, Buffer> {
  const files = snapshot(dir)
  for (const path of [...files.keys()]) if (isOurs(path)) files.delete(path)
  return files
}

/** Paths that are new or whose bytes differ between two snapshots. */
export function changedPaths(before: Map<string, Buffer>, after: Map<string, Buffer>): string[] {
  return [...after].filter(([path, bytes]) => !before.get(path)?.equals(bytes)).map(([path]) => path).sort()
}
