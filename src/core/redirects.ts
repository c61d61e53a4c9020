import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadHasher } from '../hash.js'
import { withContent } from './content.js'
import type { ObjectHeaders } from '../strategy.js'
import type { Entry } from './entry.js'
import { GROUP_LAST } from './entry.js'
import { fingerprintHeaders } from './headers.js'
import { urlFiles } from '../site/layout.js'

/** One redirect: a path of the site, and where it now lives (a path or a URL). */
export interface Redirect {
  /** The old path, from the site's root: `/old`, or `/old/` for a folder. */
  from: string
  /** The new location: `/new` or `https://example.com/new`. */
  to: string
}

/**
 * The rules of a Netlify-style `_redirects` file that a storage's per-object redirects can
 * hold: plain `from to [301|302]` lines. Splats, placeholders, query conditions and rewrites
 * (status 200) are skipped and counted.
 */
export function parseRedirectsFile(text: string): { rules: Redirect[]; skipped: number } {
  const rules: Redirect[] = []
  let skipped = 0
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim()
    if (line === '') continue
    const [from, to, status, ...rest] = line.split(/\s+/)
    const plain = from !== undefined && to !== undefined && from.startsWith('/') && !/[*:?]/.test(from) && rest.length === 0
    if (plain && (status === undefined || /^30[12]!?$/.test(status))) rules.push({ from, to })
    else skipped++
  }
  return { rules, skipped }
}

/** The key a redirect is stored under: `/old` → `old`, `/old/` → `old/index.html` (the index document). */
export function redirectKey(from: string): string {
  const path = from.replace(/^\/+/, '')
  return urlFiles(path)[0] as string
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;')
}

/**
 * Redirects as entries of the deploy: a small HTML page that also redirects where the storage's
 * redirect is not applied (a REST origin), stored with the redirect (`headers.redirect`, S3's
 * x-amz-website-redirect-location), uploaded last with the HTML, recorded and pruned like any file.
 */
function redirectEntries(rules: (Redirect & { origin: string })[], prefix: string, hash: (bytes: Uint8Array) => string): Entry[] {
  return rules.map(({ from, to, origin }) => {
    const path = redirectKey(from)
    const bytes = Buffer.from(`<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=${escapeHtml(to)}"><link rel="canonical" href="${escapeHtml(to)}">\n`)
    const headers: ObjectHeaders = { contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache', redirect: to }
    return withContent(
      { path, key: prefix + path, size: bytes.byteLength, xxh64: hash(bytes), headers, headersFingerprint: hash(Buffer.from(fingerprintHeaders(headers))), group: GROUP_LAST, origin },
      { kind: 'memory', bytes },
    )
  })
}

/**
 * The redirects a deploy stores (where its strategy stores redirects): the option's, then the
 * plain rules of `outDir`'s `_redirects`; `skipped` counts that file's rules it cannot store.
 */
export function storedRedirects(rules: Redirect[], outDir: string): { rules: (Redirect & { origin: string })[]; skipped: number } {
  const all = rules.map((rule) => ({ ...rule, origin: `the redirect from ${rule.from}` }))
  const file = join(outDir, '_redirects')
  if (!existsSync(file)) return { rules: all, skipped: 0 }
  const parsed = parseRedirectsFile(readFileSync(file, 'utf8'))
  all.push(...parsed.rules.map((rule) => ({ ...rule, origin: `the redirect from ${rule.from} in _redirects` })))
  return { rules: all, skipped: parsed.skipped }
}

/**
 * The redirects to store, as entries. Their keys are checked with every other entry's by
 * `admitEntries` (keys.ts): a collision with a file, with another redirect or with the deploy
 * manifest is an error.
 */
export async function siteRedirects(rules: Redirect[], outDir: string, prefix: string, warn: (message: string) => void): Promise<Entry[]> {
  const stored = storedRedirects(rules, outDir)
  if (stored.skipped > 0) {
    warn(`[collectfasta] ${stored.skipped} rule(s) of _redirects were not stored (splats, placeholders, rewrites): S3 redirects are one object per path.`)
  }
  return redirectEntries(stored.rules, prefix, await loadHasher())
}
