// Runs before `npm test`: installs the Cloud Storage emulator (firebase-tools, pinned in
// test/servers/gcs/package-lock.json) when it is missing. It lives in its own package so that
// `--omit=optional` applies to it alone: no native module is compiled, and the project's own
// optional dependencies (Rolldown's and Biome's binaries) are still installed.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('./gcs/', import.meta.url))
if (!existsSync(`${dir}node_modules/firebase-tools/package.json`)) {
  console.log('Installing the Cloud Storage emulator for the GCS tests (once)...')
  execFileSync('npm', ['ci', '--omit=optional', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' })
}
