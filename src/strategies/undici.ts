import type { Dispatcher, Pool } from 'undici'
import { bodyTimeout } from './utils.js'

type RequestOptions = Dispatcher.RequestOptions
type Request = (pool: Pool, options: RequestOptions) => Promise<Dispatcher.ResponseData>
type Undici = { Pool: typeof Pool; request: Request }

/**
 * undici's Pool and its request API, without the rest of the package (fetch, WebSocket, caches):
 * the index costs 70–150 ms more to load, paid by every warm deploy's one HEAD. undici 6 has no
 * exports map, so its files are reachable; if a release moves them, the index is loaded instead.
 */
export async function loadUndici(): Promise<Undici> {
  const paths = ['undici/lib/dispatcher/pool.js', 'undici/lib/api/api-request.js']
  try {
    const [pool, request] = (await Promise.all(paths.map((path) => import(path)))) as [{ default: typeof Pool }, { default: (this: Pool, options: RequestOptions) => Promise<Dispatcher.ResponseData> }]
    if (typeof pool.default !== 'function' || typeof request.default !== 'function') throw new Error('undici moved')
    return { Pool: pool.default, request: (target, options) => request.default.call(target, options) }
  } catch {
    const undici = await import('undici')
    return { Pool: undici.Pool, request: (target, options) => target.request(options) }
  }
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export interface Limits {
  /** Milliseconds without progress (no answer head, no new bytes) before the attempt is given up. */
  timeout: number
  /** Bytes of the body sent, which scale the total deadline. */
  sent: number
  /** An answer body longer than this is refused (`code: 'ERR_ANSWER_TOO_LARGE'`). */
  maxBody: number
  /** Abandons the attempt when it aborts (`code: 'ABORT_ERR'`): a cancelled deploy stops waiting. */
  signal?: AbortSignal
}

const failure = (code: string, message: string) => Object.assign(new Error(message), { code })

/**
 * One request and its whole answer, under two deadlines: `timeout` without progress (undici's
 * head and body timeouts), and the whole exchange within `bodyTimeout` of the larger of the
 * body sent and the body announced. A body trickled a byte at a time is never idle, so only the
 * second one ends it (`code: 'ERR_DEADLINE'`).
 */
export async function timedRequest(send: Request, pool: Pool, request: RequestOptions, limits: Limits): Promise<Answer> {
  const controller = new AbortController()
  const started = performance.now()
  let total = bodyTimeout(limits.sent, limits.timeout)
  let timer: NodeJS.Timeout | undefined
  let answered = false
  const arm = (ms: number) => {
    clearTimeout(timer)
    const late = () => (answered ? `the answer was not whole within ${total} ms` : `no answer within ${total} ms`)
    timer = setTimeout(() => controller.abort(failure('ERR_DEADLINE', late())), Math.max(0, ms))
  }
  const cancel = () => controller.abort(failure('ABORT_ERR', 'the deploy was cancelled while waiting for the answer'))
  if (limits.signal?.aborted) cancel()
  limits.signal?.addEventListener('abort', cancel, { once: true })
  arm(total)
  try {
    const answer = await send(pool, { ...request, headersTimeout: limits.timeout, bodyTimeout: limits.timeout, signal: controller.signal })
    answered = true
    const header = answer.headers['content-length']
    // A HEAD's Content-Length is the object's size, not a body that comes.
    const length = request.method === 'HEAD' ? 0 : Number((Array.isArray(header) ? header[0] : header) ?? 0)
    // A body left unread is closed (its 'error' on closing is expected, not a failure).
    const drop = () => answer.body.on('error', () => {}).destroy()
    if (length > limits.maxBody) {
      drop()
      throw failure('ERR_ANSWER_TOO_LARGE', `the answer is ${length} bytes, over the ${limits.maxBody} this request may read`)
    }
    if (length > limits.sent) {
      total = bodyTimeout(length, limits.timeout)
      arm(total - (performance.now() - started))
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > limits.maxBody) {
        drop()
        throw failure('ERR_ANSWER_TOO_LARGE', `the answer is over the ${limits.maxBody} bytes this request may read`)
      }
      chunks.push(chunk)
    }
    return { status: answer.statusCode, headers: answer.headers, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) }
  } catch (error) {
    throw controller.signal.aborted ? controller.signal.reason : error
  } finally {
    clearTimeout(timer)
    limits.signal?.removeEventListener('abort', cancel)
  }
}

/** undici's names for failures (and the deadline's), as the Node codes the explanations and retries know. */
const NETWORK_CODES: Record<string, string> = {
  UND_ERR_SOCKET: 'ECONNRESET',
  UND_ERR_CLOSED: 'ECONNRESET',
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_HEADERS_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_BODY_TIMEOUT: 'ETIMEDOUT',
  ERR_DEADLINE: 'ETIMEDOUT',
}

/** A failed request of undici's as a Node code (`ECONNRESET`, `ETIMEDOUT`…) and a message that says an idle timeout is one. */
export function networkFailure(cause: unknown, timeout: number): { code: string; message: string } {
  const e = cause as NodeJS.ErrnoException
  const raw = e.code ?? e.name ?? 'Error'
  const idle = raw === 'UND_ERR_HEADERS_TIMEOUT' || raw === 'UND_ERR_BODY_TIMEOUT'
  return { code: NETWORK_CODES[raw] ?? raw, message: idle ? `no answer within ${timeout} ms (timed out)` : (e.message ?? String(cause)) }
}
