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
