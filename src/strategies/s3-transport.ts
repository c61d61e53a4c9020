import type { Pool } from 'undici'
import { retryDelay } from '../strategy.js'
import { loadUndici, timedRequest } from './undici.js'
import { pause } from './utils.js'
import { createHash } from 'node:crypto'

/**
 * The S3 strategy's own HTTP path: undici's request API (one pool per origin, sized to the
 * concurrency) and aws4's SigV4 signing. The AWS SDK's middleware stack costs about four times
 * the CPU per request (bench/RESULTS.md); what it did for us is done here: retries with backoff,
 * timeouts, region redirects, refreshed credentials.
 */

export interface S3Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  /** When temporary credentials expire; they are asked for again 5 minutes before. */
  expiration?: Date
}

/** Credentials, fresh ones when `forceRefresh` (the SDK's providers take the same flag). */
export type CredentialsProvider = (options?: { forceRefresh?: boolean }) => Promise<S3Credentials>

export interface TransportOptions {
  /** The origin (and base path) of a request in `region`, e.g. `https://bucket.s3.eu-west-1.amazonaws.com`. */
  baseFor(region: string): string
  /** Whether an S3 "wrong region" answer moves the bucket to the region it names (AWS only, not a custom endpoint). */
  followRegionRedirects: boolean
  region: () => Promise<string>
  credentials: CredentialsProvider
  maxAttempts: number
  connections: number
  connectTimeout: number
}

export interface S3Request {
  method: 'GET' | 'PUT' | 'POST' | 'HEAD' | 'DELETE'
  /** The object key (unencoded); absent for requests on the bucket. */
  key?: string
  /** Query parameters, unencoded. */
  query?: Record<string, string>
  headers?: Record<string, string>
  body?: Uint8Array
  /**
   * Milliseconds without progress before the attempt is abandoned (and retried); the whole
   * attempt may take this plus 4 s per MiB over 1 MiB of the body sent or announced.
   */
  timeout: number
  /** Answer bodies longer than this are refused. @default 64 MiB */
  maxBody?: number
  /** Abandons the request and its retries once it aborts (a read a cancelled deploy no longer needs). */
  signal?: AbortSignal
}

export interface S3Response {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

const MiB = 1024 * 1024
const EMPTY_SHA256 = createHash('sha256').digest('hex')
/** Network failures worth another attempt: the SDK's list, and undici's own names for them. */
const TRANSIENT = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ERR_DEADLINE'])
const THROTTLES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests', 'RequestThrottled'])
/** A success whose body is not what the request asks for (cut short, not the document): a failure of that attempt. */
export const MALFORMED = 'MalformedAnswer'
const RETRIED_CODES = new Set(['InternalError', 'RequestTimeout', 'ServiceUnavailable', MALFORMED, ...THROTTLES])
const EXPIRED = new Set(['ExpiredToken', 'TokenRefreshRequired', 'InvalidToken'])

/**
 * An S3 answer that is not a success, shaped as the SDK's errors are (`name`, `$metadata`,
 * `$response`), so one explanation serves both paths.
 */
export class S3Error extends Error {
  readonly $metadata: { httpStatusCode?: number }
  readonly $response: { headers: Record<string, string> }
  constructor(code: string, message: string, status: number | undefined, headers: Record<string, string> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = code
    this.$metadata = { httpStatusCode: status }
    this.$response = { headers }
  }
}

/** An S3 path segment: every byte but the unreserved ones percent-encoded, as SigV4 wants. */
export function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replaceAll('%2F', '/')
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** The fields of an S3 error document (a few hundred bytes: a regular expression is enough). */
function errorFields(body: Buffer): { code?: string; message?: string; region?: string; endpoint?: string } {
  const text = body.subarray(0, 16_384).toString('utf8')
  const field = (name: string) => text.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1]
  return { code: field('Code'), message: field('Message'), region: field('Region'), endpoint: field('Endpoint') }
}

const STATUS_CODES: Record<number, string> = { 301: 'PermanentRedirect', 307: 'TemporaryRedirect', 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 412: 'PreconditionFailed', 429: 'TooManyRequests', 500: 'InternalError', 503: 'SlowDown' }

function answerError(status: number, headers: S3Response['headers'], body: Buffer): S3Error {
  const fields = errorFields(body)
  const plain: Record<string, string> = {}
  const region = firstHeader(headers['x-amz-bucket-region']) ?? fields.region
  if (region) plain['x-amz-bucket-region'] = region
  // Where a redirect sends the request: its Location, or the <Endpoint> S3 names.
  const location = firstHeader(headers.location) ?? fields.endpoint
  if (location) plain.location = location
  const code = fields.code ?? STATUS_CODES[status] ?? (status >= 500 ? 'InternalError' : 'UnknownError')
  return new S3Error(code, fields.message ?? `HTTP ${status}`, status, plain)
}

/** The URL a bucket's requests go to: the endpoint given (path-style or virtual-hosted), or AWS's regional one. */
export function bucketBase(bucket: string, endpoint: string | undefined, pathStyle: boolean) {
  if (endpoint) {
    const url = new URL(endpoint)
    const path = url.pathname.replace(/\/$/, '')
    return () => (pathStyle ? `${url.origin}${path}/${bucket}` : `${url.protocol}//${bucket}.${url.host}${path}`)
  }
  // A bucket name with dots would not match S3's certificate as a host name: path-style, as the SDK does.
  const virtual = !pathStyle && /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket)
  return (region: string) => {
    const host = `s3.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`
    return virtual ? `https://${bucket}.${host}` : `https://${host}/${bucket}`
  }
}

export interface Transport {
  /**
   * Sends a request, retrying what is worth it. `read` turns a success into its result, or
   * throws an S3Error for an answer that is not well-formed: that attempt failed, and is
   * retried as an error answer with the same code would be.
   */
  send<T = S3Response>(request: S3Request, read?: (answer: S3Response) => T | Promise<T>): Promise<T>
  close(): Promise<void>
}

export async function createTransport(options: TransportOptions): Promise<Transport> {
  const [{ Pool, request: send }, signer] = await Promise.all([loadUndici(), import('aws4')])
  // aws4 is CommonJS: its functions are on the default export.
  const aws4 = signer.default
  const pools = new Map<string, Pool>()
  let region: string | undefined
  let credentials: Promise<S3Credentials> | undefined
  /** Temporary credentials are asked for again 5 minutes before they expire (the SDK's margin). */
  const currentCredentials = async (forceRefresh = false): Promise<S3Credentials> => {
    const held = credentials && (await credentials.catch(() => undefined))
    if (credentials && held && !forceRefresh && !(held.expiration && held.expiration.getTime() - Date.now() < 5 * 60_000)) return held
    credentials = options.credentials(forceRefresh ? { forceRefresh } : undefined)
    return credentials
  }
  const poolFor = (origin: string) => {
    let pool = pools.get(origin)
    if (!pool) {
      pool = new Pool(origin, { connections: options.connections, connectTimeout: options.connectTimeout, keepAliveTimeout: 4_000 })
      pools.set(origin, pool)
    }
    return pool
  }

  const attempt = async (request: S3Request, regionNow: string, creds: S3Credentials): Promise<S3Response> => {
    const base = new URL(options.baseFor(regionNow))
    const path = `${base.pathname.replace(/\/$/, '')}/${request.key === undefined ? '' : encodeKey(request.key)}`
    const query = request.query ? Object.entries(request.query).map(([k, v]) => (v === '' ? k : `${k}=${encodeURIComponent(v)}`)).join('&') : ''
    const body = request.body
    const headers: Record<string, string> = {
      ...request.headers,
      'x-amz-content-sha256': body?.byteLength ? createHash('sha256').update(body).digest('hex') : EMPTY_SHA256,
    }
    const signed = aws4.sign({ host: base.host, path: query ? `${path}?${query}` : path, method: request.method, headers, service: 's3', region: regionNow }, creds)
    return timedRequest(
      send,
      poolFor(base.origin),
      { path: signed.path ?? path, method: request.method, headers: signed.headers as Record<string, string>, body: body as Buffer | undefined },
      { timeout: request.timeout, sent: body?.byteLength ?? 0, maxBody: request.maxBody ?? 64 * MiB, signal: request.signal },
    )
  }

  return {
    async send<T>(request: S3Request, read?: (answer: S3Response) => T | Promise<T>): Promise<T> {
      region ??= await options.region()
      let redirected = false
      let refreshed = false
      for (let n = 1; ; n++) {
        let error: S3Error
        let throttled = false
        if (request.signal?.aborted) throw new S3Error('Cancelled', 'the deploy was cancelled while waiting for the answer', undefined)
        try {
          const creds = await currentCredentials()
          const answer = await attempt(request, region, creds)
          const ok = answer.status < 300 || (request.method === 'HEAD' && answer.status === 404) || answer.status === 304
          if (!ok) error = answerError(answer.status, answer.headers, answer.body)
          else if (!read) return answer as T
          else {
            try {
              return await read(answer)
            } catch (malformed) {
              if (!(malformed instanceof S3Error)) throw malformed
              error = malformed
            }
          }
        } catch (cause) {
          if (cause instanceof S3Error) throw cause
          const failed = networkError(cause as NodeJS.ErrnoException, request.timeout)
          if (!TRANSIENT.has(failed.code) || n >= options.maxAttempts) throw failed
          await pause(retryDelay(n), request.signal)
          continue
        }
        const status = error.$metadata.httpStatusCode ?? 0
        const moved = error.$response.headers['x-amz-bucket-region']
        // A bucket in another region: S3 says which (301 / 400 / 307 with x-amz-bucket-region, or
        // <Region> in the body); ask there, once, as the SDK's followRegionRedirects does.
        if (options.followRegionRedirects && !redirected && moved && moved !== region && [301, 307, 400, 403].includes(status)) {
          redirected = true
          region = moved
          n--
          continue
        }
        if (EXPIRED.has(error.name) && !refreshed) {
          refreshed = true
          await currentCredentials(true)
          n--
          continue
        }
        throttled = THROTTLES.has(error.name) || status === 429 || status === 503
        const retried = throttled || status >= 500 || RETRIED_CODES.has(error.name)
        if (!retried || n >= options.maxAttempts) throw error
        await pause(retryDelay(n, throttled), request.signal)
      }
    },
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()))
      pools.clear()
    },
  }
}

/** A request that got no whole answer, as the S3Error the retries and explanations know. */
function networkError(e: NodeJS.ErrnoException, timeout: number): S3Error & { code: string } {
  const code = e.code ?? e.name ?? 'Error'
  const idle = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
  const name = idle || code === 'ERR_DEADLINE' ? 'TimeoutError' : code === 'ABORT_ERR' ? 'Cancelled' : code === 'ERR_ANSWER_TOO_LARGE' ? 'TooLarge' : code
  return Object.assign(new S3Error(name, idle ? `no answer within ${timeout} ms` : e.message, undefined, {}, e), { code })
}
