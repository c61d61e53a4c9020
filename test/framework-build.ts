// Runs a framework fixture's real build (test/frameworks/<dir>, installed by
// test/servers/install.mjs) as a child process, with the deploy target in its environment.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, expect, inject } from 'vitest'
import { FIXTURE, deployedSite, snapshot } from './app.js'

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

/** The key of the deploy manifest in a target. */
export const DEPLOY_MANIFEST = '.collectfasta/manifest.json'

/** Temporary folders for a test file, removed after it: call once at its top level. */
export function tempDirs(): (name: string) => string {
  const made: string[] = []
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true })
  })
  return (name) => {
    const dir = mkdtempSync(join(tmpdir(), `collectfasta-${name}-`))
    made.push(dir)
    return dir
  }
}

/** Every file the app publishes equals, byte for byte, what was deployed, and nothing else was. */
export function expectSameTree(published: string, deployedDir: string, output: string): Map<string, Buffer> {
  const site = snapshot(published)
  expect(existsSync(join(deployedDir, DEPLOY_MANIFEST)), output).toBe(true)
  // Our own folder (the manifest, the release record) is not the site's.
  const deployed = deployedSite(deployedDir)
  expect(site.size).toBeGreaterThan(0)
  expect([...deployed.keys()].sort(), output).toEqual([...site.keys()].sort())
  expect([...site].filter(([path, bytes]) => !deployed.get(path)?.equals(bytes)).map(([path]) => path)).toEqual([])
  return site
}
