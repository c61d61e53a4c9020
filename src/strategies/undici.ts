import type { Dispatcher, Pool } from 'undici'

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

/** undici's names for failures, as the Node codes the explanations and retries know. */
const NETWORK_CODES: Record<string, string> = {
  UND_ERR_SOCKET: 'ECONNRESET',
  UND_ERR_CLOSED: 'ECONNRESET',
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_HEADERS_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_BODY_TIMEOUT: 'ETIMEDOUT',
}

/** A failed request of undici's as a Node code (`ECONNRESET`, `ETIMEDOUT`…) and a message that says a timeout is one. */
export function networkFailure(cause: unknown, timeout: number): { code: string; message: string } {
  const e = cause as NodeJS.ErrnoException
  const raw = e.code ?? e.name ?? 'Error'
  const timedOut = raw === 'UND_ERR_HEADERS_TIMEOUT' || raw === 'UND_ERR_BODY_TIMEOUT'
  return { code: NETWORK_CODES[raw] ?? raw, message: timedOut ? `no answer within ${timeout} ms (timed out)` : (e.message ?? String(cause)) }
}
