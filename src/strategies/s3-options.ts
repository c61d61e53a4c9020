import type { ObjectCannedACL, PutObjectCommandInput, S3Client, ServerSideEncryption, StorageClass } from '@aws-sdk/client-s3'
import { redactUrl } from '../redact.js'
import type { CredentialsOption } from './s3-config.js'
import type { UploadFile } from '../strategy.js'
import { validateBucketOptions } from './utils.js'

const STRATEGY_NAME = 's3'
const MiB = 1024 * 1024

export interface S3Options {
  /** The bucket to deploy into. */
  bucket: string
  /**
   * Key prefix (a "folder") for every object. `static`, `/static` and `static/` are the same.
   * @default ''
   */
  prefix?: string
  /**
   * AWS region. Without it (and without `endpoint`), a bucket found in another region is asked
   * again there, as the SDK's region redirects do.
   * @default the SDK's chain (AWS_REGION, the profile's region), or 'us-east-1' with a custom `endpoint`
   */
  region?: string
  /** Endpoint of an S3-compatible service (R2, MinIO, Backblaze B2, DigitalOcean Spaces…). @default AWS */
  endpoint?: string
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible services need. @default false */
  forcePathStyle?: boolean
  /**
   * Credentials, or a provider of them (any of the SDK's `fromIni()`, `fromSSO()`… fits); a
   * provider is asked again before temporary credentials expire.
   * @default the AWS SDK's default chain (`@aws-sdk/credential-provider-node`: environment, shared config and SSO, web identity, ECS and EC2 metadata)
   */
  credentials?: CredentialsOption
  /**
   * A ready S3Client of `@aws-sdk/client-s3`: every request then goes through it (its region,
   * endpoint, credentials, retries and middleware), instead of the strategy's own lean transport.
   * @default undefined (the lean transport)
   */
  client?: S3Client
  /** Canned ACL for every object. Never set unless asked: buckets are private by default. @default undefined */
  acl?: ObjectCannedACL
  /** Storage class for every object, e.g. 'STANDARD_IA'. @default the bucket's default */
  storageClass?: StorageClass
  /** Server-side encryption: 'AES256' (SSE-S3), 'aws:kms' or 'aws:kms:dsse'. @default the bucket's default */
  serverSideEncryption?: ServerSideEncryption
  /** KMS key id for SSE-KMS. @default the AWS managed key */
  sseKmsKeyId?: string
  /**
   * Extra PutObject / CreateMultipartUpload parameters by the SDK's names, fixed or per file (e.g.
   * `ContentDisposition`, `Tagging`, `Metadata`, `ContentLanguage`, `Expires`, `SSECustomerKey`,
   * `ObjectLockMode`, `ExpectedBucketOwner`). A name the strategy does not send is refused with a
   * sentence; with your own `client`, any PutObject parameter goes.
   */
  params?: Partial<PutObjectCommandInput> | ((file: UploadFile) => Partial<PutObjectCommandInput>)
  /**
   * Files of this many bytes or more are uploaded in parts.
   * @default 8 MiB
   */
  multipartThreshold?: number
  /**
   * Size of each part (S3 needs at least 5 MiB, except for the last).
   * @default 8 MiB
   */
  partSize?: number
  /**
   * Parts of one file uploaded at once. Across all files, parts in flight hold at most 256 MiB
   * (32 parts of 8 MiB), shared with whole small files being uploaded; each is read from disk
   * as it goes.
   * @default 4
   */
  partConcurrency?: number
  /**
   * Attempts per request, including the first: 5xx, 429, SlowDown, timeouts and dropped
   * connections are retried with backoff and jitter. With a `client`, the client's own setting
   * retries, and a read ends within `maxAttempts` × `timeout` (plus 4 s per MiB) in all.
   * @default 3
   */
  maxAttempts?: number
  /**
   * @deprecated Has no effect: the lean transport sends a Content-MD5 (which S3 verifies) and a
   * signed SHA-256 of every body, never the aws-chunked bodies several S3-compatible servers
   * refuse. With your own `client`, the client's setting applies. Kept so existing configs load.
   */
  requestChecksumCalculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED'
  /**
   * Milliseconds without progress before a request is abandoned and retried; the whole request
   * may take this plus 4 s per MiB over 1 MiB of its body, sent or answered. An endpoint that
   * never answers, or trickles its answer, fails the deploy in seconds, not minutes.
   * @default 10000
   */
  timeout?: number
  /**
   * The same for a large body (each multipart part, and the completion): without progress, and
   * plus 4 s per MiB in all.
   * @default 120000
   */
  requestTimeout?: number
  /**
   * Uploads in flight at once with this strategy, when the plugin's (or `deploy()`'s) own
   * `concurrency` is not set: that one, when set, wins.
   * @default the plugin's concurrency (64)
   */
  concurrency?: number
}

function fail(message: string): never {
  throw new TypeError(`[collectfasta] [${STRATEGY_NAME}] ${message}`)
}

export function validate(options: S3Options): void {
  validateBucketOptions(STRATEGY_NAME, options, ['multipartThreshold', 'partSize', 'partConcurrency', 'maxAttempts', 'concurrency', 'requestTimeout', 'timeout'])
  if (options.partSize !== undefined && options.partSize < 5 * MiB) fail(`Expected \`partSize\` to be at least 5 MiB (S3's minimum), got ${options.partSize}.`)
  if (options.endpoint !== undefined) {
    // Never printed as given: it may carry credentials (https://KEY:SECRET@host), and the URL
    // parser's own error would keep them (in `.input`).
    const shown = () => JSON.stringify(redactUrl(String(options.endpoint)))
    const example = "a URL like 'https://<account>.r2.cloudflarestorage.com'"
    if (typeof options.endpoint !== 'string' || !/^https?:\/\//i.test(options.endpoint)) fail(`Expected \`endpoint\` to be ${example}, got ${shown()}.`)
    if (!URL.canParse(options.endpoint)) fail(`Expected \`endpoint\` to be ${example}, got ${shown()}, which is not a valid URL (a secret holding '/' or '@' must be percent-encoded).`)
  }
}

/** An endpoint without its userinfo, and that userinfo as S3 credentials. */
export function splitEndpoint(endpoint: string | undefined) {
  if (endpoint === undefined) return { endpoint }
  const url = new URL(endpoint)
  if (!url.username && !url.password) return { endpoint }
  const userinfo = { accessKeyId: decodeURIComponent(url.username), secretAccessKey: decodeURIComponent(url.password) }
  url.username = ''
  url.password = ''
  return { endpoint: url.href.replace(/\/$/, endpoint.endsWith('/') ? '/' : ''), userinfo }
}
