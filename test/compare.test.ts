import { describe, expect, it } from 'vitest'
import { type CompareOptions, type Difference, compareStored } from '../src/core/compare.js'
import type { Entry } from '../src/core/entry.js'
import type { RemoteObject, StoredHeaders } from '../src/strategy.js'

// The one comparison `collectfasta check` reports by and `deploy --verify` uploads by
// (src/core/compare.ts), case by case. The storages are in cli-check.test.ts.

const entry = {
  path: 'index.html',
  key: 'index.html',
  xxh64: 'x1',
  md5: () => 'm1',
  headers: { contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache', metadata: { Team: 'web' } },
  headersFingerprint: 'f1',
} as unknown as Entry

const stored: StoredHeaders = { contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache', contentEncoding: null, metadata: { team: 'web', 'collectfasta-headers': 'f1' } }
const object: RemoteObject = { key: 'index.html', md5: 'm1', xxh64: 'x1', headersFingerprint: 'f1', headers: stored }
const withHeaders = (change: Partial<StoredHeaders>): RemoteObject => ({ ...object, headers: { ...stored, ...change } })

const check: CompareOptions = { strict: true, storesHeaders: true }
const deploy: CompareOptions = { strict: false, storesHeaders: true }
const directory: CompareOptions = { strict: true, storesHeaders: false }

const cases: [string, RemoteObject | undefined, CompareOptions, Difference | undefined][] = [
  ['the same bytes and headers', object, check, undefined],
  ['not stored', undefined, check, { reason: 'missing' }],
  ['other bytes (our xxh64)', { ...object, xxh64: 'x2' }, check, { reason: 'changed' }],
  ['other bytes (MD5 only)', { key: 'index.html', md5: 'm2', headers: stored, headersFingerprint: 'f1' }, check, { reason: 'changed' }],
  ['no digest at all', { key: 'index.html', headers: stored }, check, { reason: 'changed' }],
  ['Content-Type changed, our metadata kept', withHeaders({ contentType: 'text/plain' }), check, { reason: 'headers', why: `Content-Type "text/plain", the build's "text/html; charset=utf-8"` }],
  ['Cache-Control changed', withHeaders({ cacheControl: 'max-age=600' }), check, { reason: 'headers', why: `Cache-Control "max-age=600", the build's "no-cache"` }],
  ['Cache-Control removed', withHeaders({ cacheControl: null }), check, { reason: 'headers', why: `Cache-Control none, the build's "no-cache"` }],
  ['Content-Encoding added', withHeaders({ contentEncoding: 'gzip' }), check, { reason: 'headers', why: `Content-Encoding "gzip", the build's none` }],
  ['a metadata entry of the rules changed (names compared case-insensitively)', withHeaders({ metadata: { team: 'ops', 'collectfasta-headers': 'f1' } }), check, { reason: 'headers', why: `metadata Team "ops", the build's "web"` }],
  ['extra metadata is not ours to judge', withHeaders({ metadata: { team: 'web', owner: 'x', 'collectfasta-headers': 'f1' } }), check, undefined],
  ['stored again without our metadata, headers right', { ...object, headersFingerprint: undefined }, check, { reason: 'headers', why: "stored without collectfasta's metadata" }],
  ['our fingerprint says other header rules', { ...object, headersFingerprint: 'f0' }, check, { reason: 'headers', why: 'stored for other header rules' }],
  ['a field the strategy left out (its own options set it) is not compared', { ...object, headers: { contentType: 'text/plain', metadata: stored.metadata } }, check, { reason: 'headers', why: `Content-Type "text/plain", the build's "text/html; charset=utf-8"` }],
  ['Cache-Control left out by the strategy', { ...object, headers: { contentType: stored.contentType, metadata: stored.metadata } }, check, undefined],
  ['no stored headers: our fingerprint decides', { ...object, headers: undefined, headersFingerprint: 'f0' }, check, { reason: 'headers', why: 'stored for other header rules' }],
  ['no stored headers and no fingerprint: nothing tells, nothing to repair', { ...object, headers: undefined, headersFingerprint: undefined }, check, undefined],
  ['a normal deploy: a changed Content-Type is not seen (it asks nothing more)', withHeaders({ contentType: 'text/plain' }), deploy, undefined],
  ['a normal deploy: no fingerprint of ours, nothing to say', { ...object, headersFingerprint: undefined }, deploy, undefined],
  ['a normal deploy: our fingerprint differs', { ...object, headersFingerprint: 'f0' }, deploy, { reason: 'headers', why: 'stored for other header rules' }],
  ['a normal deploy: other bytes', { ...object, xxh64: 'x2' }, deploy, { reason: 'changed' }],
  ['a directory keeps no headers: none are compared', { ...object, headers: { contentType: 'text/plain', metadata: {} }, headersFingerprint: undefined }, directory, undefined],
  ['a directory: the manifest records other header rules', { ...object, headers: undefined, headersFingerprint: 'f0' }, directory, { reason: 'headers', why: 'stored for other header rules' }],
  ['a directory: other bytes', { ...object, xxh64: 'x2' }, directory, { reason: 'changed' }],
]

describe('compareStored: does the stored object hold this entry, and if not, why?', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(10))
  it.each(cases)('%s', async (_name, remote, options, expected) => {
    expect(await compareStored(remote, entry, options)).toEqual(expected)
  })
})
