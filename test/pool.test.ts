import { describe, expect, it } from 'vitest'
import { backoff, createThrottle } from '../src/core/throttle.js'
import { createBudget, createSlots, runPool } from '../src/pool.js'

const tick = (ms = 1) => new Promise((resolve) => setTimeout(resolve, ms))

describe('runPool', () => {
  it('never runs more than `limit` at once and runs every item', async () => {
    let running = 0
    let peak = 0
    const seen: number[] = []
    const { started } = await runPool(
      Array.from({ length: 20 }, (_, i) => i),
      async (i) => {
        running++
        peak = Math.max(peak, running)
        await tick(i % 3)
        seen.push(i)
        running--
      },
      { limit: 4 },
    )
    expect(started).toBe(20)
    expect(peak).toBe(4)
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('stopOnError: starts nothing after a failure, waits for tasks in flight, then rejects with the first error', async () => {
    const startedItems: number[] = []
    const finished: number[] = []
    const run = runPool(
      [0, 1, 2, 3, 4, 5, 6, 7],
      async (i) => {
        startedItems.push(i)
        if (i === 1) throw new Error('part 1 failed')
        await tick(20)
        finished.push(i)
      },
      { limit: 3, stopOnError: true },
    )
    await expect(run).rejects.toThrow('part 1 failed')
    // 0 and 2 were in flight with 1: both finished before the pool settled; nothing after them started.
    expect(startedItems).toEqual([0, 1, 2])
    expect(finished.sort()).toEqual([0, 2])
  })

  it('without stopOnError: runs every task and loses no error', async () => {
    const ran: number[] = []
    const run = runPool(
      [0, 1, 2, 3],
      async (i) => {
        ran.push(i)
        if (i % 2) throw new Error(`task ${i}`)
      },
      { limit: 2 },
    )
    const error = await run.catch((e: unknown) => e)
    expect(ran.sort()).toEqual([0, 1, 2, 3])
    expect(error).toBeInstanceOf(AggregateError)
    expect((error as AggregateError).errors.map((e: Error) => e.message).sort()).toEqual(['task 1', 'task 3'])
  })

  it('an aborted signal starts no new task; the unstarted items are the tail', async () => {
    const controller = new AbortController()
    const ran: number[] = []
    const { started } = await runPool(
      [0, 1, 2, 3, 4, 5],
      async (i) => {
        ran.push(i)
        if (i === 2) controller.abort()
        await tick()
      },
      { limit: 1, signal: controller.signal },
    )
    expect(ran).toEqual([0, 1, 2])
    expect(started).toBe(3)
  })
})

describe('the upload throttle', () => {
  it('halves on a throttling answer and grows back by one after a run of successes', () => {
    const throttle = createThrottle(16)
    throttle.slowDown()
    throttle.slowDown()
    expect(throttle.limit).toBe(4)
    for (let i = 0; i < 3; i++) throttle.succeeded()
    expect(throttle.limit).toBe(4)
    throttle.succeeded()
    expect(throttle.limit).toBe(5)
    for (let i = 0; i < 200; i++) throttle.succeeded()
    expect(throttle.limit).toBe(16)
  })

  it('never drops below one in flight, and wakes a waiter when it grows', async () => {
    const throttle = createThrottle(2)
    for (let i = 0; i < 5; i++) throttle.slowDown()
    expect(throttle.limit).toBe(1)
    await throttle.acquire()
    let second = false
    const waiting = throttle.acquire().then(() => {
      second = true
    })
    await tick()
    expect(second).toBe(false)
    throttle.succeeded() // one success at limit 1: grows to 2, wakes the waiter
    await waiting
    expect(second).toBe(true)
  })

  it('backs off a throttled upload exponentially from 500 ms with full jitter, capped at 20 s', () => {
    expect(backoff(1, () => 1)).toBe(500)
    expect(backoff(3, () => 1)).toBe(2000)
    expect(backoff(20, () => 1)).toBe(20_000)
    expect(backoff(5, () => 0)).toBe(0)
  })
})

describe('createSlots', () => {
  it('shares one limit among several pools, and runs every task', async () => {
    const slots = createSlots(3)
    let running = 0
    let peak = 0
    const done: number[] = []
    const task = (i: number) =>
      slots.use(async () => {
        running++
        peak = Math.max(peak, running)
        await tick(i % 4)
        running--
        done.push(i)
      })
    // Two pools of 4 at once would run 8 together without the shared slots.
    await Promise.all([0, 1].map((pool) => runPool(Array.from({ length: 10 }, (_, i) => pool * 10 + i), task, { limit: 4 })))
    expect(peak).toBe(3)
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('frees the slot of a task that throws', async () => {
    const slots = createSlots(1)
    await expect(slots.use(async () => Promise.reject(new Error('part failed')))).rejects.toThrow('part failed')
    expect(await slots.use(async () => 'next')).toBe('next')
  })
})

describe('createBudget', () => {
  it('holds at most the limit in bytes across pools, first come first served, and runs every task', async () => {
    const budget = createBudget(10)
    let held = 0
    let peak = 0
    const order: number[] = []
    const task = (i: number) =>
      budget.use(i % 2 === 0 ? 4 : 3, async () => {
        held += i % 2 === 0 ? 4 : 3
        peak = Math.max(peak, held)
        order.push(i)
        await tick(i % 3)
        held -= i % 2 === 0 ? 4 : 3
      })
    // Two pools of 4 at once would hold up to 28 bytes without the budget.
    await Promise.all([0, 1].map((pool) => runPool(Array.from({ length: 10 }, (_, i) => pool * 10 + i), task, { limit: 4 })))
    expect(peak).toBeLessThanOrEqual(10)
    expect(peak).toBeGreaterThanOrEqual(7)
    expect(order.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('lets a task larger than the limit through alone, and a small one behind it does not overtake it', async () => {
    const budget = createBudget(10)
    const events: string[] = []
    let release: () => void = () => {}
    const first = budget.use(6, () => new Promise<void>((r) => { release = r }).then(() => { events.push('first done') }))
    const big = budget.use(25, async () => { events.push('big runs') })
    const small = budget.use(1, async () => { events.push('small runs') })
    await tick(1)
    expect(events).toEqual([]) // 6 + 1 would fit, but the big one waits ahead of it
    release()
    await Promise.all([first, big, small])
    expect(events).toEqual(['first done', 'big runs', 'small runs'])
  })

  it('gives back the bytes of a task that throws', async () => {
    const budget = createBudget(5)
    await expect(budget.use(5, async () => Promise.reject(new Error('part failed')))).rejects.toThrow('part failed')
    expect(await budget.use(5, async () => 'next')).toBe('next')
  })
})
