import { describe, expect, it } from 'vitest'
import type { Strategy, StrategyContext, UploadFile } from '../src/index.js'
import { KILLED, type Kill, type Point, explore, independent, runSchedule } from './explorer.js'

// The explorer itself (#31): its reduction (sleep sets over steps that commute) must still visit
// every state that some order of the steps reaches. Checked on a model small enough to know: two
// runners, each reading the manifest, writing it from what it read, and uploading a file of its own.

const MANIFEST = 'm'

/** A storage of strings, with the strategy calls the gate holds. */
function model() {
  const stored = new Map<string, string>()
  const strategy: Strategy = {
    name: 'model',
    target: 'model://',
    stat: async (key: string) => (stored.has(key) ? { key, version: stored.get(key) } : undefined),
    upload: async (file: UploadFile) => {
      stored.set(file.key, Buffer.from(file.body).toString('utf8'))
      return { key: file.key }
    },
  }
  return { stored, strategy }
}

const ctx = { signal: new AbortController().signal, count: () => {} } as StrategyContext
const put = (s: Strategy, key: string, body: string) => s.upload({ key, body: Buffer.from(body), size: body.length } as unknown as UploadFile, ctx)

/** Runner `name`: uploads its own file first when `early`, reads the manifest, writes it with its name appended, uploads its file otherwise. */
function runner(name: string, early: boolean) {
  return async (gate: (s: Strategy) => Strategy, base: Strategy) => {
    const s = gate(base)
    if (early) await put(s, `${name}.js`, name)
    const seen = (await s.stat!(MANIFEST, ctx))?.version ?? ''
    await put(s, MANIFEST, `${seen}${name}`)
    if (!early) await put(s, `${name}.js`, name)
  }
}

/** Every state (all keys) seen at a decision or at the end, over the schedules `choose` makes. */
async function statesOf(mode: { sample: number } | { preemptions: number } | 'all', kill?: Kill) {
  const states = new Set<string>()
  const schedules = await explore(
    async (choose) => {
      const { stored, strategy } = model()
      const look = () => void states.add(JSON.stringify([...stored].sort()))
      const schedule = await runSchedule([runner('A', false), runner('B', true)].map((run) => (gate) => run(gate, strategy)), MANIFEST, choose, async () => look(), false, kill)
      look()
      return schedule
    },
    mode === 'all' ? {} : 'sample' in mode ? { ...mode, random: seeded() } : mode,
  )
  return { states, schedules }
}

function seeded() {
  let x = 7
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31
    return x / 2 ** 31
  }
}

describe('the interleaving explorer', () => {
  it('reaches every state that random orders reach, in fewer schedules than every order', async () => {
    const all = await statesOf('all')
    const sampled = await statesOf({ sample: 300 })
    expect(sampled.states.size).toBeGreaterThan(0)
    for (const state of sampled.states) expect(all.states, `a state random orders reach: ${state}`).toContain(state)
    // Both writes of the manifest, in both orders, and the lost update between them, are reached.
    const finals = [...all.states].map((s) => new Map(JSON.parse(s) as [string, string][]).get(MANIFEST))
    expect(finals).toEqual(expect.arrayContaining(['AB', 'BA', 'A', 'B']))
    // Each runner has three steps: every order of them is C(6, 3) = 20 schedules.
    expect(all.schedules.length).toBeLessThan(20)
    expect(new Set(all.schedules.map((s) => s.choices.join(''))).size).toBe(all.schedules.length)
  })

  it('with a bound on preemptions, runs every order that preempts a runner at most that often, once', async () => {
    // Every order of the two runners' three steps each (C(6, 3) = 20), by brute force, and how often each preempts.
    const orders = (a: number, b: number): string[] => (a === 0 ? ['1'.repeat(b)] : b === 0 ? ['0'.repeat(a)] : [...orders(a - 1, b).map((o) => `0${o}`), ...orders(a, b - 1).map((o) => `1${o}`)])
    const preemptions = (order: string) => [...order].filter((r, i) => i > 0 && r !== order[i - 1] && order.slice(i).includes(order[i - 1]!)).length
    const every = orders(3, 3)
    expect(every).toHaveLength(20)
    for (const bound of [0, 1, 2, 5]) {
      const { schedules } = await statesOf({ preemptions: bound })
      const ran = schedules.map((s) => s.choices.join(''))
      expect(new Set(ran).size, `bound ${bound}: each order once`).toBe(ran.length)
      expect(ran.sort(), `bound ${bound}`).toEqual(every.filter((o) => preemptions(o) <= bound).sort())
    }
  })

  it('a runner killed at a step sends nothing from that step on, and the other runs to its end in every order', async () => {
    // B uploads B.js (step 1), then is killed at its read of the manifest (step 2).
    const { states, schedules } = await statesOf('all', { runner: 1, step: 2 })
    expect(schedules.length).toBeGreaterThan(0)
    for (const s of schedules) {
      expect(s.outcomes[1]).toEqual({ status: 'fulfilled', value: KILLED })
      expect(s.outcomes[0]?.status).toBe('fulfilled')
      expect(s.traces[1]).toEqual(['upload'])
    }
    const finals = [...states].map((state) => new Map(JSON.parse(state) as [string, string][]))
    expect(finals.some((f) => f.get(MANIFEST) === 'A' && f.get('B.js') === 'B')).toBe(true)
    expect(finals.every((f) => !f.get(MANIFEST)?.includes('B'))).toBe(true)
  })

  it('a runner polling the manifest: its repeated probes set aside, every state that offering them reaches is still reached', async () => {
    // P polls the manifest until it names A, then uploads what it saw; A uploads, writes the manifest, uploads again.
    const poller = async (gate: (s: Strategy) => Strategy, base: Strategy) => {
      const s = gate(base)
      let seen = ''
      while (!seen.includes('A')) seen = (await s.stat!(MANIFEST, ctx))?.version ?? ''
      await put(s, 'P.js', `P saw ${seen}`)
    }
    const writer = async (gate: (s: Strategy) => Strategy, base: Strategy) => {
      const s = gate(base)
      await put(s, 'A.js', 'A')
      await put(s, MANIFEST, 'A')
      await put(s, 'A2.js', 'A')
      await put(s, MANIFEST, 'AB')
    }
    // R probes three times, with an upload between: no poll, never set aside.
    const reader = async (gate: (s: Strategy) => Strategy, base: Strategy) => {
      const s = gate(base)
      for (let i = 0; i < 2; i++) {
        await s.stat!(MANIFEST, ctx)
        await put(s, `R${i}.js`, 'R')
      }
      await put(s, 'R.js', `R saw ${(await s.stat!(MANIFEST, ctx))?.version ?? ''}`)
    }
    const statesWith = async (offerPolls: boolean, mode: { sample: number } | 'all') => {
      const states = new Set<string>()
      const schedules = await explore(async (choose) => {
        const { stored, strategy } = model()
        const look = () => void states.add(JSON.stringify([...stored].sort()))
        const schedule = await runSchedule([poller, writer, reader].map((run) => (gate) => run(gate, strategy)), MANIFEST, choose, async () => look(), false, undefined, offerPolls)
        look()
        return schedule
      }, mode === 'all' ? {} : { ...mode, random: seeded() })
      return { states, schedules }
    }
    const reduced = await statesWith(false, 'all')
    const offered = await statesWith(true, { sample: 500 })
    expect(offered.states.size).toBeGreaterThan(3)
    for (const state of offered.states) expect(reduced.states, `a state offering every poll reaches: ${state}`).toContain(state)
    // R's third probe between A's two writes: a runner that probes again after other steps is not polling.
    expect([...reduced.states].some((s) => s.includes('R saw A"'))).toBe(true)
    // The rule set polls aside: no schedule of the reduced search polls more than twice after each of A's writes.
    expect(reduced.schedules.every((s) => s.traces[0]!.filter((p) => p === 'probe').length <= 6)).toBe(true)
    expect(offered.schedules.some((s) => s.traces[0]!.filter((p) => p === 'probe').length > 6)).toBe(true)
  })

  it('steps commute when neither writes what the other reads or writes', () => {
    const table: [Point, Point, boolean][] = [
      ['probe', 'probe', true],
      ['probe', 'read', true],
      ['probe', 'write manifest', false],
      ['probe', 'upload', true],
      ['read manifest', 'write manifest', false],
      ['read manifest', 'upload', true],
      ['read', 'upload', false],
      ['read', 'delete', false],
      ['read', 'write manifest', true],
      ['write manifest', 'write manifest', false],
      ['write manifest', 'upload', true],
      ['write manifest', 'delete', true],
      ['upload', 'upload html', false],
      ['upload', 'delete', false],
      ['copy', 'upload', false],
      ['copy', 'read', false],
      ['copy', 'write manifest', true],
    ]
    for (const [a, b, expected] of table) {
      expect(independent(a, b), `${a} with ${b}`).toBe(expected)
      expect(independent(b, a), `${b} with ${a}`).toBe(expected)
    }
  })
})
