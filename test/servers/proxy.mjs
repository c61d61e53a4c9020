// An HTTP proxy on loopback that forwards every request to one upstream server and records it:
// the tests and the benchmark count requests from outside the code they measure.
import { createServer, request } from 'node:http'

/** A request's kind, as S3 and GCS would bill it. */
export function kindOf(method, url) {
  const [path = '', query = ''] = url.split('?')
  // S3 ListObjects (v1 and v2) is a GET on the bucket itself (path-style); GCS lists on /b/<bucket>/o.
  const onBucket = /^\/[^/]+\/?$/.test(path) && !/(^|&)(uploads|location|acl)(=|&|$)/.test(query)
  if (method === 'GET' && (onBucket || /(^|&)list-type=2/.test(query) || /^\/(storage\/v1\/)?b\/[^/]+\/o$/.test(path))) return 'LIST'
  if (method === 'HEAD') return 'HEAD'
  if (method === 'GET') return 'GET'
  if (method === 'DELETE' || (method === 'POST' && /(^|&)delete(=|&|$)/.test(query))) return 'DELETE'
  return 'PUT' // PUT objects and parts, POST uploads, multipart create/complete
}

/**
 * @param {string} target upstream base URL, e.g. http://127.0.0.1:4566
 */
export async function recordingProxy(target) {
  const upstream = new URL(target)
  /** @type {{ method: string, path: string, kind: string, bytes: number }[]} */
  const requests = []
  const server = createServer((req, res) => {
    const url = req.url ?? ''
    const entry = { method: req.method ?? 'GET', path: decodeURIComponent(url.split('?')[0] ?? ''), kind: kindOf(req.method ?? 'GET', url), bytes: 0 }
    requests.push(entry)
    req.on('data', (chunk) => {
      entry.bytes += chunk.length
    })
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })
  server.keepAliveTimeout = 5000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reset: () => void requests.splice(0),
    /** Requests by kind, and the bytes they carried. */
    summary() {
      const counts = { LIST: 0, HEAD: 0, GET: 0, PUT: 0, DELETE: 0, bytes: 0 }
      for (const r of requests) {
        counts[r.kind] += 1
        counts.bytes += r.bytes
      }
      return counts
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve(undefined))
      }),
  }
}
