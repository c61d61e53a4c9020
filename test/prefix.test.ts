import { describe, expect, it } from 'vitest'
import { UsageError, bucketPrefix } from '../src/cli/targets.js'
import { isNormalizedPrefix, normalizePrefix, prefixProblem } from '../src/paths.js'

// One rule (src/paths.ts prefixProblem) for every door: a strategy's `prefix`, a custom
// strategy's `prefix` (isNormalizedPrefix, at validation), and the path of a `--to` URL.
const REFUSED: [string, RegExp][] = [
  ['..', /'\.' or '\.\.' segment/],
  ['.', /'\.' or '\.\.' segment/],
  ['app/../', /'\.' or '\.\.' segment/],
  ['a/../../other/', /'\.' or '\.\.' segment/],
  ['%2e%2e/', /perhaps percent-encoded/],
  ['a/%2E/b', /perhaps percent-encoded/],
  ['.%2e', /perhaps percent-encoded/],
  ['a//b', /empty segment/],
  ['//', /empty segment/],
  ['//a', /empty segment/],
  ['a//', /empty segment/],
  ['a?x=1/', /`\?` or `#`/],
  ['a/#frag', /`\?` or `#`/],
  ['a\\b', /backslash/],
  ['a\0b', /NUL/],
  ['a\nb/', /control character U\+000A/],
  ['/', /names no folder/],
]
const PLAIN: [string, string][] = [
  ['', ''],
  ['static', 'static/'],
  ['/static', 'static/'],
  ['static/', 'static/'],
  ['/static/', 'static/'],
  ['a/b/c/', 'a/b/c/'],
  ['a..b/', 'a..b/'],
  ['.well-known/', '.well-known/'],
  ['%2e%2ex/', '%2e%2ex/'],
]

describe('prefixProblem: one rule for every door', () => {
  it.each(REFUSED)('%j is refused', (prefix, why) => {
    expect(prefixProblem(prefix)).toMatch(why)
    expect(() => normalizePrefix('s3', prefix)).toThrow(TypeError)
    expect(isNormalizedPrefix(prefix.endsWith('/') ? prefix : `${prefix}/`)).toBe(false)
  })

  it.each(PLAIN)('%j is a plain prefix: %j', (prefix, normalized) => {
    expect(prefixProblem(prefix)).toBeUndefined()
    expect(normalizePrefix('s3', prefix)).toBe(normalized)
    expect(isNormalizedPrefix(normalized)).toBe(true)
  })

  it('a strategy names itself and the fix in one sentence', () => {
    expect(() => normalizePrefix('gcs', 'app/../')).toThrow(
      /^\[collectfasta\] \[gcs\] The prefix "app\/\.\.\/" is not a plain path: it has a '\.' or '\.\.' segment \(perhaps percent-encoded\), which would resolve to another folder\. Name the folder plainly, e.g\. 'site\/' or 'a\/b\/'\.$/,
    )
  })
})

describe('bucketPrefix: the prefix of --to, read from the URL as written', () => {
  // Each of these targeted the bucket's root (or `other/`) through `new URL()`'s resolution.
  it.each([
    's3://site/app/../',
    's3://site/..',
    's3://site/%2e%2e/',
    's3://site//',
    's3://site?x=1/',
    's3://site/#frag',
    's3://site/a/../../other/',
    'gs://site/a/%2E%2E/b/',
    's3://site/a%2F..%2Fb/',
    's3://site/a%2F%2Fb/',
    's3://site/a%zz/',
  ])('%s is a usage error', (to) => {
    const scheme = to.slice(0, to.indexOf(':') + 1)
    expect(() => bucketPrefix(to, scheme)).toThrow(UsageError)
    expect(() => bucketPrefix(to, scheme)).toThrow(/has a prefix that is not a plain path: .*\. Name the folder plainly, e\.g\. --to (s3|gs):\/\/my-bucket\/site\/\.$/)
  })

  it.each([
    ['s3://site', ''],
    ['s3://site/', ''],
    ['s3://site/app', 'app'],
    ['s3://site/app/', 'app/'],
    ['s3://site/a/b/', 'a/b/'],
    ['s3://site/caf%C3%A9/', 'café/'],
    ['gs://site/with%20space/', 'with space/'],
  ])('%s has the prefix %j', (to, prefix) => {
    expect(bucketPrefix(to, to.slice(0, 3))).toBe(prefix)
  })
})
