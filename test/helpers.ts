import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Writes files from a `{ path: content }` object under `root`. */
export function writeTree(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
}

export const silent = { info() {}, warn() {} }

/** Answers 200 with a body that never ends (as fast as the client reads): a read must stop at its own limit. */
export function bodyWithoutEnd(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' })
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  const more = () => {
    while (res.write(chunk)) {}
    res.once('drain', more)
  }
  more()
}

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

/** Runs the built `collectfasta` command as a child process, as CI would (CI=1, s3rver's credentials in the environment). */
export function collectfasta(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv = { ...process.env, CI: '1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', ...env }
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: childEnv }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}
