// The paths in the commands our messages suggest are pasted into a shell: each must reach the
// command as written, never as a redirect, a pipe or an expansion.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { shellQuote } from '../src/site/layout.js'

// A word the shell reads as a redirect writes a file: in a folder of its own, never the checkout.
const scratch = mkdtempSync(join(tmpdir(), 'collectfasta-quote-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** What a real POSIX shell passes to a command for `word`. */
const asShellReads = (word: string) => execFileSync('sh', ['-c', `printf %s ${word}`], { encoding: 'utf8', cwd: scratch, stdio: ['ignore', 'pipe', 'ignore'] })

describe('shellQuote: a path in a suggested command', () => {
  const paths = ['out>dir', 'in<put', 'a|b', 'a;b', 'a&b', '$HOME/x', '`x`', 'a b', "it's", 'a*b', 'dist/{a,b}', '~/x', 'a"b', 'a\\b', '(x)', '#x']
  it.each(paths)('%s reaches the command as written', (path) => {
    expect(asShellReads(shellQuote(path))).toBe(path)
  })

  it('plain paths stay bare, and so does the <dir> placeholder alone', () => {
    const bare = ['dist', 'dist/client', '.output/public', 'build/client', 'a-b_c.d', '<dir>']
    expect(bare.length).toBeGreaterThan(0)
    for (const path of bare) expect(shellQuote(path)).toBe(path)
    expect(shellQuote('<dir>/x')).toBe("'<dir>/x'")
  })
})
