// An HTTP proxy on loopback that forwards every request to one upstream server and records it:
// the tests and the benchmark count requests from outside the code they measure.
import { Agent, createServer, request } from 'node:http'
import { Transform } from 'node:stream'
import { seeded } from './random.mjs'

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

const SLOW_DOWN =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'
const INTERNAL =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>'

/** Passes chunks on `ms` later, in order (timers of equal delay fire in the order they were set). */
function delayed(ms) {
  return new Transform({
    transform(chunk, _encoding, done) {
      setTimeout(() => this.push(chunk), ms)
      done()
    },
    flush(done) {
      setTimeout(done, ms)
    },
  })
}

/**
 * A wide-area link: every chunk, each way, arrives `ms` after it was sent (the request's head
 * included), so a request costs a round trip of 2 × ms as against a real storage, and requests
 * in flight overlap. Connections are kept alive, as SDKs keep theirs.
 */
function forwardDelayed(req, res, url, upstream, ms, fault) {
  const body = req.pipe(delayed(ms))
  setTimeout(() => {
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers: { ...req.headers, host: upstream.host }, agent: keepAlive },
      (answer) => {
        if (fault === 'resetResponse') {
          answer.resume()
          answer.on('end', () => req.socket.destroy())
          return
        }
        setTimeout(() => res.writeHead(answer.statusCode ?? 502, answer.headers), ms)
        answer.pipe(delayed(ms)).pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    body.pipe(forward)
  }, ms)
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 256 })

const PRECONDITION_FAILED =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>'

/**
 * AN EMULATION of S3's conditional writes, which s3rver and fauxqs lack: both accept If-Match and
 * If-None-Match on a PUT (or a multipart completion) and ignore them. S3 answers such a write
 * 412 PreconditionFailed when the key's current ETag is not the If-Match one, or when the key
 * exists under If-None-Match: *; it stores nothing then. Here: conditional writes to one key
 * are serialised, the key is HEADed upstream (signed with the test credentials), and a failed
 * precondition is answered 412 with S3's error document; otherwise the write goes through.
 */
function conditionalWrites(upstream) {
  const locks = new Map()
  const lockFor = (key) => {
    const before = locks.get(key) ?? Promise.resolve()
    let release
    const mine = new Promise((resolve) => {
      release = resolve
    })
    const chained = before.then(() => mine)
    locks.set(key, chained)
    return before.then(() => () => {
      release()
      if (locks.get(key) === chained) locks.delete(key)
    })
  }
  const head = async (path) => {
    const { default: aws4 } = await import('aws4')
    const signed = aws4.sign(
      { host: upstream.host, path, method: 'HEAD', service: 's3', region: 'us-east-1', headers: { 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' } },
      { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    )
    return new Promise((resolve, reject) => {
      const probe = request({ host: upstream.hostname, port: upstream.port, method: 'HEAD', path, headers: signed.headers }, (answer) => {
        answer.resume()
        resolve({ status: answer.statusCode, etag: String(answer.headers.etag ?? '').replaceAll('"', '') })
      })
      probe.on('error', reject)
      probe.end()
    })
  }
  return {
    applies: (req) =>
      (req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined) &&
      (req.method === 'PUT' || (req.method === 'POST' && /(^|&)uploadId=/.test((req.url ?? '').split('?')[1] ?? ''))) &&
      !/(^|&)partNumber=/.test((req.url ?? '').split('?')[1] ?? ''),
    /** Resolves true when the write may go on (the key stays locked until its answer is sent). */
    async check(req, res) {
      const path = (req.url ?? '').split('?')[0]
      const release = await lockFor(path)
      res.on('close', release)
      const current = await head(path)
      const ifMatch = req.headers['if-match']?.replaceAll('"', '')
      const exists = current.status === 200
      const failed = ifMatch !== undefined ? !exists || current.etag !== ifMatch : req.headers['if-none-match'] === '*' && exists
      if (!failed) return true
      req.resume()
      req.on('end', () => {
        res.writeHead(412, { 'content-type': 'application/xml' })
        res.end(PRECONDITION_FAILED)
      })
      return false
    },
  }
}

/**
 * @param {string} target upstream base URL, e.g. http://127.0.0.1:4566
 * @param {{ seed?: number, rates?: Partial<Record<'error500'|'slowDown'|'resetRequest'|'resetResponse'|'stall'|'truncate'|'cutShort'|'trickle'|'errorIn200', number>>,
 *   maxFaults?: number, stallMs?: number, throttleAbove?: number, latencyMs?: number, onRequest?: (entry: object) => void }} [options]
 *   Faults are drawn per request from `rates` (probabilities) with a seeded generator, at most
 *   `maxFaults` in all; `throttleAbove` answers 503 SlowDown whenever more requests than that are
 *   in flight. Everything stays on loopback and stops with `close()`.
 */
export async function recordingProxy(target, options = {}) {
  const upstream = new URL(target)
  const random = seeded(options.seed ?? 1)
  const rates = options.rates ?? {}
  const maxFaults = options.maxFaults ?? 10_000
  /** @type {{ method: string, path: string, kind: string, bytes: number, inFlight: number, fault?: string }[]} */
  const requests = []
  const faults = { count: 0, byKind: {} }
  let inFlight = 0
  let faultsOn = true
  const pickFault = () => {
    if (!faultsOn || faults.count >= maxFaults) return undefined
    let roll = random()
    for (const [name, rate] of Object.entries(rates)) {
      if (roll < rate) return name
      roll -= rate
    }
    return undefined
  }
  const conditions = options.conditionalWrites ? conditionalWrites(upstream) : undefined
  const server = createServer((req, res) => {
    const url = req.url ?? ''
    inFlight++
    res.on('close', () => inFlight--)
    const entry = { method: req.method ?? 'GET', path: decodeURIComponent(url.split('?')[0] ?? ''), query: url.split('?')[1] ?? '', headers: req.headers, kind: kindOf(req.method ?? 'GET', url), bytes: 0, inFlight }
    requests.push(entry)
    options.onRequest?.(entry)
    req.on('data', (chunk) => {
      entry.bytes += chunk.length
    })
    if (conditions?.applies(req)) {
      req.pause()
      conditions.check(req, res).then((pass) => pass && handle(req, res, url, entry))
      return
    }
    handle(req, res, url, entry)
  })
  function handle(req, res, url, entry) {
    // A key that fails on every attempt outlasts any retry: the deploy must report it.
    const always = faultsOn && entry.kind === 'PUT' && options.failPaths?.test(decodeURIComponent(url))
    let fault = always ? 'error500' : (faultsOn ? options.faultFor?.(entry) : undefined) ?? pickFault()
    if (!fault && faultsOn && options.throttleAbove !== undefined && inFlight > options.throttleAbove) fault = 'slowDown'
    if (fault) {
      faults.count++
      faults.byKind[fault] = (faults.byKind[fault] ?? 0) + 1
      entry.fault = fault
    }
    if (fault === 'error500' || fault === 'slowDown') {
      req.resume()
      req.on('end', () =>
        setTimeout(() => {
          res.writeHead(fault === 'slowDown' ? 503 : 500, { 'content-type': 'application/xml' })
          res.end(fault === 'slowDown' ? SLOW_DOWN : INTERNAL)
        }, options.latencyMs ?? 0),
      )
      return
    }
    if (fault === 'errorIn200') {
      // S3 may answer 200 and put the error in the body (CompleteMultipartUpload, DeleteObjects).
      // The request is not forwarded: nothing was done.
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/xml' })
        res.end(INTERNAL)
      })
      return
    }
    if (fault === 'resetRequest') {
      // Drop the connection while the request is still arriving.
      req.once('data', () => req.socket.destroy())
      req.once('end', () => req.socket.destroy())
      return
    }
    if (fault === 'stall') {
      // Never answer; the client's timeout must give up. The socket closes after stallMs.
      req.resume()
      setTimeout(() => req.socket.destroy(), options.stallMs ?? 10_000).unref()
      return
    }
    if (options.oneWayMs) {
      forwardDelayed(req, res, url, upstream, options.oneWayMs, fault)
      return
    }
    if (options.latencyMs) req.pause()
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        if (fault === 'resetResponse') {
          // The server did the work; the answer is lost on the way back.
          answer.resume()
          answer.on('end', () => req.socket.destroy())
          return
        }
        if (fault === 'cutShort') {
          // The first half of the answer without a length, then the connection closes cleanly:
          // only the body itself can tell that it is not whole.
          const chunks = []
          answer.on('data', (chunk) => chunks.push(chunk))
          answer.on('end', () => {
            const body = Buffer.concat(chunks)
            const head = Object.entries(answer.headers).filter(([name]) => !['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name))
            const lines = head.flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${name}: ${v}`))
            req.socket.end(`HTTP/1.1 ${answer.statusCode} OK\r\n${[...lines, 'connection: close'].join('\r\n')}\r\n\r\n${body.subarray(0, Math.floor(body.length / 2))}`)
          })
          return
        }
        if (fault === 'trickle') {
          // The head at once, then the body one byte every `trickleMs`: never idle for long, never done.
          const { 'content-length': _length, ...headers } = answer.headers
          res.writeHead(answer.statusCode ?? 502, headers)
          const chunks = []
          answer.on('data', (chunk) => chunks.push(chunk))
          answer.on('end', () => {
            const body = Buffer.concat(chunks)
            let at = 0
            const timer = setInterval(() => {
              if (at >= body.length) {
                clearInterval(timer)
                res.end()
              } else res.write(body.subarray(at, ++at))
            }, options.trickleMs ?? 5000)
            res.on('close', () => clearInterval(timer))
          })
          return
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        if (fault === 'truncate') {
          // Half an answer, then the connection ends: the client sees a short body.
          let sent = false
          answer.once('data', (chunk) => {
            sent = true
            res.write(chunk.subarray(0, Math.floor(chunk.length / 2)))
            req.socket.destroy()
          })
          answer.on('end', () => {
            if (!sent) req.socket.destroy()
          })
          return
        }
        answer.pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    // A wide-area round trip, simulated: lets requests overlap as they do against a real storage.
    if (options.latencyMs) setTimeout(() => req.pipe(forward), options.latencyMs)
    else req.pipe(forward)
  }
  server.keepAliveTimeout = 5000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    faults,
    /** Turn fault injection off (or on again) without restarting. */
    setFaults(on) {
      faultsOn = on
    },
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
