import { lookup } from 'mrmime'
import picomatch from 'picomatch'
import type { HeaderRule } from '../options.js'
import type { ObjectHeaders } from '../strategy.js'

export type { HeaderRule }

export interface HeaderDefaults {
  /** Vite's `build.assetsDir`: files in it have hashed names and are cached for good. */
  assetsDir: string
  /** Cache-Control of files that are neither hashed assets nor HTML. */
  defaultCacheControl: string
  rules: HeaderRule[]
}

const IMMUTABLE = 'public, max-age=31536000, immutable'
const HTML_CACHE_CONTROL = 'no-cache'

const TEXT_TYPES = new Set(['application/javascript', 'application/json', 'application/xml'])

function withCharset(type: string): string {
  const isText =
    type.startsWith('text/') || TEXT_TYPES.has(type) || type.endsWith('+json') || type.endsWith('+xml')
  return isText ? `${type}; charset=utf-8` : type
}

/** mrmime's type for a path, if its extension is a known one; a name like `__proto__` or `x.constructor` is just unknown. */
export function knownType(path: string): string | undefined {
  const type: unknown = lookup(path)
  return typeof type === 'string' ? type : undefined
}

function typeOf(path: string): string {
  return knownType(path) ?? 'application/octet-stream'
}

export function isHtml(path: string): boolean {
  return /\.html?$/i.test(path)
}

/** Builds the function that gives each path (relative to outDir) its headers. */
export function createHeaderResolver(defaults: HeaderDefaults): (path: string) => ObjectHeaders {
  const assetsPrefix = defaults.assetsDir ? `${defaults.assetsDir.replace(/^\.?\/+|\/+$/g, '')}/` : ''
  const rules = defaults.rules.map((rule) => ({ rule, test: picomatch(rule.match, { dot: true }) }))
  // Without a matching rule, headers depend only on the extension and the folder: thousands of
  // files share a few objects (which nothing mutates), and their fingerprints are computed once.
  const shared = new Map<string, ObjectHeaders>()
  return (path) => {
    const html = isHtml(path)
    const hashed = !html && assetsPrefix !== '' && path.startsWith(assetsPrefix)
    const dot = path.lastIndexOf('.')
    const extension = dot > path.lastIndexOf('/') ? path.slice(dot + 1).toLowerCase() : ''
    const matching = rules.filter(({ test }) => test(path))
    const memoKey = `${extension}\0${html}\0${hashed}`
    if (matching.length === 0) {
      const known = shared.get(memoKey)
      if (known) return known
    }
    const headers: ObjectHeaders = {
      contentType: withCharset(typeOf(path)),
      cacheControl: html ? HTML_CACHE_CONTROL : hashed ? IMMUTABLE : defaults.defaultCacheControl,
    }
    if (matching.length === 0) {
      shared.set(memoKey, headers)
      return headers
    }
    for (const { rule } of matching) {
      if (rule.cacheControl !== undefined) headers.cacheControl = rule.cacheControl
      if (rule.contentType !== undefined) headers.contentType = rule.contentType
      if (rule.contentEncoding !== undefined) headers.contentEncoding = rule.contentEncoding
      if (rule.metadata) headers.metadata = { ...headers.metadata, ...rule.metadata }
    }
    return headers
  }
}

/** A stable string for a set of headers: equal headers, equal fingerprint. */
export function fingerprintHeaders(headers: ObjectHeaders): string {
  const metadata = headers.metadata
    ? Object.keys(headers.metadata)
        .sort()
        .map((k) => [k, headers.metadata?.[k]])
    : []
  const fields: unknown[] = [headers.contentType, headers.cacheControl ?? '', headers.contentEncoding ?? '', metadata]
  if (headers.redirect !== undefined) fields.push(headers.redirect) // only then: other fingerprints stay as they were
  return JSON.stringify(fields)
}
