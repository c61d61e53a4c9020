// The last step of `npm test`: the suites where the Node version matters (real vite builds, the
// framework fixtures, the CLI, the core against a directory, large files read in ranges and
// streamed, the GitHub Action, whose runner runs it on Node 24) once more under Node 24, when the
// machine's Node is older and test/servers/install.mjs installed a Node 24 binary (linux x64).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NODE_24 } from './runtimes.mjs'

const SUITES = ['test/plugin.test.ts', 'test/frameworks.test.ts', 'test/cli.test.ts', 'test/deploy.test.ts', 'test/strategies/fs.test.ts', 'test/large-files.test.ts', 'test/action.test.ts']
const major = Number(process.versions.node.split('.')[0])
if (major >= 24) {
  console.log(`Second Node: not needed, this is Node ${process.version}.`)
} else if (!existsSync(NODE_24)) {
  console.log(`Second Node: skipped, no Node 24 binary for ${process.platform}-${process.arch} (the suites ran on ${process.version} only).`)
} else {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  console.log(`Second Node: ${SUITES.join(' ')} under Node 24`)
  const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url))
  const run = spawnSync(NODE_24, [vitest, 'run', ...SUITES], { cwd: root, stdio: 'inherit', env: { ...process.env, COLLECTFASTA_SECOND_NODE: '1' } })
  process.exit(run.status ?? 1)
}
