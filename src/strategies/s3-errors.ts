import { storageError } from '../strategy.js'

const STRATEGY_NAME = 's3'

export interface SdkError {
  name?: string
  Code?: string
  code?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
  $response?: { headers?: Record<string, string> }
}

/** Explains an SDK error: what went wrong, where, and what to check. */
export function explain(error: unknown, bucket: string, key: string | undefined, endpoint: string | undefined): Error {
  const e = error as SdkError
  const code = e.name ?? e.Code ?? e.code ?? 'Error'
  const status = e.$metadata?.httpStatusCode
  const message = (e.message ?? String(error)).replace(/\.+$/, '')
  const region = e.$response?.headers?.['x-amz-bucket-region']
  const location = e.$response?.headers?.location
  const has = (...codes: string[]) => codes.includes(code)
  let hint: string
  if (has('InvalidAccessKeyId', 'SignatureDoesNotMatch', 'CredentialsProviderError', 'ExpiredToken')) {
    hint = 'The credentials were refused or not found. Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the `credentials` option.'
  } else if (has('NoSuchBucket')) {
    // S3's own message already says it ("The specified bucket does not exist"): say it once.
    const check = 'Check `bucket` (and `endpoint` for S3-compatible services).'
    hint = /does not exist/i.test(message) ? check : `The bucket \`${bucket}\` does not exist. ${check}`
  } else if (has('AccessDenied', 'Forbidden') || status === 403) {
    hint = 'Access denied. The credentials need s3:ListBucket on the bucket and s3:GetObject, s3:PutObject (and s3:DeleteObject if deleting) on its objects.'
  } else if (has('Cancelled')) {
    hint = 'Nothing more is sent; deploy again to finish.'
  } else if (region && (has('PermanentRedirect', 'TemporaryRedirect', 'AuthorizationHeaderMalformed') || status === 301 || status === 307)) {
    hint = `The bucket is in another region (${region}). Set \`region\`: '${region}'.`
  } else if (has('PermanentRedirect', 'TemporaryRedirect') || status === 301 || status === 307) {
    hint = location
      ? `The storage sends this bucket's requests to ${location}. Set \`endpoint\` to that host (https://${location.replace(/^https?:\/\//, '').split('/')[0]}) if you trust it, or check the bucket name.`
      : 'The storage redirected the request without saying where. Check `endpoint` and `bucket`.'
  } else if (has('AuthorizationHeaderMalformed')) {
    hint = 'The request was signed for another region. Set `region` to the bucket\'s region.'
  } else if (has('MalformedAnswer')) {
    hint = `The storage at ${endpoint ?? 'S3'} answered success with a body that is not a whole S3 answer, on every attempt. Check \`endpoint\` (a proxy in front of it may cut answers short).`
  } else if (has('TimeoutError') || /exceeded the configured \d+ ms requestTimeout/.test(message)) {
    hint = `The storage at ${endpoint ?? 'S3'} did not answer, or did not finish its answer, in time (\`timeout\` without progress, plus 4 s per MiB in all; \`requestTimeout\` for large bodies). Check \`endpoint\` and the network.`
  } else if (has('ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET') || /ECONNREFUSED|ENOTFOUND|getaddrinfo/.test(message)) {
    hint = `Could not reach ${endpoint ?? 'S3'}. Check \`endpoint\`, \`region\` and the network.`
  } else if (has('SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests') || status === 503 || status === 429) {
    hint = 'The storage asked to slow down; the deploy lowers its concurrency and retries. Lower `concurrency` if this persists.'
  } else if (/Region is missing/i.test(message)) {
    hint = 'No region is set. Pass `region`, or set AWS_REGION.'
  } else {
    hint = 'Check the bucket, the credentials and the network.'
  }
  const where = key === undefined ? `s3://${bucket}` : `s3://${bucket}/${key}`
  const throttled = has('SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests') || status === 503 || status === 429
  return storageError(STRATEGY_NAME, `${code}${status ? ` (HTTP ${status})` : ''} for ${where}: ${message}. ${hint}`, error, throttled)
}
