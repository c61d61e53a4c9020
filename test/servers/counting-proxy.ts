import { type IncomingMessage, type Server, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface CountingProxy {
  url: string
  /** Requests seen, as `METHOD /path` without the query string. */
  requests: string[]
  reset(): void
  close(): Promise<void>
}

/** An HTTP proxy on loopback that forwards to `target` and records every request it sees. */
export async function countingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target)
  const requests: string[] = []
  const server: Server = createServer((req: IncomingMessage, res) => {
    requests.push(`${req.method} ${decodeURIComponent((req.url ?? '').split('?')[0] ?? '')}`)
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reset: () => void requests.splice(0),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
