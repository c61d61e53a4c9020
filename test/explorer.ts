import type { Strategy, StrategyContext, UploadFile } from '../src/index.js'

// The interleaving explorer (#31): each runner's strategy is wrapped in a gate that holds its
// requests at the protocol's named points. When every runner is held or done (nothing in flight),
// the scheduler releases one; a schedule is the sequence of those choices. `explore` runs every
// schedule up to the order of independent steps (depth first, with sleep sets), or a random
// sample of them.

/** A protocol step, as a runner's requests show it. */
export type Point = 'probe' | 'read manifest' | 'read' | 'write manifest' | 'upload' | 'upload html' | 'copy' | 'delete'

/**
 * The step a request belongs to. A HEAD of the manifest (the probe, the checks before a prune
 * and a commit, the polls of a deploy waiting for a prune) and each manifest write are steps of
 * their own; a GET of the manifest is a step; listings and other HEADs and GETs are reads of the
 * files; uploads are split at the HTML group only when `fine`.
 */
function pointOf(method: 'list' | 'stat' | 'get' | 'upload' | 'delete', key: string, manifestKey: string, fine: boolean): Point {
  if (method === 'upload') return key === manifestKey ? 'write manifest' : fine && key.endsWith('.html') ? 'upload html' : 'upload'
  if (method === 'delete') return 'delete'
  if (key === manifestKey) return method === 'stat' ? 'probe' : 'read manifest'
  return 'read'
}

/** Whether a request at `point` after `last` begins a new step: a change of kind, and every manifest HEAD or write. */
function beginsStep(point: Point, last: Point | undefined): boolean {
  return point !== last || point === 'probe' || point === 'write manifest'
}

/**
 * What a step may read and write, known when it is held: the manifest, or the other files (their
 * keys are known only as they go). A listing shows the manifest's key too, but the core uses only
 * its name there (prune leaves it out): what it reads of the manifest comes from its HEAD and GET.
 */
const footprints: Record<Point, { reads: 'manifest' | 'files' | 'none'; writes: 'manifest' | 'files' | 'none' }> = {
  probe: { reads: 'manifest', writes: 'none' },
  'read manifest': { reads: 'manifest', writes: 'none' },
  read: { reads: 'files', writes: 'none' },
  'write manifest': { reads: 'manifest', writes: 'manifest' },
  upload: { reads: 'none', writes: 'files' },
  'upload html': { reads: 'none', writes: 'files' },
  // A server-side copy (a page kept before it is replaced, a rollback's copy back) reads a file and writes one.
  copy: { reads: 'files', writes: 'files' },
  delete: { reads: 'none', writes: 'files' },
}

function overlap(a: 'manifest' | 'files' | 'none', b: 'manifest' | 'files' | 'none'): boolean {
  return a !== 'none' && a === b
}

/**
 * Whether two runners' steps give the same storage, and the same answers to each, in either
 * order: neither writes what the other reads or writes. Reads commute; so do a manifest write and
 * an upload group.
 */
export function independent(a: Point, b: Point): boolean {
  const x = footprints[a]
  const y = footprints[b]
  return !overlap(x.writes, y.reads) && !overlap(x.writes, y.writes) && !overlap(y.writes, x.reads)
}

/** Picks the runner to release among those held (`points[i]` is where runner `i` is held, if it is). */
export type Choose = (held: number[], step: number, points: readonly (Point | undefined)[]) => number

interface Gate {
  name: string
  /** `dead`: killed at a step (a process stopped there); its requests from then on are never answered. */
  state: 'running' | 'held' | 'done' | 'dead'
  point?: Point
  /** Points this runner passed, in order. */
  trace: Point[]
  /** Probes in a row up to the one it is held at (0 when it is held elsewhere). */
  probes: number
  /** The count of manifest writes released when each of this runner's last two probes was released. */
  probedAt: (number | undefined)[]
  release?: () => void
  /** Requests that came while held: they go on when it is released. */
  waiters: (() => void)[]
  /** Requests let through and not answered yet. */
  inflight: number
  last?: Point
}

export interface Schedule {
  /** The runner released at each decision. */
  choices: number[]
  /** The runners each decision could have released. */
  options: number[][]
  /** Each runner's points, in order. */
  traces: Point[][]
  /** Each runner's outcome; a killed runner's is fulfilled with `KILLED`. */
  outcomes: PromiseSettledResult<unknown>[]
}

/** The outcome of a runner killed by the schedule. */
export const KILLED = Symbol('killed')

/** A runner killed as it reaches its `step`-th step (counted from 1): that step and every later request of it are never answered. */
export interface Kill {
  runner: number
  step: number
}

/** At most this many decisions in one schedule: more means the runners wait on each other forever. */
const MAX_DECISIONS = 400

/**
 * Runs `runners` (each gets a strategy wrapper to pass to its deploy) through one schedule:
 * `choose` picks which held runner goes on. `quiescent` runs whenever nothing is in flight
 * (before each decision), to check an invariant in between.
 */
export async function runSchedule(
  runners: ((gate: (strategy: Strategy) => Strategy) => Promise<unknown>)[],
  manifestKey: string,
  choose: Choose,
  quiescent?: () => Promise<void>,
  fine = false,
  kill?: Kill,
  /** Offer a polling runner's repeated probes like any step (explorer.test.ts checks the rule against this). */
  offerPolls = false,
): Promise<Schedule> {
  const gates: Gate[] = runners.map((_, i) => ({ name: `runner ${i}`, state: 'running', trace: [], probes: 0, probedAt: [], waiters: [], inflight: 0 }))
  let wake: () => void = () => {}
  const changed = () => wake()
  const killed = runners.map(() => {
    let die: () => void = () => {}
    const dead = new Promise<typeof KILLED>((resolve) => (die = () => resolve(KILLED)))
    return { die, dead }
  })
  const never = () => new Promise<never>(() => {})
  const hold = async (gate: Gate, point: Point): Promise<void> => {
    // Held already: this request waits with the rest of the step, or begins the next one.
    while (gate.state === 'held') await new Promise<void>((resolve) => gate.waiters.push(resolve))
    if (gate.state === 'dead') return never()
    if (!beginsStep(point, gate.last)) return
    const index = gates.indexOf(gate)
    if (kill && kill.runner === index && gate.trace.length + 1 >= kill.step) {
      gate.state = 'dead'
      killed[index]!.die()
      changed()
      return never()
    }
    gate.probes = point === 'probe' ? gate.probes + 1 : 0
    gate.last = point
    gate.point = point
    gate.trace.push(point)
    gate.state = 'held'
    await new Promise<void>((resolve) => {
      gate.release = resolve
      changed()
    })
  }
  /** `call` once the gate lets it through, counted in flight until it is answered. */
  const gated = async <T>(gate: Gate, point: Point, call: () => Promise<T>): Promise<T> => {
    await hold(gate, point)
    gate.inflight++
    try {
      return await call()
    } finally {
      gate.inflight--
      changed()
    }
  }
  const wrap = (gate: Gate) => (strategy: Strategy): Strategy => {
    const wrapped: Strategy = { ...strategy, upload: (file: UploadFile, ctx: StrategyContext) => gated(gate, pointOf('upload', file.key, manifestKey, fine), () => strategy.upload(file, ctx)) }
    if (strategy.stat) wrapped.stat = (key, ctx) => gated(gate, pointOf('stat', key, manifestKey, fine), () => strategy.stat!(key, ctx))
    if (strategy.get) wrapped.get = (key, ctx) => gated(gate, pointOf('get', key, manifestKey, fine), () => strategy.get!(key, ctx))
    if (strategy.delete) wrapped.delete = (keys, ctx) => gated(gate, 'delete', () => strategy.delete!(keys, ctx))
    if (strategy.copy) wrapped.copy = (from, to, ctx, options) => gated(gate, 'copy', () => strategy.copy!(from, to, ctx, options))
    if (strategy.list) {
      const list = strategy.list.bind(strategy)
      wrapped.list = (ctx) =>
        (async function* () {
          await hold(gate, 'read')
          gate.inflight++
          try {
            yield* list(ctx)
          } finally {
            gate.inflight--
            changed()
          }
        })()
    }
    return wrapped
  }
  const outcomes = runners.map((run, i) => {
    const gate = gates[i]!
    const ran = run(wrap(gate)).finally(() => {
      if (gate.state !== 'dead') gate.state = 'done'
      changed()
    })
    // A killed runner never ends (its requests are never answered): its outcome is its death.
    return Promise.race([ran, killed[i]!.dead])
  })
  const settled = Promise.allSettled(outcomes)
  /** Manifest writes released so far (a conflicting one included: it may have changed nothing, and counting it only offers more). */
  let manifestWrites = 0
  /**
   * A third probe in a row, with no manifest write released since the first of the two before
   * it: the runner is polling (waiting for a prune: a poll that sees a change is followed by one
   * more HEAD and a GET, so two in a row can be a poll and its re-read, or a failed copy's check
   * and the end record's re-read; three in a row without a change only the poll makes). It gets
   * the answer the last two got and changes nothing: taken now or after the other runners' next
   * steps up to a manifest write, it leaves the same states, so it goes only when nothing else can.
   */
  const stutters = (g: Gate) => g.point === 'probe' && g.probes >= 3 && g.probedAt[0] === manifestWrites
  const choices: number[] = []
  const offered: number[][] = []
  let decisions = 0
  for (let step = 0; ; step++) {
    // Wait until nothing is in flight: every runner held or done.
    // A killed runner's requests already in flight are answered first (a stopped process's last requests may arrive).
    while (gates.some((g) => g.state === 'running' || (g.state !== 'done' && g.inflight > 0))) await new Promise<void>((resolve) => (wake = resolve))
    const held = gates.flatMap((g, i) => (g.state === 'held' ? [i] : []))
    if (held.length === 0) break
    if (step >= MAX_DECISIONS) throw new Error(`no end after ${MAX_DECISIONS} decisions: ${gates.map((g) => `${g.name} at ${g.point}`).join(', ')}`)
    await quiescent?.()
    // A runner polling the manifest for a change that has not come goes only when nothing else can.
    const working = offerPolls ? held : held.filter((i) => !stutters(gates[i]!))
    const options = working.length > 0 ? working : held
    const choice = choose(
      options,
      decisions++,
      gates.map((g) => (g.state === 'held' ? g.point : undefined)),
    )
    choices.push(choice)
    offered.push(options)
    const gate = gates[choice]!
    if (gate.point === 'probe') gate.probedAt = [gate.probedAt[1], manifestWrites]
    if (gate.point === 'write manifest') manifestWrites++
    gate.state = 'running'
    const release = gate.release
    const waiters = gate.waiters.splice(0)
    gate.release = undefined
    release?.()
    for (const waiter of waiters) waiter()
  }
  return { choices, options: offered, traces: gates.map((g) => g.trace), outcomes: await settled }
}

/** The choice a replayed prefix makes at `step`: a run that goes another way is not deterministic. */
function replayed(prefix: readonly number[], step: number, held: readonly number[]): number {
  const choice = prefix[step]!
  if (!held.includes(choice)) throw new Error(`a replayed schedule went another way at decision ${step}: the runs are not deterministic`)
  return choice
}

/**
 * The sleep set of the branch that releases `awake[j]`: the runners asleep before, and the awake
 * ones explored before it, that commute with it (Godefroid's rule, for explore and estimate alike).
 */
function asleepAfter(sleep: Iterable<number>, awake: readonly number[], j: number, at: (i: number) => Point): number[] {
  const chosen = awake[j]!
  return [...sleep, ...awake.slice(0, j)].filter((u) => u !== chosen && independent(at(u), at(chosen)))
}

/**
 * Every schedule of `run` up to the order of independent steps, or `sample` random ones when
 * given. `run` gets the choices to replay; past them it takes the first runner held that is not
 * asleep, and it returns what it chose and could have chosen at each step.
 *
 * The search is depth first with sleep sets (Godefroid): once the branch that releases runner A
 * at some point has been explored, every other branch from that point keeps A asleep (not chosen)
 * until a step that does not commute with A's runs, since releasing A earlier would only reorder
 * independent steps into a schedule already run. Every state the protocol can reach is still
 * checked; only schedules that differ in the order of independent steps are left out. A schedule
 * whose runners are all asleep is finished in one order and branches no more.
 */
export async function explore(
  run: (choose: Choose) => Promise<Schedule>,
  options: { sample?: number; random?: () => number; limit?: number; preemptions?: number; progress?: (done: number, waiting: number) => void } = {},
): Promise<Schedule[]> {
  const done: Schedule[] = []
  if (options.sample !== undefined) {
    const random = options.random ?? Math.random
    for (let i = 0; i < options.sample; i++) done.push(await run((held) => held[Math.floor(random() * held.length)]!))
    return done
  }
  if (options.preemptions !== undefined) return bounded(run, options.preemptions, options)
  /** A branch to explore: the choices to replay, and the runners asleep once they are replayed. */
  const todo: { prefix: number[]; asleep: number[] }[] = [{ prefix: [], asleep: [] }]
  while (todo.length > 0) {
    const { prefix, asleep } = todo.pop()!
    const made: number[] = []
    let sleep: Set<number> | undefined
    let redundant = false
    const schedule = await run((held, step, points) => {
      const at = (i: number) => points[i]!
      if (step < prefix.length) {
        const replay = replayed(prefix, step, held)
        made.push(replay)
        return replay
      }
      sleep ??= new Set(asleep)
      const awake = held.filter((i) => !sleep!.has(i))
      if (awake.length === 0) redundant = true
      const choice = redundant ? held[0]! : awake[0]!
      if (!redundant) {
        for (let j = 1; j < awake.length; j++) todo.push({ prefix: [...made, awake[j]!], asleep: asleepAfter(sleep, awake, j, at) })
      }
      sleep = new Set(redundant ? [...sleep].filter((u) => u !== choice && independent(at(u), at(choice))) : asleepAfter(sleep, awake, 0, at))
      made.push(choice)
      return choice
    })
    done.push(schedule)
    options.progress?.(done.length, todo.length)
    if (options.limit !== undefined && done.length >= options.limit) break
  }
  return done
}

/**
 * Every schedule in which a runner that could go on is set aside for another at most `bound`
 * times (preemption bounding, as in Musuvathi and Qadeer's CHESS): a runner goes on until it ends
 * or is preempted; a switch from a runner that ended is free. Polynomial in the steps for a fixed
 * bound, so it runs whole where every order cannot, and the faults of real programs seldom need
 * more than two or three preemptions. No sleep sets here: they would leave out orders that this
 * bound alone reaches.
 */
async function bounded(
  run: (choose: Choose) => Promise<Schedule>,
  bound: number,
  options: { limit?: number; progress?: (done: number, waiting: number) => void },
): Promise<Schedule[]> {
  const done: Schedule[] = []
  const todo: number[][] = [[]]
  while (todo.length > 0) {
    const prefix = todo.pop()!
    const made: number[] = []
    let used = 0
    let last: number | undefined
    const schedule = await run((held, step) => {
      const canGoOn = last !== undefined && held.includes(last)
      let choice: number
      if (step < prefix.length) {
        choice = replayed(prefix, step, held)
      } else {
        choice = canGoOn ? last! : held[0]!
        if (!canGoOn || used < bound) for (const other of held) if (other !== choice) todo.push([...made, other])
      }
      if (canGoOn && choice !== last) used++
      last = choice
      made.push(choice)
      return choice
    })
    done.push(schedule)
    options.progress?.(done.length, todo.length)
    if (options.limit !== undefined && done.length >= options.limit) break
  }
  return done
}

/**
 * How many schedules `explore` would run, estimated from `probes` random walks down its search
 * tree (Knuth's estimator): each walk picks one of the awake runners at random at each decision,
 * with the sleep set the depth-first search gives that branch, and multiplies the counts of awake
 * runners. The mean of the products is an unbiased estimate of the count of leaves.
 */
export async function estimate(run: (choose: Choose) => Promise<Schedule>, probes: number, random: () => number): Promise<{ mean: number; min: number; max: number }> {
  const products: number[] = []
  for (let p = 0; p < probes; p++) {
    let sleep = new Set<number>()
    let product = 1
    let redundant = false
    await run((held, _step, points) => {
      const at = (i: number) => points[i]!
      const awake = held.filter((i) => !sleep.has(i))
      if (awake.length === 0) redundant = true
      if (redundant) return held[0]!
      const j = Math.floor(random() * awake.length)
      const choice = awake[j]!
      product *= awake.length
      sleep = new Set(asleepAfter(sleep, awake, j, at))
      return choice
    })
    products.push(product)
  }
  return { mean: products.reduce((a, b) => a + b, 0) / products.length, min: Math.min(...products), max: Math.max(...products) }
}
