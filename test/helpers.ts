import { mkdirSync, writeFileSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { dirname, join } from 'node:path'

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
