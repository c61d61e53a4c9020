import { isThrottle, retryDelay } from '../strategy.js'

/**
 * Backing off when the storage says "slow down": the number of uploads in flight halves on
 * every throttling answer and grows back by one after a run of successes (AIMD, as TCP does),
 * and a throttled upload is retried after an exponential, jittered pause.
 */

export interface Throttle {
  /** Resolves once fewer than the current limit are in flight; the caller must `release()`. */
  acquire(): Promise<void>
  release(): void
  /** A throttling answer: halve the limit. */
  slowDown(): void
  /** A success: after `limit` of them in a row, allow one more in flight. */
  succeeded(): void
  readonly limit: number
}

export function createThrottle(max: number): Throttle {
  let limit = max
  let inFlight = 0
  let streak = 0
  const waiting: (() => void)[] = []
  const wake = () => {
    while (inFlight < limit && waiting.length) {
      inFlight++
      waiting.shift()?.()
    }
  }
  return {
    get limit() {
      return limit
    },
    acquire() {
      if (inFlight < limit) {
        inFlight++
        return Promise.resolve()
      }
      return new Promise((resolve) => waiting.push(resolve))
    },
    release() {
      inFlight--
      wake()
    },
    slowDown() {
      limit = Math.max(1, Math.floor(limit / 2))
      streak = 0
    },
    succeeded() {
      if (limit >= max) return
      streak++
      if (streak >= limit) {
        limit++
        streak = 0
        wake()
      }
    },
  }
}

/** Pause before a throttled upload's retry `attempt` (1, 2, …): the one backoff rule, after a throttling answer. */
export function backoff(attempt: number, random = Math.random): number {
  return retryDelay(attempt, true, random)
}

/** Retries of one request after a throttling answer, on top of the SDK's own retries. */
const THROTTLE_RETRIES = 5

/**
 * Runs `task` in a slot of `throttle`: a throttling answer halves the limit and retries it after
 * the backoff pause (`beforeRetry` lets go of what it held), up to THROTTLE_RETRIES times.
 */
export async function underThrottle<T>(throttle: Throttle, signal: AbortSignal, task: () => Promise<T>, beforeRetry?: () => void): Promise<T> {
  for (let retry = 1; ; retry++) {
    await throttle.acquire()
    try {
      const result = await task()
      throttle.succeeded()
      return result
    } catch (error) {
      if (!isThrottle(error) || retry > THROTTLE_RETRIES || signal.aborted) throw error
      throttle.slowDown()
      beforeRetry?.()
    } finally {
      throttle.release()
    }
    await new Promise((resolve) => setTimeout(resolve, backoff(retry)))
  }
}
