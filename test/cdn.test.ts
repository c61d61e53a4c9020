import { type IncomingMessage, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OAuth2Client } from 'google-auth-library'
import { afterAll, describe, expect, it } from 'vitest'
import { cloudCdn } from '../src/cdn/cloud-cdn.js'
import { cloudfront } from '../src/cdn/cloudfront.js'
import { invalidationPaths } from '../src/cdn/invalidation.js'
import { type DeployReport, deploy } from '../src/index.js'
import { writeTree } from './helpers.js'
import { memory } from './strategies/memory.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

interface Recorded {
  method: string
  url: string
  body: string
  authorization?: string
}

/** A local HTTP endpoint that records each request and answers what the service would. */
async function recorder(answer: (request: Recorded) => { status: number; type: string; body: string }) {
  const requests: Recorded[] = []
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const recorded = { method: req.method ?? '', url: req.url ?? '', body, authorization: req.headers.authorization }
    requests.push(recorded)
    const reply = answer(recorded)
    res.writeHead(reply.status, { 'content-type': reply.type })
    res.end(reply.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => new Promise((r) => server.close(r)) }
}

const CREATED = (request: Recorded) => ({
  status: 201,
  type: 'text/xml',
  body: `<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I1</Id><Status>InProgress</Status><CreateTime>2026-11-29T00:00:00Z</CreateTime>${request.body.replace(/^<\?xml[^>]*>/, '').replace(/ xmlns="[^"]*"/, '')}</Invalidation>`,
})

const report = (uploaded: DeployReport['uploaded'], deleted: string[] = []) => ({ uploaded, deleted }) as DeployReport

describe('invalidation paths', () => {
  it('every changed file not cached for good, and deleted ones, as the CDN sees them', () => {
    const paths = invalidationPaths(
      report(
        [
          { key: 'site/assets/app-1a2b.js', size: 1, reason: 'changed', immutable: true },
          { key: 'site/index.html', size: 1, reason: 'changed' },
          { key: 'site/about/index.html', size: 1, reason: 'new' },
          { key: 'site/sp ace.txt', size: 1, reason: 'headers' },
        ],
        ['site/old.html'],
      ),
      { originPath: 'site/' },
    )
    expect(paths).toEqual(['/', '/about/', '/about/index.html', '/index.html', '/old.html', '/sp%20ace.txt'])
  })
})

describe('cloudfront() with the real SDK, against a local endpoint', () => {
  it('invalidates the changed pages after a real deploy, not the hashed assets', async () => {
    const server = await recorder(CREATED)
    try {
      const root = mkdtempSync(join(tmpdir(), 'collectfasta-cdn-'))
      dirs.push(root)
      writeTree(join(root, 'dist'), { 'index.html': '<h1>hi</h1>', 'assets/app-1a2b.js': 'app()', 'robots.txt': 'ok' })
      const onDeployed = cloudfront({ distributionId: 'E2ABCDEF123456', endpoint: server.url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })
      await deploy({ outDir: 'dist', root, strategy: memory(), onDeployed, logger: { info() {}, warn() {} } })
      expect(server.requests).toHaveLength(1)
      const [request] = server.requests
      expect(request?.method).toBe('POST')
      expect(request?.url).toBe('/2020-05-31/distribution/E2ABCDEF123456/invalidation')
      const items = [...(request?.body.matchAll(/<Path>([^<]*)<\/Path>/g) ?? [])].map((m) => m[1])
      expect(items).toEqual(['/', '/index.html', '/robots.txt'])
      expect(request?.body).toContain('<Quantity>3</Quantity>')
    } finally {
      await server.close()
    }
  })

  it('falls back to /* above maxPaths', async () => {
    const server = await recorder(CREATED)
    try {
      const many = Array.from({ length: 30 }, (_, i) => ({ key: `p/${i}.html`, size: 1, reason: 'new' as const }))
      await cloudfront({ distributionId: 'E1', endpoint: server.url, maxPaths: 10, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })(report(many))
      expect(server.requests).toHaveLength(1)
      expect([...(server.requests[0]?.body.matchAll(/<Path>([^<]*)<\/Path>/g) ?? [])].map((m) => m[1])).toEqual(['/*'])
    } finally {
      await server.close()
    }
  })

  it('says what permission it needs when refused', async () => {
    const server = await recorder(() => ({
      status: 403,
      type: 'text/xml',
      body: '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized</Message></Error></ErrorResponse>',
    }))
    try {
      const hook = cloudfront({ distributionId: 'E1', endpoint: server.url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })
      await expect(hook(report([{ key: 'index.html', size: 1, reason: 'new' }]))).rejects.toThrow(/\[cloudfront\] Could not invalidate distribution E1: .*It needs cloudfront:CreateInvalidation/)
    } finally {
      await server.close()
    }
  })
})

describe('cloudCdn() with the real auth client, against a local endpoint', () => {
  it('sends one invalidateCache per path to the URL map, authenticated', async () => {
    const server = await recorder(() => ({ status: 200, type: 'application/json', body: '{"kind":"compute#operation","status":"DONE"}' }))
    try {
      const authClient = new OAuth2Client()
      authClient.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 3_600_000 })
      const hook = cloudCdn({ project: 'my-project', urlMap: 'site-lb', host: 'www.example.com', apiEndpoint: server.url, authClient })
      await hook(report([{ key: 'index.html', size: 1, reason: 'new' }, { key: 'assets/a-1.js', size: 1, reason: 'new', immutable: true }]))
      expect(server.requests.map((r) => [r.method, r.url, JSON.parse(r.body), r.authorization]).sort()).toEqual([
        ['POST', '/compute/v1/projects/my-project/global/urlMaps/site-lb/invalidateCache', { path: '/', host: 'www.example.com' }, 'Bearer test-token'],
        ['POST', '/compute/v1/projects/my-project/global/urlMaps/site-lb/invalidateCache', { path: '/index.html', host: 'www.example.com' }, 'Bearer test-token'],
      ])
    } finally {
      await server.close()
    }
  })
})
