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
      throw new Error(`[collectfasta] Cannot import \`${name}\`. Install it with \`npm i -D ${name}\`.`)
    }
    throw error
  }
}

/**
 * An error from a storage, prefixed with the plugin and strategy names, keeping its cause.
 * `throttled` marks "slow down" answers, on which the core lowers its concurrency and retries.
 */
export function storageError(strategy: string, message: string, cause?: unknown, throttled = false): Error {
  const error = new Error(`[collectfasta] [${strategy}] ${message}`, cause === undefined ? undefined : { cause })
  return throttled ? Object.assign(error, { throttled: true }) : error
}
