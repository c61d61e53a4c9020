import type { Pool } from 'undici'
import { loadUndici } from './undici.js'
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
  /** Milliseconds without an answer before the attempt is abandoned (and retried). */
  timeout: number
  /** Answer bodies longer than this are refused. @default 64 MiB */
  maxBody?: number
}

export interface S3Response {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

const MiB = 1024 * 1024
const EMPTY_SHA256 = createHash('sha256').digest('hex')
/** Network failures worth another attempt: the SDK's list, and undici's own names for them. */
const TRANSIENT = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])
const THROTTLES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests', 'RequestThrottled'])
const RETRIED_CODES = new Set(['InternalError', 'RequestTimeout', 'ServiceUnavailable', ...THROTTLES])
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

/** The Code and Message of an S3 error document (a few hundred bytes: a regular expression is enough). */
function errorFields(body: Buffer): { code?: string; message?: string; region?: string } {
  const text = body.subarray(0, 16_384).toString('utf8')
  const field = (name: string) => text.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1]
  return { code: field('Code'), message: field('Message'), region: field('Region') }
}

const STATUS_CODES: Record<number, string> = { 301: 'PermanentRedirect', 307: 'TemporaryRedirect', 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 412: 'PreconditionFailed', 429: 'TooManyRequests', 500: 'InternalError', 503: 'SlowDown' }

function answerError(status: number, headers: S3Response['headers'], body: Buffer): S3Error {
  const fields = errorFields(body)
  const plain: Record<string, string> = {}
  const region = firstHeader(headers['x-amz-bucket-region']) ?? fields.region
  if (region) plain['x-amz-bucket-region'] = region
  const code = fields.code ?? STATUS_CODES[status] ?? (status >= 500 ? 'InternalError' : 'UnknownError')
  return new S3Error(code, fields.message ?? `HTTP ${status}`, status, plain)
}

/** Pause before attempt `attempt + 1`: full jitter over 100 ms doubling (500 ms for throttles), capped at 20 s, as the SDK does. */
function pause(attempt: number, throttled: boolean): Promise<void> {
  const ms = Math.random() * Math.min(20_000, (throttled ? 500 : 100) * 2 ** (attempt - 1))
  return new Promise((resolve) => setTimeout(resolve, ms))
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
  send(request: S3Request): Promise<S3Response>
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
    const answer = await send(poolFor(base.origin), {
      path: signed.path ?? path,
      method: request.method,
      headers: signed.headers as Record<string, string>,
      body: body as Buffer | undefined,
      headersTimeout: request.timeout,
      bodyTimeout: request.timeout,
    })
    const length = Number(firstHeader(answer.headers['content-length']) ?? 0)
    const max = request.maxBody ?? 64 * MiB
    // A body left unread is closed (its 'error' on closing is expected, not a failure).
    const drop = () => answer.body.on('error', () => {}).destroy()
    if (length > max) {
      drop()
      throw new S3Error('TooLarge', `the answer is ${length} bytes, over the ${max} this request may read`, answer.statusCode)
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > max) {
        drop()
        throw new S3Error('TooLarge', `the answer is over the ${max} bytes this request may read`, answer.statusCode)
      }
      chunks.push(chunk)
    }
    return { status: answer.statusCode, headers: answer.headers, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) }
  }

  return {
    async send(request) {
      region ??= await options.region()
      let redirected = false
      let refreshed = false
      for (let n = 1; ; n++) {
        let error: S3Error
        let throttled = false
        try {
          const creds = await currentCredentials()
          const answer = await attempt(request, region, creds)
          if (answer.status < 300 || (request.method === 'HEAD' && answer.status === 404) || answer.status === 304) return answer
          error = answerError(answer.status, answer.headers, answer.body)
        } catch (cause) {
          if (cause instanceof S3Error) throw cause
          const e = cause as NodeJS.ErrnoException
          const code = e.code ?? e.name ?? 'Error'
          const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
          error = new S3Error(timedOut ? 'TimeoutError' : code, timedOut ? `no answer within ${request.timeout} ms` : e.message, undefined, {}, cause)
          if (!TRANSIENT.has(code)) throw error
          if (n >= options.maxAttempts) throw error
          await pause(n, false)
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
        await pause(n, throttled)
      }
    },
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()))
      pools.clear()
    },
  }
}
