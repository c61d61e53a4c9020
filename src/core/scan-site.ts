import type { ResolvedDeploy } from '../resolve.js'
import { compressionPlan } from './compress.js'
import type { Entry } from './entry.js'
import { siteRedirects } from './redirects.js'
import { scan } from './scan.js'

/** Every file of the output, hashed, with its headers and upload group (the manifest's own path left out). */
export async function scanSite(o: ResolvedDeploy): Promise<Entry[]> {
  const compressionMode = o.strategy.compression ?? 'in-place'
  const compression = compressionPlan(o.compress, compressionMode)
  const entries = (
    await scan({
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
      warn: o.logger.warn,
    })
  ).filter((entry) => entry.path !== o.manifestPath)
  if (o.strategy.websiteRedirects) entries.push(...(await siteRedirects(entries, o.redirects, o.outDir, o.prefix, o.logger.warn)))
  if (entries.length === 0) {
    const filtered = o.include || o.exclude ? ' that pass include/exclude' : ''
    throw new Error(`[collectfasta] Nothing to deploy: ${o.outDir} has no files${filtered}. Build first, or check outDir, include and exclude.`)
  }
  return entries
}

