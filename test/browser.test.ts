import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { collectfasta, writeTree } from './helpers.js'
import { S3_BUCKET } from './setup/servers.js'

// #33: a rollback as a visitor sees it. Chromium loads the page from the bucket (s3rver answers
// anonymous GETs, as a public bucket or a CDN in front of it does), runs its module script, and
// shows the release rolled back to.


/** The Chromium binary, when installed (.ci/run installs Debian's `chromium`). */
const CHROMIUM = ['chromium', 'chromium-browser', 'google-chrome'].find((name) => {
  try {
    execFileSync('which', [name], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})

/** Build `v`: a page whose module script writes a line into it, from a hashed chunk of its own. */
function build(v: number): Record<string, string> {
  return {
    'index.html': `<!doctype html><html><head><script type="module" src="./assets/app-v${v}.js"></script></head><body><h1>release v${v}</h1></body></html>`,
    [`assets/app-v${v}.js`]: `document.body.insertAdjacentHTML('beforeend', '<p id="app">app v${v} ran</p>')`,
  }
}

/** The page's DOM after its scripts ran, as Chromium renders it. */
function render(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=2000', '--dump-dom', url], { timeout: 60_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    )
  })
}

describe('a rollback, seen in a browser', () => {
  // Skipped only where no Chromium is installed (a developer's machine without it); CI installs it.
  it.skipIf(!CHROMIUM)('Chromium loads the rolled-back page from the bucket and runs its own chunk', async () => {
    const endpoint = inject('s3rverEndpoint')
    const prefix = `browser-${Date.now()}/`
    const to = ['--to', `s3://${S3_BUCKET}/${prefix}`, '--endpoint', endpoint]
    for (const v of [1, 2]) {
      const dir = mkdtempSync(join(tmpdir(), 'collectfasta-browser-'))
      writeTree(join(dir, 'dist'), build(v))
      const deployed = await collectfasta(dir, ['deploy', 'dist', ...to])
      expect(deployed.code, deployed.stderr).toBe(0)
    }
    const page = `${endpoint}/${S3_BUCKET}/${prefix}index.html`
    const live = await render(page)
    expect(live).toContain('release v2')
    expect(live).toContain('app v2 ran')

    const back = await collectfasta(tmpdir(), ['rollback', ...to])
    expect(back.code, back.stderr).toBe(0)
    const rolled = await render(page)
    expect(rolled).toContain('release v1')
    // The chunk v1's page names was kept, is served with a JavaScript type, and ran.
    expect(rolled).toContain('app v1 ran')
    expect(rolled).not.toContain('v2')
  }, 120_000)
})
