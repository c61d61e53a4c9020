import type { Dispatcher, Pool } from 'undici'
import { bodyTimeout } from './utils.js'

type RequestOptions = Omit<Dispatcher.DispatchOptions, 'origin'>
type Headers = Record<string, string | string[] | undefined>

/** What one request's answer is told as it arrives: undici's dispatch handler, its headers parsed. */
interface Handler {
  onConnect(abort: (reason?: Error) => void): void
  onHeaders(status: number, headers: Headers): void
  onData(chunk: Buffer): void
  onComplete(): void
  onError(error: Error): void
}
type Send = (pool: Pool, options: RequestOptions, handler: Handler) => void
type Undici = { Pool: typeof Pool; request: Send }
type ParseHeaders = (raw: Buffer[]) => Headers

/**
 * undici's Pool and its dispatch (the request API without its per-request stream, abort listener
 * and async resource: the CPU of a small upload), without the rest of the package (fetch,
 * WebSocket, caches): the index costs 70–150 ms more to load, paid by every warm deploy's one
 * HEAD. undici 6 has no exports map, so its files are reachable; if a release moves them, the
 * index is loaded instead.
 */
export async function loadUndici(): Promise<Undici> {
  let Pool: typeof import('undici').Pool
  let parseHeaders: ParseHeaders
  try {
    const [pool, util] = (await Promise.all(['undici/lib/dispatcher/pool.js', 'undici/lib/core/util.js'].map((path) => import(path)))) as [{ default: typeof Pool }, { default: { parseHeaders: ParseHeaders } }]
    if (typeof pool.default !== 'function' || typeof util.default?.parseHeaders !== 'function') throw new Error('undici moved')
    Pool = pool.default
    parseHeaders = util.default.parseHeaders
  } catch {
    const undici = await import('undici')
    Pool = undici.Pool
    parseHeaders = undici.util.parseHeaders as ParseHeaders
  }
  const request: Send = (pool, options, handler) =>
    void pool.dispatch(options as Dispatcher.DispatchOptions, {
      onConnect: (abort) => handler.onConnect(abort),
      onHeaders(status, raw) {
        // 1xx (100 Continue) comes before the answer.
        if (status >= 200) handler.onHeaders(status, parseHeaders(raw as unknown as Buffer[]))
        return true
      },
      onData(chunk) {
        handler.onData(chunk)
        return true
      },
      onComplete: () => handler.onComplete(),
      onError: (error) => handler.onError(error),
    })
  return { Pool, request }
}

export interface Answer {
  status: number
  headers: Headers
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
 * second one ends it (`code: 'ERR_DEADLINE'`). The first reason to stop (a deadline, the
 * deploy's signal, an answer too large) is the error, and the connection is closed.
 */
export function timedRequest(send: Send, pool: Pool, request: RequestOptions, limits: Limits): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const started = performance.now()
    const { signal, maxBody } = limits
    let total = bodyTimeout(limits.sent, limits.timeout)
    let timer: NodeJS.Timeout | undefined
    let abort: ((reason?: Error) => void) | undefined
    let stopped: Error | undefined
    let settled = false
    let answer: { status: number; headers: Headers } | undefined
    const chunks: Buffer[] = []
    let size = 0

    const settle = (error: Error | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', cancel)
      if (error) reject(error)
      else {
        const { status, headers } = answer as NonNullable<typeof answer>
        resolve({ status, headers, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) })
      }
    }
    // Ends the attempt: the connection is dropped now, or as soon as the request reaches one.
    const stop = (error: Error) => {
      if (settled) return
      stopped = error
      abort?.(error)
      settle(error)
    }
    const arm = (ms: number) => {
      clearTimeout(timer)
      const late = () => (answer ? `the answer was not whole within ${total} ms` : `no answer within ${total} ms`)
      timer = setTimeout(() => stop(failure('ERR_DEADLINE', late())), Math.max(0, ms))
    }
    function cancel() {
      stop(failure('ABORT_ERR', 'the deploy was cancelled while waiting for the answer'))
    }
    if (signal?.aborted) return cancel()
    signal?.addEventListener('abort', cancel, { once: true })
    arm(total)
    send(pool, { ...request, headersTimeout: limits.timeout, bodyTimeout: limits.timeout }, {
      onConnect(abortRequest) {
        abort = abortRequest
        if (stopped) abortRequest(stopped)
      },
      onHeaders(status, headers) {
        answer = { status, headers }
        const header = headers['content-length']
        // A HEAD's Content-Length is the object's size, not a body that comes.
        const length = request.method === 'HEAD' ? 0 : Number((Array.isArray(header) ? header[0] : header) ?? 0)
        if (length > maxBody) return stop(failure('ERR_ANSWER_TOO_LARGE', `the answer is ${length} bytes, over the ${maxBody} this request may read`))
        if (length > limits.sent) {
          total = bodyTimeout(length, limits.timeout)
          arm(total - (performance.now() - started))
        }
      },
      onData(chunk) {
        if (settled) return
        size += chunk.length
        if (size > maxBody) return stop(failure('ERR_ANSWER_TOO_LARGE', `the answer is over the ${maxBody} bytes this request may read`))
        chunks.push(chunk)
      },
      onComplete: () => settle(undefined),
      onError: (error) => settle(stopped ?? error),
    })
  })
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
