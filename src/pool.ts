/**
 * Runs `task` over `items` with at most `limit` at once. A task's failure is the task's own
 * business (it records it); the pool never stops early except when `signal` aborts, and then
 * only stops starting new tasks.
 */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const item = items[next++] as T
      await task(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}
