import { type KeyObject, createHmac, createSecretKey } from 'node:crypto'
import type { Pool } from 'undici'
import { MAX_BUFFER_BYTES, retryDelay } from '../strategy.js'
import { loadUndici, networkFailure, timedRequest } from './undici.js'
import { pause } from './utils.js'

/**
 * The Azure strategy's own HTTP path: Blob service REST requests through undici's request API
 * (one pool, sized to the concurrency), authorised by Shared Key (an HMAC of the request with
 * the account key), a SAS token in the query, or a bearer token from an Azure credential.
 * @azure/storage-blob costs about twice the CPU per upload (bench/azure-cpu.mjs, bench/RESULTS.md).
 */

/** The REST API version every request names (Blob service, 2021-12-02: block blobs up to 190.7 TiB). */
export const API_VERSION = '2021-12-02'

/** How requests are authorised. */
export type AzureAuth =
  | { kind: 'key'; account: string; key: Buffer }
  | { kind: 'sas'; query: string }
  | { kind: 'token'; token: () => Promise<string> }

export interface AzureTransportOptions {
  /** The Blob service's URL: `https://ACCOUNT.blob.core.windows.net`, or Azurite's `http://127.0.0.1:10000/devstoreaccount1`. */
  service: string
  auth: AzureAuth
  connections: number
  connectTimeout: number
  /** Attempts per request, including the first, for network errors and 500/502/504. */
  maxAttempts: number
}

export interface AzureRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE'
  /** The container, then the blob's name (unencoded), or the container alone. */
  container: string
  blob?: string
  query?: Record<string, string>
  /** Names in lower case (the signature sorts them so). */
  headers?: Record<string, string>
  body?: Uint8Array
  /** Milliseconds without an answer (head or body) before the attempt is abandoned. */
  timeout: number
  /** Read at most this many bytes of the answer; more rejects with an `AzureError` of code 'TooLarge'. */
  maxBytes?: number
  /** A 404 is an answer (the blob does not exist), not an error. */
  missingOk?: boolean
  /** Abandons the request when it aborts (a cancelled deploy). */
  signal?: AbortSignal
}

export interface AzureAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** A failed request: `status` is the HTTP status (or the network error's code), `code` the service's error code. */
export class AzureError extends Error {
  constructor(
    readonly status: number | string,
    readonly code: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'AzureError'
  }
}

/** A blob name as a URL path: every character but '/' percent-encoded, as the SDK sends them ('$' kept for `$web`). */
export function blobPath(container: string, blob?: string): string {
  const encode = (segment: string) => encodeURIComponent(segment).replaceAll('%24', '$')
  return `/${encode(container)}${blob === undefined ? '' : `/${blob.split('/').map(encode).join('/')}`}`
}

/**
 * The Shared Key signature of a request (the Blob service's "Authorize with Shared Key"): the
 * verb, the standard headers in their order, the `x-ms-` headers sorted, and the resource (the
 * account, the encoded path, the query's parameters sorted, decoded).
 */
export function sharedKey(account: string, key: Buffer | KeyObject, method: string, path: string, query: Record<string, string>, headers: Record<string, string>): string {
  // One string built in place: this runs for every request (arrays, maps and joins cost more than the HMAC).
  const h = (name: string) => headers[name] ?? ''
  const length = h('content-length') === '0' ? '' : h('content-length')
  let text = `${method}\n${h('content-encoding')}\n${h('content-language')}\n${length}\n${h('content-md5')}\n${h('content-type')}\n\n${h('if-modified-since')}\n${h('if-match')}\n${h('if-none-match')}\n${h('if-unmodified-since')}\n${h('range')}\n`
  const msNames: string[] = []
  for (const name in headers) if (name.startsWith('x-ms-')) msNames.push(name)
  msNames.sort()
  for (const name of msNames) text += `${name}:${(headers[name] as string).trim()}\n`
  text += `/${account}${path}`
  for (const name of Object.keys(query).sort()) text += `\n${name.toLowerCase()}:${query[name]}`
  return `SharedKey ${account}:${createHmac('sha256', key).update(text, 'utf8').digest('base64')}`
}

const RETRIED_STATUS = new Set([500, 502, 504])
const RETRIED_NETWORK = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED'])

/** The service's error document: `<Error><Code>…</Code><Message>…</Message></Error>`. */
function errorFrom(status: number, headers: AzureAnswer['headers'], body: Buffer): AzureError {
  const text = body.subarray(0, 16_384).toString('utf8')
  const code = String(headers['x-ms-error-code'] ?? /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '')
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1]?.split('\n')[0]?.trim()
  return new AzureError(status, code, `${code || `HTTP ${status}`}${message ? `: ${message}` : ''}`)
}

export interface AzureTransport {
  send(request: AzureRequest): Promise<AzureAnswer>
  /** A blob's URL as a copy's source (`x-ms-copy-source`): with the SAS token when that authorises the requests. */
  sourceUrl(container: string, blob: string): string
  close(): Promise<void>
}

export async function createAzureTransport(options: AzureTransportOptions): Promise<AzureTransport> {
  const { Pool, request: dispatch } = await loadUndici()
  const base = new URL(options.service)
  const basePath = base.pathname.replace(/\/$/, '')
  let pool: Pool | undefined
  const poolFor = () => {
    pool ??= new Pool(base.origin, { connections: options.connections, connectTimeout: options.connectTimeout, keepAliveTimeout: 4_000 })
    return pool
  }
  const { auth } = options
  // The key prepared once: every request's HMAC would prepare it again.
  const secret = auth.kind === 'key' ? createSecretKey(auth.key) : undefined

  const once = async (request: AzureRequest): Promise<AzureAnswer> => {
    const path = basePath + blobPath(request.container, request.blob)
    const query = request.query ?? {}
    // Header names in lower case, as the signature sorts them.
    const headers: Record<string, string> = { 'x-ms-date': new Date().toUTCString(), 'x-ms-version': API_VERSION, 'user-agent': 'collectfasta-azure', ...request.headers }
    if (request.body) headers['content-length'] = String(request.body.byteLength)
    let search = request.query ? new URLSearchParams(query).toString().replaceAll('+', '%20') : ''
    if (auth.kind === 'key') headers.authorization = sharedKey(auth.account, secret as KeyObject, request.method, path, query, headers)
    else if (auth.kind === 'token') headers.authorization = `Bearer ${await auth.token()}`
    else if (auth.kind === 'sas') search = search ? `${search}&${auth.query}` : auth.query
    let answer: AzureAnswer
    try {
      // Two deadlines (idle, and a total scaled by the bodies), the answer read whole, and
      // abandoned at once when the deploy is cancelled: the one request rule of undici.ts.
      answer = await timedRequest(dispatch, poolFor(), { path: search ? `${path}?${search}` : path, method: request.method, headers, body: request.body }, {
        timeout: request.timeout,
        sent: request.body?.byteLength ?? 0,
        maxBody: request.maxBytes ?? MAX_BUFFER_BYTES,
        signal: request.signal,
      })
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ERR_ANSWER_TOO_LARGE') throw new AzureError(200, 'TooLarge', `it is larger than ${request.maxBytes} bytes`, cause)
      throw networkError(cause, request.timeout)
    }
    if (answer.status >= 300 && answer.status !== 304 && !(answer.status === 404 && request.missingOk)) throw errorFrom(answer.status, answer.headers, answer.body)
    return answer
  }

  return {
    async send(request) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(request)
        } catch (error) {
          const e = error as AzureError
          const retried = typeof e.status === 'number' ? RETRIED_STATUS.has(e.status) : RETRIED_NETWORK.has(e.status)
          if (!retried || attempt >= options.maxAttempts || request.signal?.aborted) throw error
          await pause(retryDelay(attempt), request.signal)
        }
      }
    },
    sourceUrl(container, blob) {
      return `${base.origin}${basePath}${blobPath(container, blob)}${auth.kind === 'sas' ? `?${auth.query}` : ''}`
    },
    async close() {
      const held = pool
      pool = undefined
      await held?.close()
    },
  }
}

function networkError(cause: unknown, timeout: number): AzureError {
  const { code, message } = networkFailure(cause, timeout)
  return new AzureError(code, code, message, cause)
}
