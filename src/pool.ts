/** What `runPool` did: how many items were started (always a prefix of `items`). */
export interface PoolResult {
  /** Items `items[0 .. started-1]` were started and have settled; the rest never started. */
  started: number
}

export interface PoolOptions {
  /** At most this many tasks run at once (an integer ≥ 1). */
  limit: number
  /** Once aborted, no further task starts. */
  signal?: AbortSignal
  /**
   * When a task throws: `true` starts no further task, waits for those in flight, then rejects
   * with the first error; `false` runs every task and then rejects with the only error, or an
   * AggregateError of all of them. Errors are never dropped either way.
   * @default false
   */
  stopOnError?: boolean
}

/**
 * Runs `task` over `items` in order, at most `limit` at once. It never returns or rejects while
 * a started task is still running, so a caller that then aborts (a multipart upload) or saves
 * (the cache) knows nothing is still writing. Items are started in order: those not started
 * (after an abort or an error) are exactly `items.slice(started)`.
 */
export async function runPool<T>(items: readonly T[], task: (item: T, index: number) => Promise<void>, options: PoolOptions): Promise<PoolResult> {
  const { limit, signal, stopOnError = false } = options
  let next = 0
  const errors: unknown[] = []
  const worker = async () => {
    while (next < items.length && !signal?.aborted && !(stopOnError && errors.length > 0)) {
      const index = next++
      try {
        await task(items[index] as T, index)
      } catch (error) {
        errors.push(error)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (errors.length === 1 || (stopOnError && errors.length > 0)) throw errors[0]
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} of ${next} tasks failed`)
  return { started: next }
}

/** A count of slots shared by several pools: `use` waits for a free slot, runs `task`, then frees it. */
export interface Slots {
  use<T>(task: () => Promise<T>): Promise<T>
}

export function createSlots(limit: number): Slots {
  let free = limit
  const waiting: (() => void)[] = []
  return {
    async use(task) {
      if (free > 0) free--
      else await new Promise<void>((resolve) => waiting.push(resolve)) // the slot is handed over, not freed
      try {
        return await task()
      } finally {
        const next = waiting.shift()
        if (next) next()
        else free++
      }
    },
  }
}

/**
 * Bytes shared by several pools: `use(bytes, task)` waits until they fit under the limit, runs
 * `task`, then gives them back. Waiters go first come, first served, and a task alone is always
 * let through whatever its size, so nothing waits forever.
 */
export interface Budget {
  use<T>(bytes: number, task: () => Promise<T>): Promise<T>
}

export function createBudget(limit: number): Budget {
  let held = 0
  const waiting: { bytes: number; go: () => void }[] = []
  const fits = (bytes: number) => held === 0 || held + bytes <= limit
  const wake = () => {
    for (let first = waiting[0]; first && fits(first.bytes); first = waiting[0]) {
      waiting.shift()
      held += first.bytes // taken for the waiter before it runs, so no newcomer overtakes it
      first.go()
    }
  }
  return {
    async use(bytes, task) {
      if (waiting.length === 0 && fits(bytes)) held += bytes
      else await new Promise<void>((go) => waiting.push({ bytes, go }))
      try {
        return await task()
      } finally {
        held -= bytes
        wake()
      }
    },
  }
}
