import type { CloudFrontClient, CloudFrontClientConfig } from '@aws-sdk/client-cloudfront'
import type { DeployReport } from '../report.js'
import { storageError } from '../strategy.js'
import { importSdk } from '../strategies/utils.js'
import { DEFAULT_MAX_PATHS, type InvalidationOptions, batches, invalidationPaths } from './invalidation.js'

export interface CloudfrontOptions extends InvalidationOptions {
  /** The distribution to invalidate, e.g. 'E2ABCDEF123456'. */
  distributionId: string
  /** Credentials or a provider. @default the SDK's default chain */
  credentials?: CloudFrontClientConfig['credentials']
  /** A ready client. */
  client?: CloudFrontClient
  /** Another endpoint (tests, proxies). @default AWS */
  endpoint?: string
}

/** CloudFront takes up to 3,000 paths in one invalidation. */
const PER_REQUEST = 3000

/**
 * An `onDeployed` hook that invalidates, in CloudFront, the paths a deploy changed that are not
 * cached for good: `onDeployed: cloudfront({ distributionId: 'E2ABCDEF123456' })`. Needs the
 * `cloudfront:CreateInvalidation` permission on the distribution.
 */
export function cloudfront(options: CloudfrontOptions): (report: DeployReport) => Promise<void> {
  if (typeof options?.distributionId !== 'string' || options.distributionId === '') {
    throw new TypeError("[collectfasta] [cloudfront] Missing required option `distributionId`, e.g. `cloudfront({ distributionId: 'E2ABCDEF123456' })`.")
  }
  return async (report) => {
    const groups = batches(invalidationPaths(report, options), options.maxPaths ?? DEFAULT_MAX_PATHS, PER_REQUEST)
    if (groups.length === 0) return
    const sdk = await importSdk<typeof import('@aws-sdk/client-cloudfront')>('@aws-sdk/client-cloudfront', () => import('@aws-sdk/client-cloudfront'))
    const client = options.client ?? new sdk.CloudFrontClient({ region: 'us-east-1', credentials: options.credentials, endpoint: options.endpoint })
    try {
      for (const [i, paths] of groups.entries()) {
        await client.send(
          new sdk.CreateInvalidationCommand({
            DistributionId: options.distributionId,
            InvalidationBatch: { CallerReference: `collectfasta-${Date.now()}-${i}`, Paths: { Quantity: paths.length, Items: paths } },
          }),
        )
      }
    } catch (error) {
      throw storageError('cloudfront', `Could not invalidate distribution ${options.distributionId}: ${(error as Error).message}. It needs cloudfront:CreateInvalidation.`, error)
    } finally {
      if (!options.client) client.destroy()
    }
  }
}

export default cloudfront
