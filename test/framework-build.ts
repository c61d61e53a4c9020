// Runs a framework fixture's real build (test/frameworks/<dir>, installed by
// test/servers/install.mjs) as a child process, with the deploy target in its environment.
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { inject } from 'vitest'
import { FIXTURE } from './app.js'

const run = promisify(execFile)

export const FRAMEWORKS_DIR = join(FIXTURE, '../../frameworks')

/** The build's output, or the failed build's (with its exit code). */
export interface BuildResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * Builds `dir` with `args` (the framework CLI's script and arguments) under `node`, deploying to
 * `target` (file:///dir, or s3://bucket/prefix on the local S3 server). Never throws for a
 * failed build: the test reads its code and output.
 */
export async function buildFixture(dir: string, args: string[], target: string, node = process.execPath, extraEnv: NodeJS.ProcessEnv = {}): Promise<BuildResult> {
  const cwd = join(FRAMEWORKS_DIR, dir)
  rmSync(join(cwd, '.collectfasta'), { recursive: true, force: true })
  const env: NodeJS.ProcessEnv = { ...process.env, COLLECTFASTA_TARGET: target, NO_COLOR: '1', CI: '1', ...extraEnv }
  env.COLLECTFASTA_S3_ENDPOINT = inject('s3rverEndpoint')
  for (const name of ['VITEST', 'VITEST_MODE', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'NODE_ENV']) delete env[name]
  try {
    const { stdout, stderr } = await run(node, args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 180_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) }
  }
}
