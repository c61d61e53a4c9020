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
 * How long one upload may take: `short` (the small-request timeout) for a body up to 1 MiB,
 * plus 4 s per MiB above that, so a slow uplink still gets a large single upload through.
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
