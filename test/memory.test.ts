import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const SCRIPT = fileURLToPath(new URL('./fixtures/memory-deploy.mjs', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('memory does not grow with the site', () => {
  it('a 300 MB site from disk (30 files of 10 MB) deploys, and deploys again, without holding it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-memory-'))
    dirs.push(dir)
    mkdirSync(join(dir, 'dist'))
    for (let i = 0; i < 30; i++) {
      const bytes = Buffer.alloc(10 * 1024 * 1024, i)
      bytes.write(`video ${i}`)
      writeFileSync(join(dir, `dist/video-${i}.bin`), bytes)
    }
    const run = () => JSON.parse(execFileSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8' }).trim()) as { uploaded: number; peakMB: number }
    const SITE_MB = 300
    const first = run()
    expect(first.uploaded).toBe(30)
    // Bound: Node and the deploy, plus the files being uploaded at once (8 × 10 MB), not the site.
    expect(first.peakMB).toBeLessThan(SITE_MB)
    const again = run()
    expect(again.uploaded).toBe(0)
    expect(again.peakMB).toBeLessThan((SITE_MB * 2) / 3) // hashed one file at a time, nothing held (it was 366 MB)
  })
})
