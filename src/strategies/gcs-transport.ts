import type { Storage } from '@google-cloud/storage'
import type { Pool } from 'undici'
import { type Answer, loadUndici, networkFailure, timedRequest } from './undici.js'
import { randomBytes } from 'node:crypto'
import type { UploadFile } from '../strategy.js'
import type { ObjectMetadata } from './gcs-sdk.js'

/**
 * The Cloud Storage strategy's own path for simple uploads: one multipart request of the JSON
 * API through undici's request API (one pool per endpoint, sized to the concurrency), with the
 * access token google-auth-library caches and refreshes. @google-cloud/storage's `file.save`
 * costs about three times the CPU per upload (bench/RESULTS.md). One attempt per call: the
 * strategy decides what is retried (it knows the generations and the preconditions).
 */

export interface GcsTransportOptions {
  /** The API's origin, e.g. `https://storage.googleapis.com`, or the emulator's. */
  endpoint: string
  /** An access token for each request; absent for an endpoint that takes none (the emulator). */
  token?: () => Promise<string | null | undefined>
  connections: number
  connectTimeout: number
}

export interface MultipartUpload {
  bucket: string
  /** Its key is the object's name, its body the bytes, its MD5 the `md5Hash` the server checks them against. */
  file: UploadFile
  /** The rest of the object resource: contentType, cacheControl, contentEncoding, custom metadata. */
  resource: Record<string, unknown>
  /** Stored only when the object's generation is this one (`0`: the object must not exist). */
  ifGenerationMatch?: string
  /** Milliseconds without progress before the attempt is abandoned; the whole attempt may take this plus 4 s per MiB over 1 MiB. */
  timeout: number
}

/**
 * A failed request, shaped as the SDK's errors are (`code` is the HTTP status, or the network
 * error's code), so one explanation and one retry rule serve both paths.
 */
export class GcsRequestError extends Error {
  constructor(
    readonly code: number | string,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'GcsRequestError'
  }
}

/** An error answer's message: the JSON API's `error.message`, or the start of whatever came. */
function errorMessage(status: number, body: Buffer): string {
  const text = body.subarray(0, 16_384).toString('utf8')
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message
    if (typeof message === 'string' && message) return message
  } catch {}
  return text.trim() ? `HTTP ${status}: ${text.trim().slice(0, 200)}` : `HTTP ${status}`
}

export interface GcsTransport {
  upload(request: MultipartUpload): Promise<ObjectMetadata>
  close(): Promise<void>
}

/**
 * The lean path for a Storage instance, or undefined where the SDK keeps the uploads. The
 * endpoint and the token are the instance's own: its google-auth-library client (the strategy's
 * credentials, key file and project, the storage scopes) caches the token and refreshes it
 * before it expires, and an endpoint the SDK sends no credentials to (STORAGE_EMULATOR_HOST, a
 * custom `apiEndpoint` without `useAuthWithCustomEndpoint`) gets none here either. A user's own
 * Storage that authenticates keeps the SDK: its options (interceptors, retries, a user agent)
 * are theirs to keep.
 */
export async function leanTransport(storage: Storage, usersOwn: boolean, connections: number, connectTimeout: number): Promise<GcsTransport | undefined> {
  // A stand-in for Storage (the tests') may lack these fields: the SDK path serves it.
  const s = storage as Partial<Storage>
  const anonymous = s.customEndpoint === true && !s.useAuthWithCustomEndpoint
  if ((usersOwn && !anonymous) || typeof s.apiEndpoint !== 'string') return undefined
  const auth = s.authClient
  if (!anonymous && typeof auth?.getAccessToken !== 'function') return undefined
  return createGcsTransport({ endpoint: s.apiEndpoint, token: anonymous ? undefined : () => auth!.getAccessToken(), connections, connectTimeout })
}

export async function createGcsTransport(options: GcsTransportOptions): Promise<GcsTransport> {
  const { Pool, request: send } = await loadUndici()
  const base = new URL(options.endpoint)
  const basePath = base.pathname.replace(/\/$/, '')
  let pool: Pool | undefined
  const poolFor = () => {
    pool ??= new Pool(base.origin, { connections: options.connections, connectTimeout: options.connectTimeout, keepAliveTimeout: 4_000 })
    return pool
  }

  return {
    async upload(request) {
      const { file } = request
      const token = options.token && (await options.token())
      // md5Hash makes the server check the bytes, as the SDK's `validation: 'md5'` did after the fact.
      const resource = { ...request.resource, name: file.key, md5Hash: Buffer.from(file.md5(), 'hex').toString('base64') }
      const boundary = `collectfasta-${randomBytes(12).toString('hex')}`
      // multipart/related: the object resource, then the bytes (the JSON API's "multipart upload").
      const head = Buffer.from(
        `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(resource)}\r\n` +
          `--${boundary}\r\nContent-Type: ${file.headers.contentType ?? 'application/octet-stream'}\r\n\r\n`,
      )
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
      const body = Buffer.concat([head, file.body, tail])
      // `name` goes in the query too: Cloud Storage takes it from either, and proxies (the tests'
      // precondition emulation among them) read the query only.
      let query = `uploadType=multipart&name=${encodeURIComponent(file.key)}`
      if (request.ifGenerationMatch !== undefined) query += `&ifGenerationMatch=${request.ifGenerationMatch}`
      const headers: Record<string, string> = {
        'content-type': `multipart/related; boundary=${boundary}`,
        'user-agent': 'collectfasta-gcs',
      }
      if (token) headers.authorization = `Bearer ${token}`
      let answer: Answer
      try {
        answer = await timedRequest(
          send,
          poolFor(),
          { path: `${basePath}/upload/storage/v1/b/${encodeURIComponent(request.bucket)}/o?${query}`, method: 'POST', headers, body },
          { timeout: request.timeout, sent: body.length, maxBody: 1024 * 1024 },
        )
      } catch (cause) {
        throw networkError(cause, request.timeout)
      }
      const text = answer.body
      if (answer.status >= 300) throw new GcsRequestError(answer.status, errorMessage(answer.status, text))
      try {
        return JSON.parse(text.toString('utf8')) as ObjectMetadata
      } catch (cause) {
        throw new GcsRequestError(answer.status, `the upload's answer is not the object's JSON metadata: ${text.subarray(0, 200).toString('utf8')}`, cause)
      }
    },
    async close() {
      const held = pool
      pool = undefined
      await held?.close()
    },
  }
}

function networkError(cause: unknown, timeout: number): GcsRequestError {
  const { code, message } = networkFailure(cause, timeout)
  return new GcsRequestError(code, message, cause)
}
