import type { ResolvedDeploy } from '../resolve.js'
import { compressionPlan } from './compress.js'
import type { Entry } from './entry.js'
import { admitEntries } from './keys.js'
import { siteRedirects } from './redirects.js'
import { type ScanInput, scan } from './scan.js'

/**
 * Every file of the output (and redirect), hashed, with its headers and upload group, through one
 * gate (keys.ts). `likelyUploaded`: which files to keep from the scan for their upload (see scan).
 */
export async function scanSite(o: ResolvedDeploy, likelyUploaded?: ScanInput['likelyUploaded']): Promise<Entry[]> {
  const compressionMode = o.strategy.compression ?? 'in-place'
  const compression = compressionPlan(o.compress, compressionMode)
  const scanned = await scan({
    outDir: o.outDir,
    prefix: o.prefix,
    inMemory: o.files,
    include: o.include,
    exclude: o.exclude,
    assetsDir: o.assetsDir,
    defaultCacheControl: o.defaultCacheControl,
    rules: o.headers,
    compression: compression && { plan: compression, mode: compressionMode },
    directoryIndex: o.directoryIndex,
    likelyUploaded,
    warn: o.logger.warn,
  })
  if (o.strategy.websiteRedirects) scanned.push(...(await siteRedirects(o.redirects, o.outDir, o.prefix, o.logger.warn)))
  // Every entry's path and key checked, the manifest's path kept for the manifest, one entry per key.
  const entries = admitEntries(scanned, o.manifestPath, o.logger.warn)
  if (entries.length === 0) {
    const filtered = o.include || o.exclude ? ' that pass include/exclude' : ''
    throw new Error(`[collectfasta] Nothing to deploy: ${o.outDir} has no files${filtered}. Build first, or check outDir, include and exclude.`)
  }
  return entries
}

