import type { ObjectCannedACL, PutObjectCommandInput, S3Client, S3ClientConfig, ServerSideEncryption, StorageClass } from '@aws-sdk/client-s3'
import { redactUrl } from '../redact.js'
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
  /** AWS region. @default the SDK's chain (AWS_REGION, profile), or 'us-east-1' with a custom `endpoint` */
  region?: string
  /** Endpoint of an S3-compatible service (R2, MinIO, Backblaze B2, DigitalOcean Spaces…). @default AWS */
  endpoint?: string
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible services need. @default false */
  forcePathStyle?: boolean
  /** Credentials or a provider. @default the SDK's default chain (env, profile, SSO, instance role) */
  credentials?: S3ClientConfig['credentials']
  /** A ready client; region, endpoint, credentials and retries are then the client's own. */
  client?: S3Client
  /** Canned ACL for every object. Never set unless asked: buckets are private by default. @default undefined */
  acl?: ObjectCannedACL
  /** Storage class for every object, e.g. 'STANDARD_IA'. @default the bucket's default */
  storageClass?: StorageClass
  /** Server-side encryption: 'AES256' (SSE-S3), 'aws:kms' or 'aws:kms:dsse'. @default the bucket's default */
  serverSideEncryption?: ServerSideEncryption
  /** KMS key id for SSE-KMS. @default the AWS managed key */
  sseKmsKeyId?: string
  /** Extra PutObject / CreateMultipartUpload parameters, fixed or per file (e.g. `ContentDisposition`, `Tagging`). */
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
   * Attempts per request, including the first; the SDK retries with backoff and jitter.
   * @default 3
   */
  maxAttempts?: number
  /**
   * The SDK's request checksums. Several S3-compatible servers reject or corrupt the newer
   * aws-chunked bodies, so with a custom `endpoint` this defaults to 'WHEN_REQUIRED'.
   * Every upload carries a Content-MD5 either way, which S3 verifies.
   * @default 'WHEN_SUPPORTED' on AWS, 'WHEN_REQUIRED' with a custom endpoint
   */
  requestChecksumCalculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED'
  /**
   * Milliseconds a small request (LIST, HEAD, GET, DELETE, a PUT up to 1 MiB) may take before it
   * is abandoned and retried: an endpoint that accepts connections but never answers fails the
   * deploy in seconds, not minutes. Larger single PUTs get this plus 4 s per MiB.
   * @default 10000
   */
  timeout?: number
  /**
   * Milliseconds a large body (each multipart part, and the completion) may take before it is
   * abandoned and retried.
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
