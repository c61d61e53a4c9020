import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { parseDocument } from 'yaml'
import { writeTree } from './helpers.js'
import { AZURE_CONTAINER, AZURITE_KEY, azuriteContainer, readBackAzure } from './strategies/azurite.js'

// The built CLI as a child process against Azurite: `--to azblob://account/container/prefix`
// with `--endpoint`, credentials from the environment as on Azure; check, --verify, --prune;
// the `$web` container; and the README's Azure workflow step as pasted.

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(ROOT, 'dist/cli.js')
const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

const SITE = { 'index.html': '<h1>home</h1>', 'robots.txt': 'ok', 'assets/app-1a2b.js': 'app()' }

function built(files: Record<string, string> = SITE): string {
  const dir = mkdtempSync(join(tmpdir(), 'collectfasta-cli-azure-'))
  temp.push(dir)
  writeTree(join(dir, 'dist'), files)
  return dir
}

/** Runs `command` in bash (the CLI as `collectfasta`), as a workflow step would. */
function run(cwd: string, command: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const script = `collectfasta() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"; }\n${command}`
    // No Azure variables of the machine's own: only those the test gives.
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AZURE_')))
    execFile('bash', ['-c', script], { cwd, env: { ...base, CI: '1', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

const KEY_ENV = { AZURE_STORAGE_KEY: AZURITE_KEY }

describe('collectfasta with --to azblob://', () => {
  it('deploys with --endpoint and AZURE_STORAGE_KEY; check finds drift that --verify repairs; --prune deletes what a new build dropped', async () => {
    const dir = built()
    const prefix = `cli-${Date.now().toString(36)}/`
    const to = `--to azblob://devstoreaccount1/${AZURE_CONTAINER}/${prefix} --endpoint ${inject('azuriteEndpoint')}`
    const first = await run(dir, `collectfasta deploy dist ${to}`, KEY_ENV)
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toContain(`azblob://devstoreaccount1/${AZURE_CONTAINER}/${prefix}`)
    expect(first.stdout + first.stderr).not.toContain(AZURITE_KEY.slice(0, 12))
    for (const [path, content] of Object.entries(SITE)) expect(Buffer.from((await readBackAzure(prefix + path))?.bytes ?? []).toString(), path).toBe(content)
    expect((await readBackAzure(`${prefix}assets/app-1a2b.js`))?.headers?.cacheControl).toBe('public, max-age=31536000, immutable')

    expect((await run(dir, `collectfasta check dist ${to}`, KEY_ENV)).code).toBe(0)
    await (await azuriteContainer()).getBlockBlobClient(`${prefix}robots.txt`).delete()
    const drift = await run(dir, `collectfasta check dist ${to} --json`, KEY_ENV)
    expect(drift.code).toBe(1)
    expect(JSON.parse(drift.stdout)).toMatchObject({ missing: [`${prefix}robots.txt`], drift: true })
    expect(JSON.parse((await run(dir, `collectfasta deploy dist ${to} --json`, KEY_ENV)).stdout).uploaded).toEqual([]) // a warm deploy cannot see it
    const verified = await run(dir, `collectfasta deploy dist ${to} --verify --json`, KEY_ENV)
    expect(JSON.parse(verified.stdout).uploaded.map((u: { key: string }) => u.key)).toEqual([`${prefix}robots.txt`])
    expect((await run(dir, `collectfasta check dist ${to}`, KEY_ENV)).code).toBe(0)

    // The last deploy only is kept: robots.txt, which the new build dropped, is deleted (prune
    // runs on a deploy that changed something).
    writeTree(dir, { 'collectfasta.config.mjs': 'export default { prune: { keepDeploys: 1 } }', 'dist/index.html': '<h1>home, again</h1>' })
    rmSync(join(dir, 'dist/robots.txt'))
    const pruned = await run(dir, `collectfasta deploy dist ${to} --prune --json`, KEY_ENV)
    expect(pruned.code).toBe(0)
    expect(JSON.parse(pruned.stdout).deleted).toEqual([`${prefix}robots.txt`])
    expect(await readBackAzure(`${prefix}robots.txt`)).toBeUndefined()
  })

  it("deploys to '$web' (az://), with the account key from AZURE_STORAGE_CONNECTION_STRING", async () => {
    const dir = built()
    const prefix = `cli-web-${Date.now().toString(36)}/`
    const connection = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=${inject('azuriteEndpoint')};`
    const { code, stdout, stderr } = await run(dir, `collectfasta deploy dist --to 'az://devstoreaccount1/$web/${prefix}'`, { AZURE_STORAGE_CONNECTION_STRING: connection })
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toContain(`azblob://devstoreaccount1/$web/${prefix}`)
    expect(Buffer.from((await readBackAzure(`${prefix}index.html`, '$web'))?.bytes ?? []).toString()).toBe('<h1>home</h1>')
  })

  it.each([
    ['azblob://devstoreaccount1', /names no container: use --to 'azblob:\/\/my-account\/\$web'/],
    ['azblob://Bad_Account/web', /The account name "Bad_Account" is not one Azure allows/],
    ['azblob://devstoreaccount1/Bad_Container', /The container name "Bad_Container" is not one Azure allows/],
    // Read as written, as s3:// and gs://: a URL parser would have deployed to `other/`.
    ['azblob://devstoreaccount1/web/a/../../other/', /has a prefix that is not a plain path: it has a '\.' or '\.\.' segment/],
  ])('%s is refused with a sentence (exit 2)', async (url, message) => {
    const { code, stderr } = await run(built(), `collectfasta deploy dist --to '${url}'`, KEY_ENV)
    expect(stderr).toMatch(message)
    expect(code).toBe(2)
  })

  it('without a key, SAS or connection string, DefaultAzureCredential is used: a missing @azure/identity exits 2 with its install line', async () => {
    // @azure/identity is not installed beside this package (only in test/servers/azurite).
    const { code, stderr } = await run(built(), "collectfasta deploy dist --to 'azblob://mysite/$web'")
    expect(stderr).toMatch(/Cannot import `@azure\/identity`\. Install it with `npm i -D @azure\/identity`\./)
    expect(code).toBe(2)
  })

  it("the README's Azure workflow: its collectfasta step, run as pasted, deploys to Azurite's `$web`", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string).find((code) => code.includes('azure/login'))
    expect(block).toBeDefined()
    const workflow = parseDocument(block as string).toJS() as { jobs: Record<string, { steps: { run?: string; uses?: string; env?: Record<string, string> }[] }> }
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps)
    expect(steps.some((s) => s.uses?.startsWith('azure/login@'))).toBe(true)
    const step = steps.find((s) => s.run?.includes('collectfasta'))
    expect(step?.run).toMatch(/^npx collectfasta /)
    // The workflow's expressions become the test's values; `npx collectfasta` the built CLI.
    const values: Record<string, string> = { 'vars.AZURE_STORAGE_ACCOUNT': 'devstoreaccount1' }
    const env = Object.fromEntries(Object.entries(step?.env ?? {}).map(([name, value]) => [name, String(value).replace(/\$\{\{\s*([\w.]+)\s*\}\}/g, (_, expr: string) => values[expr] ?? '')]))
    expect(env.AZURE_STORAGE_ACCOUNT).toBe('devstoreaccount1')
    const dir = built({ 'index.html': '<h1>from the workflow</h1>', '404.html': 'not found' })
    // Azure's login in the workflow is DefaultAzureCredential's; Azurite's is its connection string.
    const connection = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=${inject('azuriteEndpoint')};`
    const { code, stdout, stderr } = await run(dir, String(step?.run ?? "").replace(/^npx collectfasta/, "collectfasta"), { ...env, AZURE_STORAGE_CONNECTION_STRING: connection })
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toContain('azblob://devstoreaccount1/$web/')
    expect(Buffer.from((await readBackAzure('index.html', '$web'))?.bytes ?? []).toString()).toBe('<h1>from the workflow</h1>')
  })
})
