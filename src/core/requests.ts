import type { Budget } from '../pool.js'
import type { RequestKind, StrategyContext } from '../strategy.js'

/** Runs one strategy call, counting its requests into the report. */
export type Counted = <T>(kind: RequestKind, call: (ctx: StrategyContext) => Promise<T>) => Promise<T>

export function emptyRequestCounts(): Record<RequestKind, number> {
  return { list: 0, stat: 0, get: 0, upload: 0, delete: 0, copy: 0 }
}

/** Counts a strategy's requests; a call that counts nothing of its own kind counts as one. */
export function createCounter(requests: Record<RequestKind, number>, signal: AbortSignal, concurrency?: number, memory?: Budget): Counted {
  return async (kind, call) => {
    let counted = false
    const ctx: StrategyContext = {
      signal,
      concurrency,
      hold: memory ? (bytes, task) => memory.use(bytes, task) : undefined,
      count(k, n = 1) {
        requests[k] += n
        if (k === kind) counted = true
      },
    }
    try {
      return await call(ctx)
    } finally {
      if (!counted) requests[kind] += 1
    }
  }
}
