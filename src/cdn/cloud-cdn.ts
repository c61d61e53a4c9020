import type { AuthClient, GoogleAuthOptions } from 'google-auth-library'
import type { DeployReport } from '../report.js'
import { runPool } from '../pool.js'
import { storageError } from '../strategy.js'
import { importSdk } from '../strategies/utils.js'
import { DEFAULT_MAX_PATHS, type InvalidationOptions, batches, invalidationPaths } from './invalidation.js'

export interface CloudCdnOptions extends InvalidationOptions {
  /** The Google Cloud project of the URL map. */
  project: string
  /** The URL map (load balancer) whose Cloud CDN cache to invalidate. */
  urlMap: string
  /** Only this host's cache. @default every host */
  host?: string
  /** Credentials as for google-auth-library (keyFilename, credentials). @default Application Default Credentials */
  auth?: GoogleAuthOptions
  /** A ready auth client. */
  authClient?: AuthClient
  /** The Compute API's base URL (tests, proxies). @default 'https://compute.googleapis.com' */
  apiEndpoint?: string
  /** Invalidation requests in flight at once (Cloud CDN takes one path per request). @default 4 */
  concurrency?: number
}

/**
 * An `onDeployed` hook that invalidates, in Cloud CDN, the paths a deploy changed that are not
 * cached for good: `onDeployed: cloudCdn({ project, urlMap })`. Needs
 * `compute.urlMaps.invalidateCache` on the URL map (e.g. the Compute Load Balancer Admin role).
 */
export function cloudCdn(options: CloudCdnOptions): (report: DeployReport) => Promise<void> {
  for (const name of ['project', 'urlMap'] as const) {
    if (typeof options?.[name] !== 'string' || options[name] === '') {
      throw new TypeError(`[collectfasta] [cloud-cdn] Missing required option \`${name}\`, e.g. \`cloudCdn({ project: 'my-project', urlMap: 'my-site-lb' })\`.`)
    }
  }
  const base = (options.apiEndpoint ?? 'https://compute.googleapis.com').replace(/\/+$/, '')
  const url = `${base}/compute/v1/projects/${encodeURIComponent(options.project)}/global/urlMaps/${encodeURIComponent(options.urlMap)}/invalidateCache`
  return async (report) => {
    const paths = batches(invalidationPaths(report, options), options.maxPaths ?? DEFAULT_MAX_PATHS, 1).map(([path]) => path as string)
    if (paths.length === 0) return
    let client = options.authClient
    if (!client) {
      const { GoogleAuth } = await importSdk<typeof import('google-auth-library')>('google-auth-library', () => import('google-auth-library'))
      client = (await new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/compute', ...options.auth }).getClient()) as AuthClient
    }
    const auth = client
    await runPool(
      paths,
      async (path) => {
        try {
          await auth.request({ url, method: 'POST', data: { path, ...(options.host && { host: options.host }) } })
        } catch (error) {
          throw storageError('cloud-cdn', `Could not invalidate ${path} on URL map ${options.urlMap}: ${(error as Error).message}. It needs compute.urlMaps.invalidateCache.`, error)
        }
      },
      { limit: options.concurrency ?? 4, stopOnError: true },
    )
  }
}

export default cloudCdn
