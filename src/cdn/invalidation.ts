import type { DeployReport } from '../report.js'

/** Options every CDN hook shares. */
export interface InvalidationOptions {
  /**
   * The part of each key the CDN does not show in its URLs (CloudFront's origin path, a bucket
   * prefix behind a URL map): `site/` makes the key `site/about.html` the path `/about.html`.
   * @default ''
   */
  originPath?: string
  /**
   * Above this many paths, invalidate everything (`/*`, one path) instead: cheaper and faster
   * than thousands of single paths.
   * @default 500
   */
  maxPaths?: number
}

/**
 * The URL paths a CDN must forget after a deploy: every uploaded file that is not cached for
 * good (HTML, unhashed files; hashed assets never change under their name) and every deleted
 * one, as the CDN sees them. An `index.html` is also its folder's URL (`/about/`, `/`).
 */
export function invalidationPaths(report: DeployReport, options: InvalidationOptions = {}): string[] {
  const origin = (options.originPath ?? '').replace(/^\/+/, '')
  const keys = [...report.uploaded.filter((u) => !u.immutable).map((u) => u.key), ...report.deleted]
  const paths = new Set<string>()
  for (const key of keys) {
    const path = origin && key.startsWith(origin) ? key.slice(origin.length) : key
    const url = `/${path.split('/').map(encodeURIComponent).join('/')}`
    paths.add(url)
    if (url.endsWith('/index.html')) paths.add(url.slice(0, -'index.html'.length))
  }
  return [...paths].sort()
}

/** The paths in batches of at most `batch`, or `['/*']` alone above `maxPaths`. */
export function batches(paths: string[], maxPaths: number, batch: number): string[][] {
  if (paths.length === 0) return []
  if (paths.length > maxPaths) return [['/*']]
  const out: string[][] = []
  for (let i = 0; i < paths.length; i += batch) out.push(paths.slice(i, i + batch))
  return out
}

export const DEFAULT_MAX_PATHS = 500
