// A proxy in front of the Cloud Storage emulator that takes the resumable uploads of chosen
// objects itself: it reads the streamed body, keeps only its size and MD5, and answers as GCS
// does (the object's metadata, md5Hash included, so the SDK's validation runs). The emulator
// writes every upload from one buffer and cannot store an object over 2 GiB; everything else
// (stat, list, the deploy manifest, small files) still goes to the emulator.
import { createHash } from 'node:crypto'
import { request, createServer } from 'node:http'

/** @param {string} emulatorHost host:port of the emulator; @param {(name: string) => boolean} sinks which object names to take */
export async function gcsSink(emulatorHost, sinks) {
  /** @type {Map<string, { size: number, md5: string }>} */
  const received = new Map()
  const sessions = new Map()
  let next = 0
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sink')
    const name = url.searchParams.get('name')
    if (req.method === 'POST' && url.searchParams.get('uploadType') === 'resumable' && name && sinks(name)) {
      const id = String(next++)
      const bucket = decodeURIComponent(url.pathname.split('/b/')[1]?.split('/')[0] ?? '')
      let metadata = ''
      req.on('data', (chunk) => (metadata += chunk))
      req.on('end', () => {
        sessions.set(id, { name, bucket, metadata: metadata ? JSON.parse(metadata) : {} })
        res.writeHead(200, { location: `http://${req.headers.host}/sink-session/${id}` }).end()
      })
      return
    }
    const session = url.pathname.startsWith('/sink-session/') ? sessions.get(url.pathname.slice('/sink-session/'.length)) : undefined
    if (session) {
      const hash = createHash('md5')
      let size = 0
      req.on('data', (chunk) => {
        hash.update(chunk)
        size += chunk.length
      })
      req.on('end', () => {
        const md5 = hash.digest()
        received.set(session.name, { size, md5: md5.toString('hex') })
        const body = JSON.stringify({
          kind: 'storage#object',
          ...session.metadata,
          name: session.name,
          bucket: session.bucket,
          size: String(size),
          md5Hash: md5.toString('base64'),
          generation: '1',
          metageneration: '1',
        })
        res.writeHead(200, { 'content-type': 'application/json' }).end(body)
      })
      return
    }
    const forward = request({ host: emulatorHost.split(':')[0], port: emulatorHost.split(':')[1], method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    forward.on('error', () => res.writeHead(502).end())
    req.pipe(forward)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  return { host: `127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve(undefined))) }
}
