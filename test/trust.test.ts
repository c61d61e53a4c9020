import { describe, expect, it } from 'vitest'
import { MANIFEST_FORMAT, MANIFEST_TOOL, type ManifestDeploy, type RemoteManifest } from '../src/core/deploy-manifest.js'
import { KEEP, type TrustOutcome, type TrustStart, cacheMayDecide, deploysSince, vouchFor } from '../src/core/trust.js'

// Every rule about when the cache may vouch lives in src/core/trust.ts: these tables are the
// rules, case by case (the end-to-end cases are in plan-commit.test.ts and safe-deploy.test.ts).

const start: TrustStart = { trustCache: false, verify: false, canProbe: true, canList: true, seen: 'v1', cacheVersion: 'v1' }

describe('cacheMayDecide: does the cache decide what is stored?', () => {
  const cases: [string, Partial<TrustStart>, boolean][] = [
    ['the storage holds the version this cache committed', {}, true],
    ['someone else deployed since (another version)', { seen: 'v2' }, false],
    ['a deploy marked the storage and was killed (pending version)', { seen: 'v1-pending' }, false],
    ['the cache vouches for nothing (a partial, interleaved, failed or cancelled last run)', { cacheVersion: undefined }, false],
    ['there is no manifest at all', { seen: undefined }, false],
    ['the storage names no version', { seen: '?', cacheVersion: '?' }, false],
    ['verify: list whatever the cache says', { verify: true }, false],
    ['verify wins over trustCache', { verify: true, trustCache: true }, false],
    ['trustCache: the user says only this machine deploys', { trustCache: true, seen: 'v2' }, true],
    ['a storage that can tell nothing: the cache is all there is', { canProbe: false, canList: false, seen: undefined }, true],
    ['a storage that can list but has no manifest to probe', { canProbe: false, seen: undefined }, false],
  ]
  it('has cases', () => expect(cases.length).toBeGreaterThan(5))
  it.each(cases)('%s', (_name, change, expected) => {
    expect(cacheMayDecide({ ...start, ...change })).toBe(expected)
  })
})

const outcome: TrustOutcome = {
  succeeded: true,
  partial: false,
  cacheTrusted: true,
  forced: false,
  seen: 'v1',
  read: 'not read',
  pendingFound: false,
  marked: false,
}

describe('vouchFor: what the cache vouches for after a deploy', () => {
  const committed = (interleaved = false) => ({ version: 'v2', interleaved })
  const cases: [string, Partial<TrustOutcome>, string | undefined | typeof KEEP][] = [
    ['a warm no-change deploy: nothing written, the cache still vouches', {}, KEEP],
    ['committed without anyone else writing: the committed version', { marked: true, committed: committed() }, 'v2'],
    ['committed, but another deploy wrote between the probe and the commit', { marked: true, committed: committed(true) }, undefined],
    ['marked, then an upload failed: vouches for nothing', { marked: true, succeeded: false }, undefined],
    ['marked, then cancelled or killed before the commit', { marked: true, succeeded: false }, undefined],
    ['marked, the commit failed', { marked: true }, undefined],
    ['a partial deploy on a trusted cache committed cleanly: the cache already vouched for the rest', { partial: true, marked: true, committed: committed() }, 'v2'],
    ['a partial deploy on an untrusted cache: never vouches for the files it did not look at', { partial: true, cacheTrusted: false, marked: true, committed: committed() }, undefined],
    ['a partial deploy that uploaded nothing, untrusted: leaves the cache as it is', { partial: true, cacheTrusted: false, seen: 'v2', read: 'ok' }, KEEP],
    ['a cold cache that found every file stored: vouches for the version it checked', { cacheTrusted: false, seen: 'v2', read: 'ok' }, 'v2'],
    ['…but not when the manifest was left pending by a deploy that stopped', { cacheTrusted: false, seen: 'v2', read: 'ok', pendingFound: true }, KEEP],
    ['…nor when the manifest could not be read', { cacheTrusted: false, seen: 'v2', read: 'unreadable' }, KEEP],
    ['…nor when the storage names no version', { cacheTrusted: false, seen: '?' }, KEEP],
    ['…nor when there is no manifest (nothing to vouch for)', { cacheTrusted: false, seen: undefined }, KEEP],
    ['forced: nothing was compared', { cacheTrusted: false, forced: true, seen: 'v2' }, KEEP],
    ['an upload failed before any mark (no manifest to write): leaves the cache as it is', { succeeded: false }, KEEP],
    ['a repair commit (nothing uploaded, pending manifest rewritten) on a whole run', { cacheTrusted: false, committed: committed() }, 'v2'],
  ]
  it('has cases', () => expect(cases.length).toBeGreaterThan(10))
  it.each(cases)('%s', (_name, change, expected) => {
    expect(vouchFor({ ...outcome, ...change })).toBe(expected)
  })
})

describe('deploysSince: the deploys that may have written since a plan read the manifest', () => {
  const d = (id: string, state: 'done' | 'open' | 'ended' = 'done'): ManifestDeploy => ({ id, at: '2026-01-01T00:00:00Z', paths: [`${id}.html`], ...(state !== 'done' ? { open: true } : {}), ...(state === 'ended' ? { ended: true } : {}) })
  const m = (deploys: ManifestDeploy[], pending?: ManifestDeploy): RemoteManifest => ({ format: MANIFEST_FORMAT, tool: MANIFEST_TOOL, deploys, files: {}, ...(pending ? { pending } : {}) })
  const cases: [string, RemoteManifest | undefined, RemoteManifest | undefined, string[]][] = [
    ['nothing changed', m([d('a')]), m([d('a')]), []],
    ['a deploy committed since', m([d('b'), d('a')]), m([d('a')]), ['b']],
    ['a deploy pending now (it may still be writing)', m([d('a')], d('b')), m([d('a')]), ['b']],
    ['one pending at the plan and open now: it may have written since', m([d('b', 'open'), d('a')]), m([d('a')], d('b')), ['b']],
    ['one open at the plan and still open: taken as known (it may be dead)', m([d('b', 'open'), d('a')]), m([d('b', 'open'), d('a')]), []],
    ['one open at the plan that has committed since', m([d('b'), d('a')]), m([d('b', 'open'), d('a')]), ['b']],
    ['one open at the plan that has ended since (it stopped and said so)', m([d('b', 'ended'), d('a')]), m([d('b', 'open'), d('a')]), ['b']],
    ['one ended at the plan and still ended', m([d('b', 'ended'), d('a')]), m([d('b', 'ended'), d('a')]), []],
    ['no manifest now', undefined, m([d('a')]), []],
  ]
  it('has cases', () => expect(cases.length).toBeGreaterThan(5))
  it.each(cases)('%s', (_name, now, before, expected) => {
    expect(deploysSince(now, before, 'self').map((x) => x.id)).toEqual(expected)
  })
})
