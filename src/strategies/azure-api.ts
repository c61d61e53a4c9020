import { AzureError, type AzureTransport } from './azure-transport.js'
import { pause } from './utils.js'

/**
 * The Blob service operations the Azure strategy uses, one interface for both paths: the lean
 * REST requests here, and a user's own ContainerClient (azure-sdk.ts).
 */

/** What the service says about one blob. */
export interface BlobInfo {
  name: string
  size?: number
  /** Hex MD5 of the blob's Content-MD5 property. */
  md5?: string
  /** The ETag, without quotes. */
  etag?: string
  modified?: number
  /** Its properties Content-Type, Cache-Control and Content-Encoding ('' where unset). */
  contentType?: string
  cacheControl?: string
  contentEncoding?: string
  metadata: Record<string, string>
}

/** The properties a blob is stored with. */
export interface BlobHeaders {
  contentType: string
  cacheControl?: string
  contentEncoding?: string
  metadata: Record<string, string>
}

/** A conditional write: over this ETag, or only where no blob is (`ifNoneMatch: '*'`). */
export type Condition = { ifMatch: string } | { ifNoneMatch: '*' }

export interface Stored {
  etag?: string
  modified?: number
  /** Requests it took, when more than one (a copy, its polls, its properties). */
  requests?: number
}

export interface AzureApi {
  /** Reads (`list`, `head`, `get`) are abandoned once `signal` aborts: a cancelled deploy stops waiting. */
  /** One page of the listing (up to 5,000 blobs) and the marker of the next, if any. */
  list(prefix: string, marker: string | undefined, signal?: AbortSignal): Promise<{ blobs: BlobInfo[]; next?: string }>
  head(name: string, signal?: AbortSignal): Promise<BlobInfo | undefined>
  /** The blob's bytes as stored (never decoded); rejects with an error named 'TooLarge' past `maxBytes`. */
  get(name: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array | undefined>
  /** Put Blob: the bytes in one request; the service checks them against `md5` (base64). */
  put(name: string, body: Uint8Array, md5: string, headers: BlobHeaders, condition: Condition | undefined, timeout: number): Promise<Stored>
  /** Put Block: one block, uncommitted until `commit`; the service checks it against `md5`. */
  putBlock(name: string, id: string, body: Uint8Array, md5: string, timeout: number): Promise<void>
  /** Put Block List: the blob becomes these blocks, with these properties (`md5`: the whole blob's, stored). */
  commit(name: string, ids: string[], md5: string, headers: BlobHeaders, condition: Condition | undefined, timeout: number): Promise<Stored>
  /**
   * Copy Blob within the account, waiting while it is pending. With `headers`, the copy gets that
   * metadata, then those properties (Set Blob Properties, keeping `md5`, base64); without, the source's.
   */
  copy(from: string, to: string, headers: BlobHeaders | undefined, md5: string | undefined, timeout: number): Promise<Stored>
  /** Resolves false when the blob was not there. */
  delete(name: string): Promise<boolean>
  close(): Promise<void>
}

const hexOf = (base64: string | undefined) => (base64 ? Buffer.from(base64, 'base64').toString('hex') : undefined)
const unquote = (etag: unknown) => (typeof etag === 'string' ? etag.replaceAll('"', '') : undefined)
const time = (text: unknown) => {
  const ms = Date.parse(String(text))
  return Number.isNaN(ms) ? undefined : ms
}

function propertyHeaders(headers: BlobHeaders): Record<string, string> {
  const out: Record<string, string> = { 'x-ms-blob-content-type': headers.contentType }
  if (headers.cacheControl !== undefined) out['x-ms-blob-cache-control'] = headers.cacheControl
  if (headers.contentEncoding !== undefined) out['x-ms-blob-content-encoding'] = headers.contentEncoding
  return { ...out, ...metadataHeaders(headers.metadata) }
}

function metadataHeaders(metadata: Record<string, string>): Record<string, string> {
  // Azure's metadata names are case-insensitive; the signature wants header names in lower case.
  return Object.fromEntries(Object.entries(metadata).map(([name, value]) => [`x-ms-meta-${name.toLowerCase()}`, value]))
}

const conditionHeaders = (condition: Condition | undefined): Record<string, string> =>
  condition === undefined ? {} : 'ifMatch' in condition ? { 'if-match': `"${condition.ifMatch}"` } : { 'if-none-match': '*' }

/** XML text: the five entities, and every other character as it is. */
const xmlText = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * Reads List Blobs' answer: each `Blob` under `Blobs` (its `Name`, its `Properties`, its
 * `Metadata`) and `NextMarker`. htmlparser2 in XML mode decodes entities and keeps whitespace;
 * a name the service could not put in XML comes percent-encoded (`Encoded="true"`).
 */
function readListing(Parser: typeof import('htmlparser2').Parser, body: Buffer): { blobs: BlobInfo[]; next?: string } {
  const blobs: BlobInfo[] = []
  let next: string | undefined
  const path: string[] = []
  let blob: BlobInfo | undefined
  let encoded = false
  let text = ''
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        path.push(name)
        text = ''
        if (path.length === 3 && name === 'Blob') blob = { name: '', metadata: Object.create(null) }
        if (path.length === 4 && name === 'Name') encoded = attributes.Encoded === 'true'
      },
      ontext(chunk) {
        text += chunk
      },
      onclosetag(name) {
        const depth = path.length
        if (depth === 2 && name === 'NextMarker') next = text || undefined
        else if (blob && depth === 3 && name === 'Blob') {
          blobs.push(blob)
          blob = undefined
        } else if (blob && depth === 4 && name === 'Name') blob.name = encoded ? decodeURIComponent(text) : text
        else if (blob && depth === 5 && path[3] === 'Metadata') blob.metadata[name] = text
        else if (blob && depth === 5 && path[3] === 'Properties') {
          if (name === 'Content-Length') blob.size = Number(text)
          else if (name === 'Content-MD5') blob.md5 = hexOf(text)
          else if (name === 'Etag') blob.etag = unquote(text)
          else if (name === 'Last-Modified') blob.modified = time(text)
          else if (name === 'Content-Type') blob.contentType = text
          else if (name === 'Cache-Control') blob.cacheControl = text
          else if (name === 'Content-Encoding') blob.contentEncoding = text
        }
        path.pop()
        text = ''
      },
    },
    { xmlMode: true, decodeEntities: true },
  )
  parser.end(body.toString('utf8'))
  return { blobs, next }
}

export interface LeanAzureOptions {
  transport: AzureTransport
  container: string
  /** Milliseconds for small requests (list, HEAD, GET, DELETE, Put Block List). */
  timeout: number
}

export function leanAzureApi({ transport, container, timeout }: LeanAzureOptions): AzureApi {
  // Loaded on the first listing: a warm deploy's one HEAD does not need it.
  let parser: typeof import('htmlparser2').Parser | undefined
  const stored = (headers: Record<string, unknown>): Stored => ({ etag: unquote(headers.etag), modified: time(headers['last-modified']) })

  return {
    async list(prefix, marker, signal) {
      const query: Record<string, string> = { restype: 'container', comp: 'list', include: 'metadata', maxresults: '5000' }
      if (prefix) query.prefix = prefix
      if (marker) query.marker = marker
      const answer = await transport.send({ method: 'GET', container, query, timeout, signal })
      parser ??= (await import('htmlparser2')).Parser
      return readListing(parser, answer.body)
    },

    async head(name, signal) {
      const answer = await transport.send({ method: 'HEAD', container, blob: name, timeout, missingOk: true, signal })
      if (answer.status === 404) return undefined
      const metadata: Record<string, string> = Object.create(null)
      for (const [header, value] of Object.entries(answer.headers)) {
        if (header.startsWith('x-ms-meta-') && value !== undefined) metadata[header.slice(10)] = String(value)
      }
      const md5 = answer.headers['content-md5']
      const header = (name: string) => String(answer.headers[name] ?? '')
      return {
        name,
        size: Number(answer.headers['content-length']),
        md5: hexOf(typeof md5 === 'string' ? md5 : undefined),
        contentType: header('content-type'),
        cacheControl: header('cache-control'),
        contentEncoding: header('content-encoding'),
        metadata,
        ...stored(answer.headers),
      }
    },

    async get(name, maxBytes, signal) {
      const answer = await transport.send({ method: 'GET', container, blob: name, timeout, maxBytes, missingOk: true, signal })
      return answer.status === 404 ? undefined : new Uint8Array(answer.body)
    },

    async put(name, body, md5, headers, condition, putTimeout) {
      const answer = await transport.send({
        method: 'PUT',
        container,
        blob: name,
        headers: { 'x-ms-blob-type': 'BlockBlob', 'content-md5': md5, ...propertyHeaders(headers), ...conditionHeaders(condition) },
        body,
        timeout: putTimeout,
      })
      return stored(answer.headers)
    },

    async putBlock(name, id, body, md5, blockTimeout) {
      await transport.send({ method: 'PUT', container, blob: name, query: { comp: 'block', blockid: id }, headers: { 'content-md5': md5 }, body, timeout: blockTimeout })
    },

    async commit(name, ids, md5, headers, condition, commitTimeout) {
      const body = Buffer.from(`<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Latest>${xmlText(id)}</Latest>`).join('')}</BlockList>`)
      const answer = await transport.send({
        method: 'PUT',
        container,
        blob: name,
        query: { comp: 'blocklist' },
        headers: { 'content-type': 'application/xml', 'x-ms-blob-content-md5': md5, ...propertyHeaders(headers), ...conditionHeaders(condition) },
        body,
        timeout: commitTimeout,
      })
      return stored(answer.headers)
    },

    async copy(from, to, headers, md5, copyTimeout) {
      const source = transport.sourceUrl(container, from)
      let answer = await transport.send({ method: 'PUT', container, blob: to, headers: { 'x-ms-copy-source': source, ...metadataHeaders(headers?.metadata ?? {}) }, timeout: copyTimeout })
      let requests = 1
      // A copy within an account is mostly done when answered; a pending one is polled until it ends.
      const deadline = Date.now() + copyTimeout
      for (let wait = 50; answer.headers['x-ms-copy-status'] === 'pending'; wait = Math.min(wait * 2, 2000)) {
        if (Date.now() > deadline) throw new AzureError(200, 'CopyPending', `the copy was still pending after ${copyTimeout} ms`)
        await pause(wait)
        answer = await transport.send({ method: 'HEAD', container, blob: to, timeout })
        requests++
      }
      const status = String(answer.headers['x-ms-copy-status'] ?? 'success')
      if (status !== 'success') throw new AzureError(200, 'CopyFailed', `the copy ended ${status}${answer.headers['x-ms-copy-status-description'] ? `: ${answer.headers['x-ms-copy-status-description']}` : ''}`)
      if (!headers) return { ...stored(answer.headers), requests }
      // Set Blob Properties clears every property it is not given: the MD5 is given again.
      const properties = { ...propertyHeaders({ ...headers, metadata: {} }), ...(md5 ? { 'x-ms-blob-content-md5': md5 } : {}) }
      answer = await transport.send({ method: 'PUT', container, blob: to, query: { comp: 'properties' }, headers: properties, timeout })
      return { ...stored(answer.headers), requests: requests + 1 }
    },

    async delete(name) {
      const answer = await transport.send({ method: 'DELETE', container, blob: name, headers: { 'x-ms-delete-snapshots': 'include' }, timeout, missingOk: true })
      return answer.status !== 404
    },

    close: () => transport.close(),
  }
}
