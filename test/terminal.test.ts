import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { S3_BUCKET } from './setup/servers.js'

const SCRIPT = fileURLToPath(new URL('./fixtures/progress.mjs', import.meta.url))
const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'])
    return true
  } catch {
    return false
  }
})()
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('what a person sees in a terminal', () => {
  it.skipIf(!hasTmux)('a progress line (files, bytes, rate, time left) after a second, replaced by the summary (needs tmux)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collectfasta-tty-'))
    dirs.push(dir)
    const session = `collectfasta-${process.pid}`
    const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' })
    // A person's terminal: no CI variable, 200 columns so that the line is not wrapped.
    const command = `env -u CI -u GITHUB_ACTIONS ${process.execPath} ${SCRIPT} ${inject('s3rverEndpoint')} ${S3_BUCKET} ${dir}`
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '20', `${command}; sleep 30`)
    const screens: string[] = []
    try {
      for (let i = 0; i < 300; i++) {
        const screen = tmux('capture-pane', '-p', '-t', session)
        screens.push(screen)
        if (screen.includes('DONE')) break
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    } finally {
      tmux('kill-session', '-t', session)
    }
    const progress = screens.find((s) => /\[collectfasta\] uploading \d+\/3000 files, .* of .*, .*\/s, \d+ s left/.test(s))
    expect(progress, screens.at(-1)).toBeDefined()
    const last = screens.at(-1) ?? ''
    expect(last).toMatch(/\[collectfasta\] s3:\/\/.*: uploaded 3000 file\(s\)/)
    expect(last).not.toContain('uploading ')
  })
})
