// Starts the Cloud Storage emulator of firebase-tools (installed in test/servers/gcs) on a free
// loopback port without Java: the security-rules runtime (a Java process) is replaced by one
// that allows every request, which is what an admin SDK gets anyway.
// Prints `{"endpoint": ...}` on one line; stops on SIGTERM or when stdin closes.
const { mkdtempSync, rmSync } = require('node:fs')
const { createServer } = require('node:net')
const { tmpdir } = require('node:os')
const { join } = require('node:path')

// Each instance keeps its blobs in its own TMPDIR, so two test runs never share files.
const privateTmp = mkdtempSync(join(tmpdir(), 'gcs-emulator-'))
process.env.TMPDIR = privateTmp

const lib = join(__dirname, 'gcs/node_modules/firebase-tools/lib')
const runtime = require(join(lib, 'emulator/storage/rules/runtime'))
const allowAll = {
  verify: async () => ({ permitted: true, issues: new runtime.StorageRulesIssues() }),
  unload() {},
}
runtime.StorageRulesRuntime.prototype.start = async function () {}
runtime.StorageRulesRuntime.prototype.stop = async function () {}
runtime.StorageRulesRuntime.prototype.loadRuleset = async () => ({ issues: new runtime.StorageRulesIssues(), ruleset: allowAll })

const { StorageEmulator } = require(join(lib, 'emulator/storage'))
const { EmulatorRegistry } = require(join(lib, 'emulator/registry'))

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function main() {
  const port = await freePort()
  const emulator = new StorageEmulator({
    projectId: 'collectfasta-test',
    host: '127.0.0.1',
    port,
    rules: { name: join(privateTmp, 'storage.rules'), content: "rules_version = '2';" },
    auto_download: false,
  })
  await EmulatorRegistry.start(emulator)
  console.log(JSON.stringify({ endpoint: `http://127.0.0.1:${port}` }))
  let stopping = false
  const shutdown = async () => {
    if (stopping) return
    stopping = true
    await EmulatorRegistry.stop(emulator.getName()).catch(() => {})
    rmSync(privateTmp, { recursive: true, force: true })
    process.exit(0)
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  process.stdin.on('end', shutdown)
  process.stdin.resume()
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
