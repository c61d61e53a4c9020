import { errorText } from '../report.js'
import type { ChecksumCache } from './cache.js'

/** Confirmations between two checkpoint saves of the cache during a long upload. */
const CHECKPOINT_EVERY = 500
const CHECKPOINT_MS = 5000
/**
 * Each save reads, merges and writes the whole cache, so its cost grows with the site: the next
 * one waits at least this many times as long as the last took (at most a tenth of the time goes
 * to saving; 100,000 files would otherwise save 200 times, quadratic in the site).
 */
const CHECKPOINT_COST_RATIO = 10

/**
 * Saves the cache every few seconds or confirmations while uploading, so a SIGKILL late in a
 * long deploy keeps what was confirmed. One save at a time; a failed save is a warning.
 */
export function createCheckpoint(cache: ChecksumCache, warn: (message: string) => void) {
  let count = 0
  let last = Date.now()
  let cost = 0
  let busy = false
  let saving: Promise<void> = Promise.resolve()
  return {
    confirmed() {
      count++
      const now = Date.now()
      if (busy || now - last < cost * CHECKPOINT_COST_RATIO) return
      if (count < CHECKPOINT_EVERY && now - last < CHECKPOINT_MS) return
      count = 0
      busy = true
      saving = saving
        .then(() => cache.save())
        .catch((error: unknown) => warn(errorText(error)))
        .finally(() => {
          busy = false
          last = Date.now()
          cost = last - now
        })
    },
    settled: () => saving,
  }
}
