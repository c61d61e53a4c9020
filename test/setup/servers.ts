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

declare module 'vitest' {
  export interface ProvidedContext {
    s3rverEndpoint: string
    fauxqsEndpoint: string
    gcsEndpoint: string
    /** The emulator behind the emulation of generation preconditions (test/servers/gcs-preconditions.mjs). */
    gcsConditionalEndpoint: string
    /** fauxqs behind the test proxy's emulation of S3's conditional writes (test/servers/proxy.mjs). */
    fauxqsConditionalEndpoint: string
  }
}

/** Spawns a server script and waits for the one JSON line it prints once it listens. */
async function start(command: string, args: string[], name: string): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const lines = createInterface({ input: child.stdout! })
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s:\n${stderr}`)), 30_000)
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${stderr}`)))
    lines.once('line', (line) => {
      clearTimeout(timer)
      resolve(JSON.parse(line).endpoint)
    })
  })
  return { child, endpoint }
}

/** Starts the local storage servers once for the whole run, and stops them after it. */
export default async function setup(project: TestProject) {
  const [s3rver, fauxqs, gcs] = await Promise.all([
    // s3rver's paginated listing needs the legacy OpenSSL provider on Node ≥ 17.
    start(process.execPath, ['--openssl-legacy-provider', S3_SERVER, 's3rver', S3_BUCKET], 's3rver'),
    // fauxqs needs node:sqlite (Node 22.5+): this Node, or the Node 24 binary installed for it.
    start(nodeAtLeast([22, 5], 'fauxqs'), [S3_SERVER, 'fauxqs', S3_BUCKET], 'fauxqs'),
    // The Cloud Storage emulator of firebase-tools, without its Java rules runtime.
    start(process.execPath, [GCS_SERVER], 'the Cloud Storage emulator'),
  ])
  project.provide('s3rverEndpoint', s3rver.endpoint)
  project.provide('fauxqsEndpoint', fauxqs.endpoint)
  project.provide('gcsEndpoint', gcs.endpoint)
  const preconditions = await gcsPreconditions(gcs.endpoint)
  project.provide('gcsConditionalEndpoint', preconditions.endpoint)
  const conditionalS3 = await recordingProxy(fauxqs.endpoint, { conditionalWrites: true })
  project.provide('fauxqsConditionalEndpoint', conditionalS3.url)
  return async () => {
    await preconditions.close()
    await conditionalS3.close()
    for (const { child } of [s3rver, fauxqs, gcs]) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}
