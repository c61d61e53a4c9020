// An EMULATION of Cloud Storage's generation preconditions, which the firebase storage emulator
// lacks (it ignores `ifGenerationMatch`; checked on firebase-tools 14/15). A loopback proxy in
// front of the emulator: an upload that carries `ifGenerationMatch` is forwarded only when the
// object's current generation is that number (0: the object must not exist); otherwise it answers
// as Cloud Storage documents, 412 conditionNotMet, and stores nothing. Uploads of one object are
// checked and forwarded one at a time, so two conditional writes cannot both pass.
import { createServer, request } from 'node:http'

/** Sends one request upstream and resolves with its status, headers and body. */
function forward(upstream, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = request({ host: upstream.hostname, port: upstream.port, method, path, headers: { ...headers, host: upstream.host } }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * @param {string} target the emulator's base URL
 * @returns {Promise<{ endpoint: string, conflicts: () => number, close: () => Promise<void> }>}
 */
export async function gcsPreconditions(target) {
  const upstream = new URL(target)
  const queues = new Map()
  let conflicts = 0
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', async () => {
      const body = Buffer.concat(chunks)
      const url = new URL(req.url ?? '/', 'http://proxy')
      const match = url.searchParams.get('ifGenerationMatch')
      const name = url.searchParams.get('name')
      const bucket = url.pathname.match(/^\/upload\/storage\/v1\/b\/([^/]+)\/o$/)?.[1]
      const send = (answer) => {
        res.writeHead(answer.status, answer.headers)
        res.end(answer.body)
      }
      try {
        if (req.method !== 'POST' || match === null || !name || !bucket) return send(await forward(upstream, req.method, req.url, req.headers, body))
        const key = `${bucket}/${name}`
        const previous = queues.get(key) ?? Promise.resolve()
        const turn = previous.then(async () => {
          const head = await forward(upstream, 'GET', `/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`, { accept: 'application/json' })
          const generation = head.status === 404 ? '0' : String(JSON.parse(head.body.toString('utf8')).generation)
          if (generation !== match) {
            conflicts++
            const error = { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.', errors: [{ reason: 'conditionNotMet' }] } }
            return { status: 412, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(error)) }
          }
          return forward(upstream, req.method, req.url, req.headers, body)
        })
        queues.set(key, turn.catch(() => {}))
        send(await turn)
      } catch {
        res.destroy()
      }
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    conflicts: () => conflicts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
