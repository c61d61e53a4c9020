import type { CollectfastaOptions } from './options.js'
import { isNormalizedPrefix, validatePath } from './paths.js'

/** Checking options at config time: every mistake is a TypeError naming the option and the fix. */

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return `an array (${JSON.stringify(value)})`
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

function fail(name: string, expected: string, value: unknown): never {
  throw new TypeError(`[collectfasta] Expected \`${name}\` to be ${expected}, got ${describe(value)}.`)
}

function isGlobs(value: unknown): boolean {
  return (
    (typeof value === 'string' && value !== '') ||
    (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== ''))
  )
}

/** Checks options at config time; every mistake is a TypeError naming the option. */
export function validateOptions(options: unknown): asserts options is CollectfastaOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail('options', 'an object like `{ strategy: filesystem({ dir }) }`', options)
  }
  const o = options as Record<string, unknown>
  const strategy = o.strategy as Record<string, unknown> | undefined
  if (typeof strategy !== 'object' || strategy === null) {
    fail('strategy', 'a strategy such as `filesystem({ dir })`, `s3({ bucket })` or `gcs({ bucket })`', strategy)
  }
  if (typeof strategy.name !== 'string' || strategy.name === '') fail('strategy.name', 'a non-empty string', strategy.name)
  if (typeof strategy.target !== 'string' || strategy.target === '') {
    fail('strategy.target', 'a non-empty string naming where it writes', strategy.target)
  }
  if (typeof strategy.upload !== 'function') fail('strategy.upload', 'a function', strategy.upload)
  for (const method of ['list', 'stat', 'get', 'delete', 'dispose', 'bindRoot']) {
    if (strategy[method] !== undefined && typeof strategy[method] !== 'function') {
      fail(`strategy.${method}`, 'a function or undefined', strategy[method])
    }
  }
  if (strategy.localDir !== undefined && typeof strategy.localDir !== 'string') fail('strategy.localDir', 'an absolute path or undefined', strategy.localDir)
  if (strategy.concurrency !== undefined && !(Number.isInteger(strategy.concurrency) && (strategy.concurrency as number) >= 1)) {
    fail('strategy.concurrency', 'an integer ≥ 1 (the strategy would upload nothing)', strategy.concurrency)
  }
  if (strategy.compression !== undefined && strategy.compression !== 'in-place' && strategy.compression !== 'siblings') {
    fail('strategy.compression', "'in-place' or 'siblings'", strategy.compression)
  }
  if (strategy.prefix !== undefined && (typeof strategy.prefix !== 'string' || !isNormalizedPrefix(strategy.prefix))) {
    fail('strategy.prefix', "'' or a relative POSIX path ending in '/'", strategy.prefix)
  }
  for (const flag of ['enabled', 'dryRun', 'force', 'watch', 'trustRemoteManifest', 'trustCache', 'verify', 'githubActions']) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') fail(flag, 'a boolean', o[flag])
  }
  if (o.concurrency !== undefined && !(Number.isInteger(o.concurrency) && (o.concurrency as number) >= 1)) {
    fail('concurrency', 'an integer ≥ 1', o.concurrency)
  }
  for (const name of ['cacheDir', 'reportFile', 'defaultCacheControl', 'site', 'release']) {
    if (o[name] !== undefined && (typeof o[name] !== 'string' || o[name] === '')) fail(name, 'a non-empty string', o[name])
  }
  for (const name of ['include', 'exclude']) {
    if (o[name] !== undefined && !isGlobs(o[name])) fail(name, 'a glob or a non-empty array of globs', o[name])
  }
  if (o.manifest !== undefined && o.manifest !== false && (typeof o.manifest !== 'string' || validatePath(o.manifest) !== undefined)) {
    fail('manifest', "false or a relative path like '.collectfasta/manifest.json'", o.manifest)
  }
  if (o.onDeployed !== undefined && typeof o.onDeployed !== 'function') fail('onDeployed', 'a function', o.onDeployed)
  if (o.prune && o.manifest === false) {
    throw new TypeError('[collectfasta] `prune` needs the deploy manifest (it records which deploy wrote what): remove `manifest: false`.')
  }
  // A capability an option needs is refused here, never silently off later.
  const can = (method: string) => typeof strategy[method] === 'function'
  if (o.prune && !can('delete')) {
    throw new TypeError(`[collectfasta] \`prune\` needs a strategy that can delete, and ${String(strategy.name)} has no \`delete\`: remove \`prune\`.`)
  }
  if (o.prune && !can('get')) {
    throw new TypeError(`[collectfasta] \`prune\` needs the deploy manifest, which ${String(strategy.name)} cannot read back (no \`get\`): remove \`prune\`.`)
  }
  if (typeof o.manifest === 'string' && !can('get')) {
    throw new TypeError(
      `[collectfasta] The deploy manifest needs a strategy that can read it back, and ${String(strategy.name)} has no \`get\`: set \`manifest: false\` or add \`get\`.`,
    )
  }
  if (o.prune !== undefined && typeof o.prune !== 'boolean') {
    if (typeof o.prune !== 'object' || o.prune === null) fail('prune', 'a boolean or `{ keepDeploys, maxDeletes, unknown }`', o.prune)
    const p = o.prune as Record<string, unknown>
    for (const name of ['keepDeploys', 'maxDeletes']) {
      if (p[name] !== undefined && !(Number.isInteger(p[name]) && (p[name] as number) >= 1)) fail(`prune.${name}`, 'an integer ≥ 1', p[name])
    }
    if (p.unknown !== undefined && typeof p.unknown !== 'boolean') fail('prune.unknown', 'a boolean', p.unknown)
    if (p.minShare !== undefined && !(typeof p.minShare === 'number' && p.minShare >= 0 && p.minShare <= 1)) {
      fail('prune.minShare', 'a number from 0 to 1', p.minShare)
    }
  }
  if (o.compress !== undefined && typeof o.compress !== 'boolean') {
    if (typeof o.compress !== 'object' || o.compress === null) fail('compress', 'a boolean or `{ gzip, brotli, match, minSize }`', o.compress)
    const c = o.compress as Record<string, unknown>
    for (const name of ['gzip', 'brotli']) if (c[name] !== undefined && typeof c[name] !== 'boolean') fail(`compress.${name}`, 'a boolean', c[name])
    if (c.match !== undefined && !isGlobs(c.match)) fail('compress.match', 'a glob or a non-empty array of globs', c.match)
    if (c.minSize !== undefined && !(Number.isInteger(c.minSize) && (c.minSize as number) >= 0)) fail('compress.minSize', 'an integer ≥ 0', c.minSize)
  }
  if (o.directoryIndex !== undefined && typeof o.directoryIndex !== 'boolean') {
    if (typeof o.directoryIndex !== 'object' || o.directoryIndex === null) fail('directoryIndex', 'a boolean or `{ slash, bare, html }`', o.directoryIndex)
    const d = o.directoryIndex as Record<string, unknown>
    for (const name of ['slash', 'bare', 'html']) if (d[name] !== undefined && typeof d[name] !== 'boolean') fail(`directoryIndex.${name}`, 'a boolean', d[name])
  }
  if (o.redirects !== undefined) {
    if (!Array.isArray(o.redirects)) fail('redirects', "an array like `[{ from: '/old', to: '/new' }]`", o.redirects)
    o.redirects.forEach((r: unknown, i: number) => {
      const rule = r as Record<string, unknown>
      if (typeof rule?.from !== 'string' || !rule.from.startsWith('/') || /[*:?]/.test(rule.from)) fail(`redirects[${i}].from`, "a path from the site's root like '/old' (no wildcards)", rule?.from)
      if (typeof rule.to !== 'string' || rule.to === '') fail(`redirects[${i}].to`, "a path like '/new' or a URL", rule.to)
    })
    if (o.redirects.length > 0 && strategy.websiteRedirects !== true) {
      throw new TypeError(
        `[collectfasta] \`redirects\` need a storage with per-object redirects (S3 website endpoints), and ${String(strategy.name)} has none: configure them in your CDN, load balancer or web server instead.`,
      )
    }
  }
  if (o.directoryIndex && strategy.name === 'fs') {
    throw new TypeError(
      '[collectfasta] `directoryIndex` is for object storages: a web server serving a directory maps /about/ to about/index.html itself (nginx try_files, Apache DirectoryIndex). Remove it.',
    )
  }
  if (o.notDeployed !== undefined && o.notDeployed !== 'fail' && o.notDeployed !== 'warn') fail('notDeployed', "'fail' or 'warn'", o.notDeployed)
  if (o.source !== undefined && o.source !== 'bundle' && o.source !== 'outDir') {
    fail('source', "'bundle' or 'outDir'", o.source)
  }
  if (o.headers !== undefined) {
    if (!Array.isArray(o.headers)) fail('headers', 'an array of rules like `{ match, cacheControl }`', o.headers)
    o.headers.forEach((rule: unknown, i: number) => {
      const name = `headers[${i}]`
      if (typeof rule !== 'object' || rule === null) fail(name, 'an object like `{ match, cacheControl }`', rule)
      const r = rule as Record<string, unknown>
      if (!isGlobs(r.match)) fail(`${name}.match`, 'a glob or a non-empty array of globs', r.match)
      for (const field of ['cacheControl', 'contentType', 'contentEncoding']) {
        if (r[field] !== undefined && typeof r[field] !== 'string') fail(`${name}.${field}`, 'a string', r[field])
      }
      if (r.metadata !== undefined) {
        const m = r.metadata
        if (typeof m !== 'object' || m === null || Object.values(m).some((v) => typeof v !== 'string')) {
          fail(`${name}.metadata`, 'an object of string values', m)
        }
      }
    })
  }
}
