import { describe, expect, it } from 'vitest'
import { KEEP, type TrustOutcome, type TrustStart, cacheMayDecide, vouchFor } from '../src/core/trust.js'

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
