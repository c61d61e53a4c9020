// Runs before `npm test`: installs what the tests need beside the root's devDependencies, once,
// and keeps it for later runs (each folder's node_modules is the cache). Nothing here is a root
// devDependency, so `npm install` stays quiet and works on every OS:
// - the Cloud Storage emulator (firebase-tools, test/servers/gcs), with --omit=optional so no
//   native module is compiled while the root's optional binaries (Rolldown, Biome) stay;
// - fauxqs (test/servers/fauxqs), which needs Node >= 22.5, and on linux x64 a Node 24 binary
//   (test/servers/node24) to run it when the machine's Node is older;
// - Azurite, the local Azure Blob Storage server, with the Azure SDK the tests compare against
//   (test/servers/azurite);
// - one package per framework fixture (test/frameworks/*), pinned by its lock file, so their
//   Vite versions never meet the root's. Each gets a link to this package, as an install would.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** The lock file's hash, kept in node_modules once installed: a changed lock installs again. */
function lockStamp(dir) {
  const lock = join(dir, 'package-lock.json')
  return existsSync(lock) ? createHash('sha256').update(readFileSync(lock)).digest('hex') : ''
}

function install(dir, what, extra = []) {
  const stampFile = join(dir, 'node_modules/.collectfasta-lock')
  const stamp = lockStamp(dir)
  const installed = existsSync(join(dir, 'node_modules/.package-lock.json'))
  if (installed && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return
  // Installed before the stamp existed: trust it only while the lock is older than the install.
  if (installed && !existsSync(stampFile) && statSync(join(dir, 'package-lock.json')).mtimeMs <= statSync(join(dir, 'node_modules/.package-lock.json')).mtimeMs) {
    writeFileSync(stampFile, stamp)
    return
  }
  console.log(`Installing ${what} (${installed ? 'its lock file changed' : 'once'})...`)
  execFileSync(npm, ['ci', ...extra, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit', shell: process.platform === 'win32' })
  writeFileSync(stampFile, stamp)
}

install(join(root, 'test/servers/gcs'), 'the Cloud Storage emulator for the GCS tests', ['--omit=optional'])
install(join(root, 'test/servers/fauxqs'), 'fauxqs, the local S3 server with real multipart ETags')
install(join(root, 'test/servers/azurite'), 'Azurite, the local Azure Blob Storage server')
// A second Node for fauxqs (Node >= 22.5) and the suites where the version matters: the npm
// package is linux x64 only, so elsewhere the machine's own Node must be 22.5 or later.
// And Node 20.12, the floor in engines.node, to run the built CLI on it.
if (process.platform === 'linux' && process.arch === 'x64') {
  install(join(root, 'test/servers/node24'), 'a Node 24 binary')
  install(join(root, 'test/servers/node20'), 'a Node 20.12 binary')
}

const frameworks = join(root, 'test/frameworks')
for (const name of readdirSync(frameworks)) {
  const dir = join(frameworks, name)
  if (!existsSync(join(dir, 'package.json'))) continue
  install(dir, `the ${name} fixture`)
  const link = join(dir, 'node_modules/vite-plugin-collectfasta')
  if (existsSync(link) && lstatSync(link).isSymbolicLink()) continue
  rmSync(link, { recursive: true, force: true })
  symlinkSync(root, link, 'junction')
}
