import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { environmentCredentials } from '../src/strategies/s3-config.js'
import { writeTree } from './helpers.js'
import { S3_BUCKET } from './setup/servers.js'
import { readBackS3 } from './strategies/s3-servers.js'

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'collectfasta-credentials-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('credentials in the environment', () => {
  it('are read without the SDK’s credential chain: a deploy works where it is not installed', async () => {
    const endpoint = inject('s3rverEndpoint')
    writeTree(join(work, 'dist'), { 'index.html': '<h1>env</h1>', 'assets/a-1.js': 'export {}' })
    // The chain and the SDK made unresolvable, as in a project that installed neither.
    const hook = join(work, 'no-chain.mjs')
    // (By what it resolves to: the chain is also looked for next to the SDK, by file URL.)
    const resolver = `export async function resolve(specifier, context, next) {
  const resolved = specifier.startsWith('@aws-sdk/') ? undefined : await next(specifier, context)
  if (!resolved || resolved.url.includes('/node_modules/@aws-sdk/')) throw Object.assign(new Error("Cannot find package '" + specifier + "'"), { code: 'ERR_MODULE_NOT_FOUND' })
  return resolved
}`
    writeFileSync(hook, `import { register } from 'node:module'\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(resolver)}))\n`)
    const prefix = `env-${Date.now().toString(36)}`
    const env: NodeJS.ProcessEnv = { ...process.env, CI: '1', NODE_OPTIONS: `--import=${pathToFileURL(hook).href}`, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }
    delete env.AWS_PROFILE
    const args = [CLI, 'deploy', 'dist', '--to', `s3://${S3_BUCKET}/${prefix}`, '--endpoint', endpoint, '--cache-dir', join(work, 'cache')]
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, args, { cwd: work, env }, (error, _stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }))
    })
    expect(stderr).not.toMatch(/cannot import|refused or not found/i)
    expect(code).toBe(0)
    expect(Buffer.from((await readBackS3(endpoint, `${prefix}/index.html`))?.bytes ?? []).toString()).toBe('<h1>env</h1>')
  })

  it('are read as the SDK reads them: a session token and an expiry kept, a named profile preferred', () => {
    expect(environmentCredentials({ AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token', AWS_CREDENTIAL_EXPIRATION: '2030-01-01T00:00:00Z' })).toEqual({
      accessKeyId: 'id',
      secretAccessKey: 'secret',
      sessionToken: 'token',
      expiration: new Date('2030-01-01T00:00:00Z'),
    })
    expect(environmentCredentials({ AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', AWS_PROFILE: 'work' })).toBeUndefined()
    expect(environmentCredentials({ AWS_ACCESS_KEY_ID: 'id' })).toBeUndefined()
  })
})
