import { createHash } from 'node:crypto'
import { MALFORMED, S3Error, type S3Response, type Transport, encodeKey } from './s3-transport.js'
import { type XmlDocument, readPlainXml, readXmlWith } from './s3-xml.js'

/**
 * The S3 operations the strategy makes, in one shape for both paths: the lean transport (here)
 * and a user's own SDK client (s3-sdk.ts). Object parameters use the SDK's names (`ContentType`,
 * `Metadata`, `SSEKMSKeyId`…), which is what users pass in `params`.
 */
export type ObjectInput = Record<string, unknown> & { Key: string; Metadata?: Record<string, string> }

/** A conditional write: `If-Match` with an ETag, or `If-None-Match: *`. */
export interface Condition {
  ifMatch?: string
  ifNoneMatch?: '*'
}

export interface HeadResult {
  size?: number
  etag?: string
  metadata: Record<string, string>
  modified?: number
  /** The stored headers `collectfasta check` and `verify` compare; `null`: stored without it. */
  headers: { contentType: string | null; cacheControl: string | null; contentEncoding: string | null; redirect: string | null }
}

export interface ListedObject {
  key: string
  size?: number
  etag?: string
  modified?: number
}

export interface ListPage {
  objects: ListedObject[]
  truncated: boolean
  next?: string
  /** Whether the server honoured `EncodingType=url` (the local servers send raw keys). */
  encoded: boolean
}

export interface DeleteResult {
  deleted: string[]
  errors: { key: string; code: string; message: string }[]
}

export interface S3Api {
  put(input: ObjectInput, body: Uint8Array, md5: string, timeout: number, condition?: Condition): Promise<string | undefined>
  /** Reads (`head`, `list`, `get`) are abandoned once `signal` aborts: a cancelled deploy stops waiting. */
  head(key: string, signal?: AbortSignal): Promise<HeadResult | undefined>
  list(prefix: string, token: string | undefined, signal?: AbortSignal): Promise<ListPage>
  /** The object's bytes, refused past `maxBytes`; `undefined` when there is no such key. */
  get(key: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array | undefined>
  /** Deletes up to 1,000 keys: the keys S3 answered as deleted, and the ones it named as not, with why. */
  deleteBatch(keys: string[]): Promise<DeleteResult>
  createMultipart(input: ObjectInput): Promise<string>
  uploadPart(key: string, uploadId: string, partNumber: number, body: Uint8Array, md5: string, timeout: number): Promise<string | undefined>
  complete(key: string, uploadId: string, parts: { PartNumber: number; ETag?: string }[], timeout: number, condition?: Condition): Promise<string | undefined>
  abort(key: string, uploadId: string): Promise<void>
  /** CopyObject: `from`'s bytes at `input.Key`, with `input`'s headers (REPLACE) or `from`'s own (COPY); resolves the new ETag. */
  copy(from: string, input: ObjectInput, directive: 'COPY' | 'REPLACE', timeout: number): Promise<string | undefined>
  close(): Promise<void>
}

/** PutObject / CreateMultipartUpload parameters (the SDK's names) and the headers they are sent as. */
const PARAM_HEADERS: Record<string, string> = {
  ACL: 'x-amz-acl',
  CacheControl: 'cache-control',
  ContentDisposition: 'content-disposition',
  ContentEncoding: 'content-encoding',
  ContentLanguage: 'content-language',
  ContentType: 'content-type',
  Expires: 'expires',
  GrantFullControl: 'x-amz-grant-full-control',
  GrantRead: 'x-amz-grant-read',
  GrantReadACP: 'x-amz-grant-read-acp',
  GrantWriteACP: 'x-amz-grant-write-acp',
  ServerSideEncryption: 'x-amz-server-side-encryption',
  StorageClass: 'x-amz-storage-class',
  WebsiteRedirectLocation: 'x-amz-website-redirect-location',
  SSECustomerAlgorithm: 'x-amz-server-side-encryption-customer-algorithm',
  SSECustomerKey: 'x-amz-server-side-encryption-customer-key',
  SSECustomerKeyMD5: 'x-amz-server-side-encryption-customer-key-md5',
  SSEKMSKeyId: 'x-amz-server-side-encryption-aws-kms-key-id',
  SSEKMSEncryptionContext: 'x-amz-server-side-encryption-context',
  BucketKeyEnabled: 'x-amz-server-side-encryption-bucket-key-enabled',
  RequestPayer: 'x-amz-request-payer',
  Tagging: 'x-amz-tagging',
  ObjectLockMode: 'x-amz-object-lock-mode',
  ObjectLockRetainUntilDate: 'x-amz-object-lock-retain-until-date',
  ObjectLockLegalHoldStatus: 'x-amz-object-lock-legal-hold',
  ExpectedBucketOwner: 'x-amz-expected-bucket-owner',
}
/** Parameters the strategy sets itself. */
const OWN_PARAMS = new Set(['Bucket', 'Key', 'Body', 'ContentLength', 'ContentMD5', 'Metadata'])

/** The headers for an object's parameters; a parameter this path cannot send is refused with a sentence. */
export function paramHeaders(input: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined || OWN_PARAMS.has(name)) continue
    const header = PARAM_HEADERS[name]
    if (!header) {
      throw new TypeError(
        `[collectfasta] [s3] The \`params\` option sets \`${name}\`, which the S3 strategy does not send. Use one of ${Object.keys(PARAM_HEADERS).join(', ')}, or pass your own \`client\` to send any PutObject parameter.`,
      )
    }
    headers[header] = value instanceof Date ? (name === 'Expires' ? value.toUTCString() : value.toISOString()) : String(value)
  }
  for (const [name, value] of Object.entries(input.Metadata ?? {})) headers[`x-amz-meta-${name.toLowerCase()}`] = String(value)
  return headers
}

/** Refuses `params` naming what the strategy sets itself (the key, the body, its digest). */
export function checkParams(params: Record<string, unknown>): void {
  const own = Object.keys(params).filter((name) => OWN_PARAMS.has(name) && name !== 'Metadata')
  if (own.length) throw new TypeError(`[collectfasta] [s3] The \`params\` option sets ${own.map((n) => `\`${n}\``).join(', ')}, which the strategy sets for every file. Remove ${own.length > 1 ? 'them' : 'it'}.`)
  paramHeaders(params)
}

/** XML text: the five entities, and line ends as references (a raw \r would come back as \n). */
function xmlText(text: string): string {
  return text.replace(/[&<>"'\r\n\u0085\u2028]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === "'" ? '&apos;' : `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`))
}

const unquote = (etag: string | string[] | undefined) => (Array.isArray(etag) ? etag[0] : etag)?.replaceAll('"', '')
const conditionHeaders = (condition?: Condition): Record<string, string> =>
  condition?.ifMatch !== undefined ? { 'if-match': `"${condition.ifMatch}"` } : condition?.ifNoneMatch ? { 'if-none-match': '*' } : {}

export interface LeanApiOptions {
  transport: Transport
  /** The bucket, named by a copy's source. */
  bucket: string
  /** Milliseconds for small requests (LIST, HEAD, DELETE, multipart create and abort). */
  timeout: number
}

export async function leanApi({ transport, bucket, timeout }: LeanApiOptions): Promise<S3Api> {
  // htmlparser2 is loaded on the first answer the plain reader leaves to it (s3-xml.ts).
  let parser: typeof import('htmlparser2').Parser | undefined
  /**
   * The answer's document, believed only when whole and of the `root` expected: a 200 carrying
   * an S3 <Error> is that error, anything else a malformed answer; both fail the attempt.
   */
  const xml = async (answer: S3Response, root: string, repeated: readonly string[] = []): Promise<XmlDocument> => {
    let doc = readPlainXml(answer.body.toString('utf8'), repeated)
    if (!doc) {
      parser ??= (await import('htmlparser2')).Parser
      doc = readXmlWith(parser, answer.body, repeated)
    }
    if (doc.root === 'Error' && doc.whole) throw new S3Error(doc.fields.Code?.trim() || 'InternalError', doc.fields.Message?.trim() || `a ${answer.status} answer carried an error`, answer.status)
    if (doc.root !== root || !doc.whole) throw new S3Error(MALFORMED, `the answer is not a whole ${root} document (${answer.body.length} bytes)`, answer.status)
    return doc
  }

  return {
    async put(input, body, md5, putTimeout, condition) {
      const answer = await transport.send({
        method: 'PUT',
        key: input.Key,
        headers: { ...paramHeaders(input), 'content-md5': md5, ...conditionHeaders(condition) },
        body,
        timeout: putTimeout,
      })
      return unquote(answer.headers.etag)
    },

    async head(key, signal) {
      const answer = await transport.send({ method: 'HEAD', key, timeout, signal })
      if (answer.status === 404) return undefined
      const metadata: Record<string, string> = {}
      for (const [name, value] of Object.entries(answer.headers)) {
        if (name.startsWith('x-amz-meta-') && value !== undefined) metadata[name.slice(11)] = String(value)
      }
      const modified = Date.parse(String(answer.headers['last-modified']))
      const header = (name: string) => {
        const value = answer.headers[name]
        return value === undefined ? null : String(value)
      }
      const headers = {
        contentType: header('content-type'),
        cacheControl: header('cache-control'),
        contentEncoding: header('content-encoding'),
        redirect: header('x-amz-website-redirect-location'),
      }
      return { size: Number(answer.headers['content-length']), etag: unquote(answer.headers.etag), metadata, modified: Number.isNaN(modified) ? undefined : modified, headers }
    },

    async list(prefix, token, signal) {
      const query: Record<string, string> = { 'list-type': '2', 'max-keys': '1000', 'encoding-type': 'url' }
      if (prefix) query.prefix = prefix
      if (token) query['continuation-token'] = token
      const result = await transport.send({ method: 'GET', query, timeout, signal }, (answer) => xml(answer, 'ListBucketResult', ['Contents']))
      const { fields } = result
      return {
        objects: result.items.flatMap(({ fields: o }) => {
          if (!o.Key) return []
          const modified = Date.parse(String(o.LastModified))
          return [{ key: o.Key, size: o.Size === undefined ? undefined : Number(o.Size), etag: unquote(o.ETag?.trim()), modified: Number.isNaN(modified) ? undefined : modified }]
        }),
        truncated: fields.IsTruncated?.trim() === 'true',
        next: fields.NextContinuationToken?.trim() || undefined,
        encoded: fields.EncodingType?.trim() === 'url',
      }
    },

    async get(key, maxBytes, signal) {
      try {
        // identity: the manifest is read as stored, never decompressed on the way.
        const answer = await transport.send({ method: 'GET', key, headers: { 'accept-encoding': 'identity' }, timeout, maxBody: maxBytes, signal })
        return new Uint8Array(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength)
      } catch (error) {
        if ((error as S3Error).$metadata?.httpStatusCode === 404) return undefined
        throw error
      }
    },

    async deleteBatch(keys) {
      // Not quiet: a key counts as deleted only where the answer names it so.
      const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>false</Quiet>${keys.map((k) => `<Object><Key>${xmlText(k)}</Key></Object>`).join('')}</Delete>`)
      // Content-MD5: several S3-compatible services refuse a DeleteObjects without it.
      const md5 = createHash('md5').update(body).digest('base64')
      const result = await transport.send({ method: 'POST', query: { delete: '' }, headers: { 'content-md5': md5, 'content-type': 'application/xml' }, body, timeout }, (answer) =>
        xml(answer, 'DeleteResult', ['Deleted', 'Error']),
      )
      return {
        deleted: result.items.flatMap((i) => (i.name === 'Deleted' && i.fields.Key !== undefined ? [i.fields.Key] : [])),
        errors: result.items.flatMap((i) => (i.name === 'Error' ? [{ key: i.fields.Key ?? '', code: i.fields.Code?.trim() || 'Error', message: i.fields.Message?.trim() ?? '' }] : [])),
      }
    },

    async createMultipart(input) {
      const doc = await transport.send({ method: 'POST', key: input.Key, query: { uploads: '' }, headers: paramHeaders(input), timeout }, (answer) => xml(answer, 'InitiateMultipartUploadResult'))
      const id = doc.fields.UploadId?.trim()
      if (!id) throw new S3Error('InvalidMultipart', 'CreateMultipartUpload answered without an UploadId', 200)
      return id
    },

    async uploadPart(key, uploadId, partNumber, body, md5, partTimeout) {
      const answer = await transport.send({ method: 'PUT', key, query: { partNumber: String(partNumber), uploadId }, headers: { 'content-md5': md5 }, body, timeout: partTimeout })
      return answer.headers.etag as string | undefined
    },

    async complete(key, uploadId, parts, completeTimeout, condition) {
      const body = Buffer.from(`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.map((p) => `<Part><PartNumber>${p.PartNumber}</PartNumber><ETag>${xmlText(p.ETag ?? '')}</ETag></Part>`).join('')}</CompleteMultipartUpload>`)
      // S3 may answer 200 and put an error in the body once the parts are assembled (`xml` throws it).
      const doc = await transport.send({ method: 'POST', key, query: { uploadId }, headers: { 'content-type': 'application/xml', ...conditionHeaders(condition) }, body, timeout: completeTimeout }, (answer) =>
        xml(answer, 'CompleteMultipartUploadResult'),
      )
      return unquote(doc.fields.ETag?.trim())
    },

    async abort(key, uploadId) {
      await transport.send({ method: 'DELETE', key, query: { uploadId }, timeout })
    },

    async copy(from, input, directive, copyTimeout) {
      const headers = { ...paramHeaders(input), 'x-amz-copy-source': `/${encodeKey(bucket)}/${encodeKey(from)}`, 'x-amz-metadata-directive': directive }
      // A 200 may carry an <Error> once the copy ran (`xml` throws it, and it is retried as that error).
      const doc = await transport.send({ method: 'PUT', key: input.Key, headers, timeout: copyTimeout }, (answer) => xml(answer, 'CopyObjectResult'))
      return unquote(doc.fields.ETag?.trim())
    },

    close: () => transport.close(),
  }
}
