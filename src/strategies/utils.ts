import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { type UploadFile, storageError } from '../strategy.js'

/** Object metadata where strategies keep our digests, so a cold cache can compare without downloading. */
export const METADATA_MD5 = 'collectfasta-md5'
export const METADATA_XXH64 = 'collectfasta-xxh64'
export const METADATA_HEADERS = 'collectfasta-headers'

/** Imports an optional SDK on first use; a missing one gives an install hint. */
export async function importSdk<T>(name: string, load: () => Promise<unknown>): Promise<T> {
  try {
    return (await load()) as T
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && e.message.includes(name)) {
      // The CLI exits 2 on this code: the setup must change before a deploy can be tried.
      throw Object.assign(new Error(`[collectfasta] Cannot import \`${name}\`. Install it with \`npm i -D ${name}\`.`), { code: 'ERR_COLLECTFASTA_MISSING_SDK' })
    }
    throw error
  }
}


/**
 * Checks the options every bucket strategy shares: an object with a `bucket` (no folder in it)
 * and positive integers where numbers are expected. Mistakes are TypeErrors naming the fix.
 */
export function validateBucketOptions(strategy: string, options: unknown, integers: readonly string[]): void {
  const fail = (message: string): never => {
    throw new TypeError(`[collectfasta] [${strategy}] ${message}`)
  }
  if (typeof options !== 'object' || options === null) fail(`Expected options like \`{ bucket: 'my-site' }\`, got ${String(options)}.`)
  const o = options as Record<string, unknown>
  if (typeof o.bucket !== 'string' || o.bucket === '') {
    fail(`Missing required option \`bucket\`: the bucket to deploy into, e.g. \`${strategy}({ bucket: 'my-site' })\`.`)
  }
  if ((o.bucket as string).includes('/')) fail(`The bucket ${JSON.stringify(o.bucket)} contains '/': put the folder in \`prefix\`.`)
  for (const name of integers) {
    const value = o[name]
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 1)) {
      fail(`Expected \`${name}\` to be an integer ≥ 1, got ${String(value)}.`)
    }
  }
}

/** Deleting is only ever allowed under the strategy's own prefix. */
export function assertUnderPrefix(strategy: string, prefix: string, keys: readonly string[]): void {
  const outside = keys.filter((key) => !key.startsWith(prefix))
  if (outside.length) throw storageError(strategy, `Refusing to delete keys outside the prefix "${prefix}": ${outside.join(', ')}.`)
}

const MiB = 1024 * 1024

/**
 * How long one request may take in all: `short` (the small-request timeout) for a body (sent or
 * answered) up to 1 MiB, plus 4 s per MiB above that, so a slow link still gets a large body
 * through and a trickled one fails.
 */
export function bodyTimeout(size: number, short: number): number {
  return size > MiB ? short + Math.ceil((size / MiB) * 4000) : short
}

/**
 * How a strategy reads a body in parts: the core's `read` (a large file's ranges come from
 * disk), or ranges of `body` for a caller that gave only bytes.
 */
export function rangeReader(file: UploadFile): (start: number, end: number) => Promise<Uint8Array> {
  const { read } = file
  if (read) return (start, end) => read.call(file, start, end)
  const whole = file.body
  return async (start, end) => whole.subarray(start, end)
}

/** Whether an ETag is the MD5 of the object's bytes (32 hex digits: not multipart, not SSE-KMS). */
export function isMd5Etag(etag: string | undefined): etag is string {
  return etag !== undefined && /^[0-9a-f]{32}$/.test(etag)
}

/** Waits `ms`, or less once `signal` aborts: a cancelled deploy does not sit out a retry's pause. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => {})
}

/**
 * Stops a listing that would never end, with a sentence, instead of listing until memory runs
 * out: a page token given before (or none while the page says there is more), a page starting
 * with a key of the page before, a page holding the key that began an earlier page (a listing
 * gives each key once: it went back, and would go round for ever with fresh tokens), over
 * `maxPages` pages of 1,000 keys (fewer where a page holds more: `keysPerPage`), or 100 empty
 * pages in a row that each say there is more. Call it once a page, before its objects are used.
 * It holds the tokens and each page's first key: a string a page, whatever the page's size.
 */
export function endlessListingGuard(strategy: string, where: string, maxPages: number, keysPerPage = 1000) {
  const limit = Math.ceil((maxPages * 1000) / keysPerPage)
  const tokens = new Set<string>()
  /** The first key of each page so far, and its page's number. */
  const starts = new Map<string, number>()
  let previous = new Set<string>()
  let pages = 0
  let emptyInARow = 0
  return (page: { keys: readonly string[]; more: boolean; next: string | undefined }) => {
    pages++
    emptyInARow = page.keys.length ? 0 : emptyInARow + 1
    const back = () => {
      for (const key of page.keys) {
        const began = starts.get(key)
        if (began !== undefined) return `page ${pages} gave again the key that began page ${began}`
      }
      return false
    }
    const endless =
      (page.more && (!page.next || tokens.has(page.next)) && `page ${pages} answered a page token it had given before (or none) and said there is more`) ||
      (page.keys.length > 0 && previous.has(page.keys[0] as string) && 'a page started with a key of the page before') ||
      back() ||
      (pages > limit && `it gave over ${limit} pages of ${keysPerPage.toLocaleString('en-US')} keys`) ||
      (page.more && emptyInARow > 100 && 'it gave 100 empty pages in a row, each saying there is more')
    if (endless) throw storageError(strategy, `The listing of ${where} does not end: ${endless}. The server does not page as the storage should; check the endpoint (or a proxy in front of it).`)
    previous = new Set(page.keys)
    if (page.keys.length > 0) starts.set(page.keys[0] as string, pages)
    if (page.next) tokens.add(page.next)
  }
}

/**
 * `promise`, or a failure once `ms` have passed (`code: 'ETIMEDOUT'`) or `signal` aborts
 * (`code: 'ABORT_ERR'`): the deadline of an SDK call that takes no signal of ours. The call
 * itself is left to its own timeouts.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  let cancel = () => {}
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`the answer was not whole within ${ms} ms`), { code: 'ETIMEDOUT' })), ms)
    cancel = () => reject(Object.assign(new Error('the deploy was cancelled while waiting for the answer'), { code: 'ABORT_ERR' }))
    if (signal?.aborted) cancel()
    signal?.addEventListener('abort', cancel, { once: true })
  })
  promise.catch(() => {}) // settled after the deadline: nobody waits for it any more
  return Promise.race([promise, late]).finally(() => {
    clearTimeout(timer)
    signal?.removeEventListener('abort', cancel)
  })
}

/**
 * A stream read whole, under a deadline that grows with what arrived (`deadline(bytes)`, in ms
 * from the start: a trickled body ends in seconds), abandoned when `signal` aborts and refused
 * past `maxBytes` (`code: 'ERR_ANSWER_TOO_LARGE'`).
 */
export async function readStream(stream: Readable, deadline: (bytes: number) => number, signal: AbortSignal, maxBytes: number): Promise<Buffer> {
  const started = performance.now()
  const fail = (code: string, message: string) => stream.destroy(Object.assign(new Error(message), { code }))
  let limit = deadline(0)
  let timer: NodeJS.Timeout | undefined
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => fail('ETIMEDOUT', `the answer was not whole within ${limit} ms`), limit - (performance.now() - started))
  }
  const cancel = () => fail('ABORT_ERR', 'the deploy was cancelled while waiting for the answer')
  arm()
  signal.addEventListener('abort', cancel, { once: true })
  if (signal.aborted) cancel()
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.byteLength
      if (size > maxBytes) {
        const error = Object.assign(new Error(`the answer is over the ${maxBytes} bytes this request may read`), { code: 'ERR_ANSWER_TOO_LARGE' })
        stream.destroy()
        throw error
      }
      if (deadline(size) > limit) {
        limit = deadline(size)
        arm()
      }
      chunks.push(chunk)
    }
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', cancel)
  }
  return Buffer.concat(chunks, size)
}
