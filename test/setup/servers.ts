import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'

export const S3_BUCKET = 'collectfasta-test'
const S3_SERVER = fileURLToPath(new URL('../servers/s3-server.mjs', import.meta.url))
import { nodeAtLeast } from '../servers/runtimes.mjs'
import { gcsPreconditions } from '../servers/gcs-preconditions.mjs'
import { recordingProxy } from '../servers/proxy.mjs'
const GCS_SERVER = fileURLToPath(new URL('../servers/gcs-server.cjs', import.meta.url))
const AZURITE_BLOB = fileURLToPath(new URL('../servers/azurite/node_modules/azurite/dist/src/blob/main.js', import.meta.url))
import { AZURITE_ACCOUNT } from '../strategies/azurite-account.js'

declare module 'vitest' {
  export interface ProvidedContext {
    s3rverEndpoint: string
    fauxqsEndpoint: string
    gcsEndpoint: string
    /** The emulator behind the emulation of generation preconditions (test/servers/gcs-preconditions.mjs). */
    gcsConditionalEndpoint: string
    /** fauxqs behind the test proxy's emulation of S3's conditional writes (test/servers/proxy.mjs). */
    fauxqsConditionalEndpoint: string
    /** Azurite's blob service for its well-known account: `http://127.0.0.1:PORT/devstoreaccount1`. */
    azuriteEndpoint: string
  }
}

/** Spawns a server script and waits for the one JSON line it prints once it listens (or the line `endpointOf` reads). */
async function start(command: string, args: string[], name: string, endpointOf = (line: string): string | undefined => JSON.parse(line).endpoint): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const lines = createInterface({ input: child.stdout! })
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s:\n${stderr}`)), 30_000)
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${stderr}`)))
    lines.on('line', (line) => {
      const endpoint = endpointOf(line)
      if (endpoint === undefined) return
      clearTimeout(timer)
      lines.removeAllListeners('line')
      resolve(endpoint)
    })
  })
  return { child, endpoint }
}

/** The containers every test may use at once (a strategy never creates one): the tests' own, and a static website's. */
async function createContainers(endpoint: string) {
  const { BlobServiceClient, StorageSharedKeyCredential } = await import('../servers/azurite/sdk.mjs')
  const { AZURE_CONTAINER, AZURITE_KEY } = await import('../strategies/azurite-account.js')
  const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY))
  for (const name of [AZURE_CONTAINER, '$web']) await service.getContainerClient(name).createIfNotExists()
}

/** Starts the local storage servers once for the whole run, and stops them after it. */
export default async function setup(project: TestProject) {
  const [s3rver, fauxqs, gcs, azurite] = await Promise.all([
    // s3rver's paginated listing needs the legacy OpenSSL provider on Node ≥ 17.
    start(process.execPath, ['--openssl-legacy-provider', S3_SERVER, 's3rver', S3_BUCKET], 's3rver'),
    // fauxqs needs node:sqlite (Node 22.5+): this Node, or the Node 24 binary installed for it.
    start(nodeAtLeast([22, 5], 'fauxqs'), [S3_SERVER, 'fauxqs', S3_BUCKET], 'fauxqs'),
    // The Cloud Storage emulator of firebase-tools, without its Java rules runtime.
    start(process.execPath, [GCS_SERVER], 'the Cloud Storage emulator'),
    // Azurite's blob service alone, in memory, on a free port; it honours conditional writes itself.
    start(
      process.execPath,
      [AZURITE_BLOB, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--extentMemoryLimit', '4096', '--skipApiVersionCheck', '--disableProductStyleUrl'],
      'Azurite',
      (line) => {
        const url = /listens on (http:\/\/\S+)/.exec(line)?.[1]
        return url && `${url}/${AZURITE_ACCOUNT}`
      },
    ),
  ])
  project.provide('s3rverEndpoint', s3rver.endpoint)
  project.provide('fauxqsEndpoint', fauxqs.endpoint)
  project.provide('gcsEndpoint', gcs.endpoint)
  project.provide('azuriteEndpoint', azurite.endpoint)
  await createContainers(azurite.endpoint)
  const preconditions = await gcsPreconditions(gcs.endpoint)
  project.provide('gcsConditionalEndpoint', preconditions.endpoint)
  const conditionalS3 = await recordingProxy(fauxqs.endpoint, { conditionalWrites: true })
  project.provide('fauxqsConditionalEndpoint', conditionalS3.url)
  return async () => {
    await preconditions.close()
    await conditionalS3.close()
    for (const { child } of [s3rver, fauxqs, gcs, azurite]) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      // Azurite takes seconds to close its sockets on SIGTERM; it keeps nothing on disk here.
      child.kill(child === azurite.child ? 'SIGKILL' : 'SIGTERM')
      await exited
    }
  }
}
