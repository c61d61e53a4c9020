import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { type DeployOptions, RollbackRefusal, type Strategy, rollback } from '../src/index.js'
import { loadHasher } from '../src/hash.js'
import { type Backend, backends, dirs, project } from './backends.js'
import { type Choose, KILLED, type Kill, type Schedule, estimate, explore, runSchedule } from './explorer.js'
import { writeTree } from './helpers.js'
import { seeded } from './servers/random.mjs'

// #31: the deploy protocol (docs/guarantees.md) explored. Two runners deploy to one prefix at the
// same time, held by the explorer at every step of the protocol (each manifest read and write,
// the listing, the upload groups, the deletes); every order of their steps is run, and after each
// step and each schedule the storage is checked against the invariant with an independent look:
// every page that is live has every file of its build, with its bytes; a committed manifest
// describes what is stored; a later normal deploy leaves the storage equal to its build.
// COLLECTFASTA_EXPLORE=full runs every schedule on the local storages (and more samples elsewhere).

const FULL = process.env.COLLECTFASTA_EXPLORE === 'full'
/** A bound on the schedules of one case, so that a change that multiplies them fails instead of running for hours. */
const LIMIT = Number(process.env.COLLECTFASTA_EXPLORE_LIMIT) || 5_000
/** A file that a long sweep appends its progress to (vitest prints a test's output only at its end). */
const PROGRESS = process.env.COLLECTFASTA_EXPLORE_PROGRESS
/** A schedule to run alone, as a failure prints it (`schedule 0011…`): each digit is the runner released at that decision. */
const REPLAY = process.env.COLLECTFASTA_EXPLORE_REPLAY
/** Random walks to estimate how many schedules a whole sweep of the case runs, instead of running it (with COLLECTFASTA_EXPLORE=full for its steps). */
const ESTIMATE = Number(process.env.COLLECTFASTA_EXPLORE_ESTIMATE) || 0
/** With COLLECTFASTA_EXPLORE=full: every schedule that preempts a runner at most this often, instead of every schedule (for the cases with millions). */
const PREEMPTIONS = process.env.COLLECTFASTA_EXPLORE_PREEMPTIONS ? Number(process.env.COLLECTFASTA_EXPLORE_PREEMPTIONS) : undefined
/** A case's time limit: the full sweep of warm with cold runs for more than an hour on 2 cores. */
const CASE_TIMEOUT = FULL ? 12 * 3_600_000 : 3_600_000

// The explorer's deploys take their release's commit from a CI's variable: a git process for each
// of its thousands of deploys was a third of a sweep's time (profiled). test/release-source.test.ts covers git.
vi.stubEnv('GIT_COMMIT', '0'.repeat(40))
afterAll(() => vi.unstubAllEnvs())
// A deploy waiting for a prune looks at the manifest again after a pause (100 ms, doubling): each
// look is a step the schedule releases, so the pause only made a sweep wait. Set before src/ loads.
vi.hoisted(() => {
  process.env.COLLECTFASTA_PRUNE_POLL_MS = '0'
})

/** Build `v` of the site: pages and hashed assets of its own, shared files. */
function build(v: number): Record<string, string> {
  return {
    'index.html': `<h1>v${v}</h1><script src="/assets/app-v${v}.js"></script><link href="/assets/style-v${v}.css">`,
    'about.html': `<p>about v${v}</p><script src="/assets/app-v${v}.js"></script>`,
    [`assets/app-v${v}.js`]: `app(${v})`,
    [`assets/style-v${v}.css`]: `.v${v}{}`,
    'assets/vendor.js': 'vendor()',
    'robots.txt': 'User-agent: *',
  }
}

/** Replaces `root`'s dist/ with build `v`. */
function writeBuild(root: string, v: number): void {
  rmSync(join(root, 'dist'), { recursive: true, force: true })
  writeTree(join(root, 'dist'), build(v))
}

/** The build a stored page belongs to. */
function buildOf(page: string): number {
  const v = /v(\d+)/.exec(page)?.[1]
  if (!v) throw new Error(`a page of no build: ${page}`)
  return Number(v)
}

interface Runner {
  version: number
  options: Partial<DeployOptions>
  /** Its cache is warm: it deployed the set-up builds. */
  warm: boolean
  /** It runs `rollback()` to the release before the live one (its version is that release's build), not a deploy. */
  rollback?: true
  /** It is killed at one of its steps (every step in turn): a process stopped there. */
  killed?: true
  /** The storage refuses its upload of about.html: it fails with its other page written. */
  failing?: true
  /** Its page uploads are stored, then answered with an error (a lost answer, a timeout): it fails having written them. */
  lands?: true
}

/** One case: what the set-up deployed, then the runners that race. */
interface Case {
  name: string
  runners: Runner[]
  /** Explored on the local storages only: what it adds is the protocol's, not a server's (the test budget). */
  localOnly?: true
}

const prune = { keepDeploys: 3 }
const cases: Case[] = [
  { name: 'deploy with deploy', runners: [{ version: 5, options: {}, warm: true }, { version: 6, options: {}, warm: false }] },
  { name: 'deploy with prune', runners: [{ version: 5, options: { prune }, warm: true }, { version: 6, options: {}, warm: false }] },
  { name: 'rollback with prune', runners: [{ version: 5, options: { prune }, warm: true }, { version: 2, options: { prune }, warm: false }] },
  { name: 'include with full', runners: [{ version: 5, options: { prune }, warm: true }, { version: 6, options: { include: ['assets/**'] }, warm: false }] },
  { name: 'warm with cold', runners: [{ version: 5, options: { prune }, warm: true }, { version: 5, options: { prune }, warm: false }] },
  // The rollback command (#33): copies inside the storage, from the storage alone, racing a deploy.
  { name: 'rollback command with prune', runners: [{ version: 5, options: { prune }, warm: true }, { version: 3, options: {}, warm: false, rollback: true }] },
  { name: 'rollback command with deploy', runners: [{ version: 5, options: {}, warm: true }, { version: 3, options: {}, warm: false, rollback: true }] },
  // The prune deletes the files of v2 to v4 (keepDeploys 1) while the rollback restores v3; an include deploy that prunes.
  { name: 'rollback command with a keepDeploys 1 prune', runners: [{ version: 5, options: { prune: { keepDeploys: 1 } }, warm: true }, { version: 3, options: {}, warm: false, rollback: true }] },
  { name: 'rollback command with an include prune', runners: [{ version: 6, options: { include: ['assets/**'], prune: { keepDeploys: 1 } }, warm: true }, { version: 3, options: {}, warm: false, rollback: true }] },
  // A deploy that stops without committing, alive (a storage refusal): its other page is written.
  { name: 'prune with a failing deploy', runners: [{ version: 5, options: { prune }, warm: true }, { version: 6, options: {}, warm: false, failing: true }], localOnly: true },
]

/** Every key's bytes under the prefix, by path, read without the strategy. */
async function storedFiles(backend: Backend, prefix: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  for (const key of await backend.keys(prefix)) {
    const read = await backend.read(key)
    if (read) files.set(key.slice(prefix.length), Buffer.from(read.bytes))
  }
  return files
}

/**
 * The invariant, from an independent look at the storage: every live page's build is stored
 * whole, with its bytes; a settled manifest (no deploy or prune under way) describes what is
 * stored. Returns what is wrong.
 */
async function violations(backend: Backend, prefix: string): Promise<string[]> {
  const stored = await storedFiles(backend, prefix)
  const wrong: string[] = []
  const pages = [...stored.keys()].filter((path) => path.endsWith('.html'))
  // The set-up deployed pages and prune keeps the newest deploys: a storage without one is wrong too.
  if (pages.length === 0) wrong.push('no page is stored')
  for (const page of pages) {
    const v = buildOf(stored.get(page)!.toString('utf8'))
    for (const [path, body] of Object.entries(build(v))) {
      if (path.endsWith('.html') || path === 'robots.txt') continue
      const held = stored.get(path)
      if (!held) wrong.push(`${page} is v${v}'s, and ${path} is missing`)
      else if (held.toString('utf8') !== body) wrong.push(`${page} is v${v}'s, and ${path} holds other bytes`)
    }
  }
  const manifest = stored.get('.collectfasta/manifest.json')
  if (manifest) {
    const parsed = JSON.parse(manifest.toString('utf8')) as { pending?: unknown; pruning?: unknown; deploys: { open?: boolean }[]; files: Record<string, { xxh64: string }> }
    // Settled: no deploy pending or open (moved into the history by another's mark before its commit), no prune under way.
    if (!parsed.pending && !parsed.pruning && !parsed.deploys.some((d) => d.open)) {
      const hash = await loadHasher()
      for (const [path, file] of Object.entries(parsed.files)) {
        const held = stored.get(path)
        if (!held) wrong.push(`the committed manifest records ${path}, which is not stored`)
        else if (hash(held) !== file.xxh64) wrong.push(`the committed manifest records other bytes for ${path}`)
      }
    }
  }
  return wrong
}

let deaths = 0

/** `strategy`, refusing every upload of a key that ends with `suffix`. */
function refusing(strategy: Strategy, suffix: string): Strategy {
  return { ...strategy, upload: (file, ctx) => (file.key.endsWith(suffix) ? Promise.reject(new Error(`refused: ${file.key}`)) : strategy.upload(file, ctx)) }
}

/** Runs `c` on `backend` through one schedule, and checks the storage after each step and at the end. */
async function raced(backend: Backend, c: Case, choose: Choose, checkEachStep: boolean): Promise<Schedule> {
  const first = project(backend)
  const others = c.runners.map(() => project(backend))
  // The set-up: builds 1 to 4, each deployed with prune (keepDeploys 3), from the warm runners' cache.
  for (let v = 1; v <= 4; v++) {
    writeBuild(first.root, v)
    await first.run({ prune, cacheDir: 'warm' })
  }
  return race(backend, c, first, others, choose, checkEachStep)
}

/**
 * The same, on a local storage: the set-up is deployed once, and each schedule starts from a copy
 * of it (the storage under the prefix, the warm cache; cold caches and builds removed).
 */
function fromSnapshot(backend: Backend, c: Case) {
  let ready: Promise<{ first: ReturnType<typeof project>; others: ReturnType<typeof project>[]; restore: () => void }> | undefined
  const setUp = async () => {
    const first = project(backend)
    const others = c.runners.map(() => project(backend))
    for (let v = 1; v <= 4; v++) {
      writeBuild(first.root, v)
      await first.run({ prune, cacheDir: 'warm' })
    }
    const storage = backend.snapshot!(first.prefix)
    const cache = mkdtempSync(join(tmpdir(), 'collectfasta-warm-'))
    dirs.push(cache)
    cpSync(join(first.root, 'warm'), cache, { recursive: true })
    const restore = () => {
      storage()
      rmSync(join(first.root, 'warm'), { recursive: true, force: true })
      cpSync(cache, join(first.root, 'warm'), { recursive: true })
      for (const [i, other] of others.entries()) rmSync(join(other.root, `cold-${i}`), { recursive: true, force: true })
      first.warnings.length = 0
    }
    return { first, others, restore }
  }
  return async (choose: Choose, checkEachStep: boolean, fine = FULL, kill?: Kill) => {
    ready ??= setUp()
    const { first, others, restore } = await ready
    restore()
    return race(backend, c, first, others, choose, checkEachStep, fine, kill)
  }
}

async function race(
  backend: Backend,
  c: Case,
  first: ReturnType<typeof project>,
  others: ReturnType<typeof project>[],
  choose: Choose,
  checkEachStep: boolean,
  /** The HTML upload group as a step of its own (the full sweep's granularity). */
  fine = FULL,
  kill?: Kill,
): Promise<Schedule> {
  const runs = c.runners.map((runner, i) => async (gate: (s: ReturnType<Backend['strategy']>) => ReturnType<Backend['strategy']>) => {
    const p = runner.warm ? first : others[i]!
    if (runner.rollback) return rollback({ strategy: gate(backend.strategy(first.prefix)), logger: { info() {}, warn() {} } })
    writeBuild(p.root, runner.version)
    // A killed runner's cache is its own for good: a zombie's late write touches no later schedule.
    const cacheDir = runner.killed ? `dead-${deaths++}` : runner.warm ? 'warm' : `cold-${i}`
    const strategy = backend.strategy(first.prefix)
    const landing: typeof strategy = { ...strategy, upload: async (file, ctx) => { const stored = await strategy.upload(file, ctx); if (file.key.endsWith('.html')) throw new Error(`refused: ${file.key} (stored, answer lost)`); return stored } }
    return p.run({ ...runner.options, cacheDir, strategy: gate(runner.failing ? refusing(strategy, 'about.html') : runner.lands ? landing : strategy) })
  })
  // Each warm runner needs its own root for its build: only one warm runner per case.
  expect(c.runners.filter((r) => r.warm).length).toBeLessThanOrEqual(1)
  const found: string[] = []
  const schedule = await runSchedule(
    runs,
    `${first.prefix}.collectfasta/manifest.json`,
    choose,
    async () => {
      if (checkEachStep) found.push(...(await violations(backend, first.prefix)))
    },
    fine,
    kill,
  )
  // A deploy may lose to others that keep writing the manifest: it fails with the storage-conflict
  // sentence, having changed nothing that the invariant covers. A rollback may also refuse, before
  // any write (RollbackRefusal), a release a prune deleted files of or dropped from the history. Any
  // other failure is a finding.
  const conflict = /kept changing under this (deploy|rollback)/
  const allowed = (reason: unknown, i: number) => reason instanceof RollbackRefusal || conflict.test((reason as Error).message) || ((c.runners[i]?.failing === true || c.runners[i]?.lands === true) && /upload\(s\) failed|failed to upload|refused/.test((reason as Error).message))
  const failed = schedule.outcomes.flatMap((o, i) => (o.status === 'rejected' && !allowed(o.reason, i) ? [`runner ${i}: ${(o.reason as Error).message}`] : []))
  expect(failed, `schedule ${schedule.choices.join('')}`).toEqual([])
  found.push(...(await violations(backend, first.prefix)))
  expect(found, `schedule ${schedule.choices.join('')} (${schedule.traces.map((t) => t.join(' > ')).join(' | ')})`).toEqual([])
  // A later normal deploy (the first runner's build, from its cache) leaves the storage equal to it.
  const last = c.runners[0]!
  writeBuild(first.root, last.version)
  await first.run({ cacheDir: last.warm ? 'warm' : 'cold-0' })
  const stored = await storedFiles(backend, first.prefix)
  for (const [path, body] of Object.entries(build(last.version))) expect(stored.get(path)?.toString('utf8'), `${path} after a later deploy, schedule ${schedule.choices.join('')}`).toBe(body)
  expect(await violations(backend, first.prefix)).toEqual([])
  return schedule
}

/**
 * Runner 1 is killed as it reaches its step n, for n = 1, 2, … until it ends first: at every step
 * of the protocol, in every order with runner 0 (the kill suite kills processes at random points;
 * this kills at each step, under each interleaving). Runner 0 ends, and the invariant holds.
 */
const killCases: Case[] = [
  { name: 'a deploy with a killed deploy', runners: [{ version: 5, options: {}, warm: true }, { version: 6, options: {}, warm: false, killed: true }] },
  // Build 2 again (a rollback by deploy): its assets are the prune's stale files.
  { name: 'a prune with a killed deploy of build 2', runners: [{ version: 5, options: { prune }, warm: true }, { version: 2, options: {}, warm: false, killed: true }] },
  { name: 'a deploy with a killed prune', runners: [{ version: 5, options: {}, warm: true }, { version: 6, options: { prune: { keepDeploys: 1 } }, warm: false, killed: true }] },
  { name: 'a prune with a killed rollback command', runners: [{ version: 5, options: { prune }, warm: true }, { version: 3, options: {}, warm: false, rollback: true, killed: true }] },
]

const three: Case = {
  name: 'a prune, a rollback and a deploy',
  runners: [{ version: 5, options: { prune }, warm: true }, { version: 2, options: { prune }, warm: false }, { version: 6, options: {}, warm: false }],
}
/** The review's order: the rollback command commits while a prune of build 2's files is under way, and a deploy of build 2 plans after it. */
const threeWithRollback: Case = {
  name: 'a prune, the rollback command and a deploy of build 2',
  runners: [{ version: 5, options: { prune }, warm: true }, { version: 3, options: {}, warm: false, rollback: true }, { version: 2, options: {}, warm: false }],
}

/** A deploy moved into the history by a third's mark, failing after the others planned: the order the end record (end-record.ts) is for. */
const threeWithFailing: Case = {
  name: 'a prune, a failing deploy and a deploy',
  runners: [{ version: 5, options: { prune }, warm: true }, { version: 6, options: {}, warm: false, failing: true }, { version: 7, options: {}, warm: false }],
}

/**
 * How each storage is explored by default: every schedule where that fits the test budget (the
 * deploy-with-deploy case on memory: 670 schedules), else a seeded random sample of this many.
 * COLLECTFASTA_EXPLORE=full runs every schedule of every two-runner case on memory and a
 * directory, and 20 sampled ones of each on the servers.
 */
const SAMPLES: Record<string, number> = { memory: 60, filesystem: 10, 's3 (fauxqs)': 2, 'gcs (emulator)': 2, 'azure (Azurite)': 1 }
const WHOLE_BY_DEFAULT = new Set(['memory: deploy with deploy'])
/** Schedules sampled for each step a runner is killed at, by default. */
const KILL_SAMPLES: Record<string, number> = { memory: 4, filesystem: 1 }

describe.each(backends.filter((b) => b.conditional))('the deploy protocol under every interleaving, on $name', (backend) => {
  const runner = (c: Case) => (backend.snapshot ? fromSnapshot(backend, c) : (choose: Choose, each: boolean) => raced(backend, c, choose, each))
  // A loop, not it.each: it.each cuts a long name in the title, and a sweep picks its case by the whole title.
  for (const c of cases) it.runIf(!c.localOnly || backend.snapshot !== undefined)(`two runners: '${c.name}'`, async () => {
    // Every order on the local storages; a server's set-up deploys cost seconds a schedule.
    const exhaustive = (FULL && backend.snapshot !== undefined) || WHOLE_BY_DEFAULT.has(`${backend.name}: ${c.name}`)
    const started = performance.now()
    const run = runner(c)
    if (REPLAY) {
      const replayed = await run((held, step) => (held.includes(Number(REPLAY[step])) ? Number(REPLAY[step]) : held[0]!), true)
      expect(replayed.choices.join('').startsWith(REPLAY), `the replay went another way: ${replayed.choices.join('')}`).toBe(true)
      return
    }
    if (ESTIMATE > 0) {
      const { mean, min, max } = await estimate((choose) => run(choose, false), ESTIMATE, seeded(ESTIMATE))
      expect(max).toBeGreaterThan(0)
      const line = `[explorer] ${backend.name}, ${c.name}: about ${Math.round(mean)} schedules (${ESTIMATE} walks, ${min} to ${max} a walk), ${Math.round(performance.now() - started)} ms`
      console.log(line)
      if (PROGRESS) appendFileSync(PROGRESS, `${line}\n`)
      return
    }
    const progress = PROGRESS ? (done: number, waiting: number) => done % 100 === 0 && appendFileSync(PROGRESS, `${backend.name}, ${c.name}: ${done} run, ${waiting} branches waiting\n`) : undefined
    const schedules = exhaustive ? await explore((choose) => run(choose, true), { limit: LIMIT, progress, preemptions: FULL ? PREEMPTIONS : undefined }) : await explore((choose) => run(choose, true), { sample: FULL ? 20 : (SAMPLES[backend.name] ?? 3), random: seeded(31) })
    expect(schedules.length).toBeGreaterThan(0)
    if (exhaustive) expect(schedules.length, 'the bound on schedules was reached: the exploration is not whole').toBeLessThan(LIMIT)
    // Every schedule ran both runners to their end through at least one held step each.
    for (const s of schedules) expect(s.traces.every((t) => t.length > 0)).toBe(true)
    // A rollback that always lost, or never had a release to restore, would check nothing of its own
    // (a sample of one or two on a server may hold only orders where it loses: checked from ten).
    if (schedules.length >= 10) for (const [i, r] of c.runners.entries()) if (r.rollback) expect(schedules.some((s) => s.outcomes[i]?.status === 'fulfilled'), `runner ${i} never committed`).toBe(true)
    const distinct = new Set(schedules.map((s) => s.choices.join(''))).size
    const how = !exhaustive ? 'sampled' : FULL && PREEMPTIONS !== undefined ? `all with at most ${PREEMPTIONS} preemption(s)` : 'all'
    const line = `[explorer] ${backend.name}, ${c.name}: ${schedules.length} schedule(s) (${distinct} distinct) ${how}, ${Math.round(performance.now() - started)} ms`
    console.log(line)
    if (PROGRESS) appendFileSync(PROGRESS, `${line}\n`)
  }, CASE_TIMEOUT)

  for (const c of killCases) {
    it.runIf(backend.snapshot !== undefined)(`two runners, one killed at each step: '${c.name}'`, async () => {
      const exhaustive = FULL
      const started = performance.now()
      const run = fromSnapshot(backend, c)
      let total = 0
      let kills = 0
      let missed = 0
      let step = 1
      for (; ; step++) {
        const kill: Kill = { runner: 1, step }
        const schedules = exhaustive
          ? await explore((choose) => run(choose, true, FULL, kill), { limit: LIMIT, preemptions: PREEMPTIONS })
          : await explore((choose) => run(choose, true, FULL, kill), { sample: KILL_SAMPLES[backend.name] ?? 1, random: seeded(step) })
        expect(schedules.length).toBeGreaterThan(0)
        if (exhaustive) expect(schedules.length, 'the bound on schedules was reached: the exploration is not whole').toBeLessThan(LIMIT)
        total += schedules.length
        const died = schedules.filter((s) => s.outcomes[1]?.status === 'fulfilled' && s.outcomes[1].value === KILLED).length
        kills += died
        // Past its last step, it ends before it is killed: every step has been a kill (whole: the
        // first step no schedule reaches; sampled: two in a row that no sample reached).
        missed = died === 0 ? missed + 1 : 0
        if (missed === (exhaustive ? 1 : 2)) break
        expect(step, 'a runner of more than 100 steps').toBeLessThan(100)
      }
      expect(kills).toBeGreaterThan(0)
      const how = !exhaustive ? 'sampled' : PREEMPTIONS !== undefined ? `all with at most ${PREEMPTIONS} preemption(s)` : 'all'
      const line = `[explorer] ${backend.name}, ${c.name}: killed at each of ${step - missed} steps, ${total} schedule(s) ${how} (${kills} with the kill), ${Math.round(performance.now() - started)} ms`
      console.log(line)
      if (PROGRESS) appendFileSync(PROGRESS, `${line}\n`)
    }, CASE_TIMEOUT)
  }

  for (const c of [three, threeWithRollback, threeWithFailing]) {
    it.runIf(backend.snapshot !== undefined)(`three runners, sampled: ${c.name}`, async () => {
      const run = runner(c)
      if (REPLAY) {
        const replayed = await run((held, step) => (held.includes(Number(REPLAY[step])) ? Number(REPLAY[step]) : held[0]!), true)
        expect(replayed.choices.join('').startsWith(REPLAY), `the replay went another way: ${replayed.choices.join('')}`).toBe(true)
        return
      }
      // With a bound on preemptions, every order within it; else a random sample.
      const bounded = FULL && PREEMPTIONS !== undefined
      const schedules = await explore((choose) => run(choose, true), bounded ? { preemptions: PREEMPTIONS, limit: LIMIT } : { sample: FULL ? 500 : (SAMPLES[backend.name] ?? 3) / 2, random: seeded(3) })
      expect(schedules.length).toBeGreaterThan(0)
      if (bounded) expect(schedules.length, 'the bound on schedules was reached: the exploration is not whole').toBeLessThan(LIMIT)
      for (const s of schedules) expect(s.traces.every((t) => t.length > 0)).toBe(true)
      const line = `[explorer] ${backend.name}, three runners, ${c.name}: ${schedules.length} schedule(s) ${bounded ? `all with at most ${PREEMPTIONS} preemption(s)` : 'sampled'}`
      console.log(line)
      if (PROGRESS) appendFileSync(PROGRESS, `${line}\n`)
    }, CASE_TIMEOUT)
  }
})

describe('the deploy protocol, three runners in one order', () => {
  // A marks and uploads its assets; B (a rollback) runs whole, its mark moving A's pending mark into
  // the history; C plans after that, runs whole and commits; only then A uploads its pages. C's
  // commit must not claim A's pages as C's (A was still writing): A stays open in its history.
  it("a deploy moved into the history before it committed keeps a third deploy's manifest from claiming its pages", async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    let aMarked = false
    const order: Choose = (held, _step, points) => {
      if (points[0] === 'upload') aMarked = true
      if (!aMarked && held.includes(0)) return 0
      return held.includes(1) ? 1 : held.includes(2) ? 2 : held[0]!
    }
    const schedule = await fromSnapshot(memory, three)(order, true)
    expect(aMarked).toBe(true)
    // A uploaded its pages after both others had ended.
    expect(schedule.choices.slice(-3)).not.toContain(1)
  })
})

/** Runs each phase's runner until it has released `writes` manifest writes (or until it is done). */
const phased = (steps: { runner: number; writes?: number }[]): Choose => {
  let phase = 0
  let writes = 0
  return (held, _step, points) => {
    while (phase < steps.length) {
      const p = steps[phase]!
      if (!held.includes(p.runner) || (p.writes !== undefined && writes >= p.writes)) {
        phase++
        writes = 0
        continue
      }
      if (points[p.runner] === 'write manifest') writes++
      return p.runner
    }
    return held[0]!
  }
}

/**
 * Runner 1 (X) marks; runner 2 runs whole, its mark moving X into the history; runner 0 (A) plans
 * with X open, uploads its pages and is held at its commit; X goes on to its end; then A commits.
 */
async function displacedThenStopping(c: Case): Promise<Schedule> {
  const memory = backends.find((b) => b.name === 'memory')!
  let xMarked = false
  let aAtCommit = false
  let aLast: string | undefined
  const order: Choose = (held, _step, points) => {
    if (!xMarked && held.includes(1)) {
      if (points[1] === 'write manifest') xMarked = true
      return 1
    }
    if (held.includes(2)) return 2
    if (!aAtCommit && held.includes(0)) {
      if (aLast === 'upload html' && points[0] === 'write manifest') aAtCommit = true
      else {
        aLast = points[0]
        return 0
      }
    }
    return held.includes(1) ? 1 : held[0]!
  }
  const schedule = await fromSnapshot(memory, c)(order, true, true)
  expect(aAtCommit).toBe(true)
  expect(schedule.outcomes[1]?.status).toBe('rejected')
  // X wrote pages after A's: they were live until A's next deploy.
  expect(schedule.traces[1]).toContain('upload html')
  return schedule
}

describe('a deploy that fails after another moved it into the history', () => {
  // X marks; C's mark moves X into the history (open) and C commits; A plans (X open), uploads its
  // pages and is about to commit; then X writes index.html and fails on about.html. X says it ended
  // (end-record.ts): A's commit meets that write and vouches for nothing, so A's next
  // deploy lists the storage and puts its own index.html back.
  it("leaves no cache vouching over the page it wrote", async () => {
    const failingCase: Case = {
      name: 'a deploy, a failing deploy and a third',
      runners: [{ version: 5, options: {}, warm: true }, { version: 6, options: {}, warm: false, failing: true }, { version: 7, options: {}, warm: false }],
    }
    await displacedThenStopping(failingCase)
  })
})

describe('orders the sweeps found', () => {
  const replaying = (order: string): Choose => (held, step) => (held.includes(Number(order[step])) ? Number(order[step]) : held[0]!)

  // Found by the three-runner sweep with at most two preemptions (COLLECTFASTA_EXPLORE_PREEMPTIONS=2;
  // 500 random orders had missed it): C's mark moved A's pending mark into the history (open); B
  // planned then, and took A as finished; A uploaded its pages and committed; B committed last and
  // recorded its own pages' bytes over A's. A deploy open when the plan read the manifest and
  // committed since now counts as one that wrote since (trust.ts, deploysSince).
  it("a deploy that was open at another's plan and committed since is one that wrote since: the last commit does not record its pages as the other's", async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const order = '00000002222222111111100000000011111111111'
    const schedule = await fromSnapshot(memory, three)(replaying(order), true, true)
    expect(schedule.choices.join('').startsWith(order)).toBe(true)
  })

  // Found by the same sweep: a rollback whose mark C's mark moved into the history copied v3's
  // pages back after A's plan, then lost its commit and wrote nothing; A's commit vouched for a
  // manifest that records v5's pages, and the next deploy from A's cache trusted it and left v3's
  // pages live. A run that wrote and stops without committing now marks its entry `ended` (end-record.ts,
  // endUncommitted): A's commit conflicts with that write and vouches for nothing.
  it('a rollback displaced into the history that copies pages, then loses its commit, says it ended: no cache vouches over its pages', async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const order = '11112222222220000000111111111100000000000'
    const schedule = await fromSnapshot(memory, threeWithRollback)(replaying(order), true, true)
    expect(schedule.choices.join('').startsWith(order.slice(0, 30))).toBe(true)
    expect(schedule.outcomes[1]?.status).toBe('rejected')
  })

  // Found by the three-runner sweep with at most three preemptions: C deployed build 2 again while
  // A planned a prune whose window dropped the first release of build 2; A's commit kept C, but A
  // then deleted the kept copies of build 2's pages as the plan had decided, and a rollback to C
  // (planned after A's commit) found them gone. What the plan took as garbage is checked against
  // the committed history first (release-prune.ts, stillNeeded).
  it("a prune does not delete the kept copies that a release committed since its plan needs", async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const order = '00000002222222000000001111011'
    const schedule = await fromSnapshot(memory, threeWithRollback)(replaying(order), true, true)
    expect(schedule.choices.join('').startsWith(order)).toBe(true)
    expect(schedule.outcomes[1]?.status).toBe('fulfilled')
  })

  // Found by COLLECTFASTA_EXPLORE=full (after 5,000 green schedules): a pruning deploy committed
  // while a rollback was between its mark and its copies, and its prune deleted the kept copies of
  // the release the rollback restores (the rollback's open line pushed that release out of
  // keepDeploys). The rollback could no longer commit anyway; it said "copies failed, run the
  // rollback again". It now finds the manifest changed since its mark and says it lost the race.
  it('a rollback whose kept copies a concurrent pruning deploy deleted stops with the conflict sentence', async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const order = '000011110000000000000000000111'
    const c = cases.find((k) => k.name === 'rollback command with prune')!
    const schedule = await fromSnapshot(memory, c)((held, step) => (held.includes(Number(order[step])) ? Number(order[step]) : held[0]!), true, true)
    expect(schedule.choices.join('').startsWith(order)).toBe(true)
    expect(schedule.outcomes[0]?.status).toBe('fulfilled')
    const lost = schedule.outcomes[1]
    expect(lost?.status).toBe('rejected')
    expect(((lost as PromiseRejectedResult).reason as Error).message).toMatch(/kept changing under this rollback/)
  })

  // Found by a directed attack: a pruning deploy (keepDeploys 1) wrote its lease over v2 to v4's
  // files and was held before its deletes; the rollback command to v3 then ran whole. It found v3's
  // assets under their own keys (nothing to copy), copied v3's pages back and committed; then the
  // prune deleted v3's assets under the live pages. A rollback now makes a deploy's step 4: it waits
  // for a prune recorded on its paths, and fails before any copy once that prune has committed.
  it('the rollback command waits for a prune lease on the files it restores, then stops before any copy', async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const c: Case = { name: 'rollback command with a keepDeploys 1 prune', runners: [{ version: 5, options: { prune: { keepDeploys: 1 } }, warm: true }, { version: 3, options: {}, warm: false, rollback: true }] }
    // The prune runs until it is held at its deletes; then the rollback goes first whenever it can.
    const order: Choose = (held, _step, points) => (held.includes(0) && points[0] !== 'delete' ? 0 : held.includes(1) ? 1 : held[0]!)
    const schedule = await fromSnapshot(memory, c)(order, true, true)
    expect(schedule.traces[0]).toContain('delete')
    expect(schedule.outcomes[0]?.status).toBe('fulfilled')
    expect(((schedule.outcomes[1] as PromiseRejectedResult).reason as Error).message).toMatch(/kept changing under this rollback/)
  })

  // Found by a directed attack, no race: a deploy of v6 killed after its pages went out (pending),
  // then two `include: ['assets/**']` deploys with keepDeploys 1. The first committed v6 into the
  // history as open; the second carried only the last line's paths, which never named v6's assets,
  // and deleted them under v6's live pages. A partial deploy now keeps every path that may be live
  // (plan.ts, livePaths).
  it("include deploys that prune keep a killed deploy's assets while its pages are live", async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const first = project(memory)
    const other = project(memory)
    for (let v = 1; v <= 4; v++) {
      writeBuild(first.root, v)
      await first.run({ prune, cacheDir: 'warm' })
    }
    // v6, killed at its commit: the first manifest write after a page's upload never answers.
    let pageSent = false
    let died: () => void = () => {}
    const dead = new Promise<void>((resolve) => (died = resolve))
    const base = memory.strategy(first.prefix)
    const killed: Strategy = {
      ...base,
      upload: (file, ctx) => {
        if (file.key.endsWith('.html')) pageSent = true
        if (pageSent && file.key === first.manifest) {
          died()
          return new Promise(() => {})
        }
        return base.upload(file, ctx)
      },
    }
    writeBuild(other.root, 6)
    void other.run({ cacheDir: 'dead', strategy: killed }).catch(() => {})
    await dead
    expect((await storedFiles(memory, first.prefix)).get('index.html')?.toString('utf8')).toContain('v6')
    for (const v of [7, 8]) {
      writeBuild(first.root, v)
      await first.run({ include: ['assets/**'], prune: { keepDeploys: 1 }, cacheDir: 'warm' })
      expect(await violations(memory, first.prefix), `after the include deploy of v${v}`).toEqual([])
    }
  })
})

describe('orders a review found', () => {
  // D (build 3 again) marks; P (keepDeploys 2) plans with D pending: D's line has no `release` yet,
  // so releaseGarbage reads no record for it and takes the kept copies of build 3's pages as
  // garbage. P marks; D runs whole and commits; P runs whole. stillNeeded sees D in the plan's
  // history (`seen`) with its record not doomed, so it reads nothing for it: P deletes the kept
  // copies of build 3's pages, and a rollback to D (a kept release) was refused. stillNeeded now
  // takes a line as counted only when the plan read its record (it had a release).
  it('a prune keeps the kept copies of a release that was pending at its plan', async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const c: Case = {
      name: 'a prune (keepDeploys 2), a deploy of build 3, then the rollback command',
      runners: [{ version: 5, options: { prune: { keepDeploys: 2 } }, warm: true }, { version: 3, options: {}, warm: false }, { version: 3, options: {}, warm: false, rollback: true }],
    }
    const schedule = await fromSnapshot(memory, c)(phased([{ runner: 1, writes: 1 }, { runner: 0, writes: 1 }, { runner: 1 }, { runner: 0 }, { runner: 2 }]), true, true)
    expect(schedule.outcomes[0]?.status).toBe('fulfilled')
    expect(schedule.outcomes[1]?.status).toBe('fulfilled')
    const r = schedule.outcomes[2]
    expect(r?.status === 'rejected' ? ((r as PromiseRejectedResult).reason as Error).message : 'fulfilled').toBe('fulfilled')
  })

  // R (rollback to v3) marks; B (v6) runs whole, its mark moving R into the history (open); A
  // (keepDeploys 1) plans with R open, uploads its pages; R copies v3's pages back; A prunes (R's
  // open line is outside keepDeploys: v3's assets are stale, and the lease spares only deploys new
  // since the plan) and commits a history of [A] alone, without R's open line; R then loses its
  // commit and endUncommitted finds no line to end. No process is killed. Now a line that may still
  // be writing stays past keepDeploys and the lease spares its paths (trust.ts, mayBeWriting).
  it("a pruning deploy (keepDeploys 1) neither deletes an open rollback's files nor drops its open line", async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const c: Case = {
      name: 'a prune (keepDeploys 1), the rollback command, a deploy',
      runners: [{ version: 5, options: { prune: { keepDeploys: 1 } }, warm: true }, { version: 3, options: {}, warm: false, rollback: true }, { version: 6, options: {}, warm: false }],
    }
    let aHtml = false
    const base = phased([{ runner: 1, writes: 1 }, { runner: 2 }])
    let phase = 0
    const order: Choose = (held, step, points) => {
      if (phase === 0) {
        if (held.includes(1) || held.includes(2)) {
          const choice = base(held, step, points)
          if (choice !== 0) return choice
        }
        phase = 1
      }
      if (phase === 1) {
        if (!aHtml && held.includes(0)) {
          if (points[0] === 'upload html') aHtml = true
          return 0
        }
        phase = 2
      }
      if (phase === 2) {
        if (held.includes(1) && points[1] !== 'write manifest') return 1
        phase = 3
      }
      return held.includes(0) ? 0 : held[0]!
    }
    const schedule = await fromSnapshot(memory, c)(order, true, true)
    expect(schedule.traces[1]).toContain('copy')
  })

  // As 'a deploy that fails after another moved it into the history', but X deploys build 3 again
  // (its assets are stored: only its pages go) and the storage stores each page and then answers
  // with an error. report.uploaded stayed empty, so execute.ts never called endUncommitted: A's
  // commit vouched, and A's next deploy from its cache left X's v3 pages live. Failed writes count now.
  it('a deploy whose page uploads landed but were answered with an error still says it ended', async () => {
    const c: Case = {
      name: 'a deploy, a deploy of build 3 whose pages land unanswered, and a third',
      runners: [{ version: 5, options: {}, warm: true }, { version: 3, options: {}, warm: false, lands: true }, { version: 7, options: {}, warm: false }],
    }
    await displacedThenStopping(c)
  })
})

describe('orders a second review found', () => {

  // X (v6, failing alive) marks; B (v8, full) runs whole, its mark moving X into the history
  // (open), and commits: B's line is newer than X's. X then writes its assets and index.html,
  // fails on about.html, and says it ended. C (include assets/**, keepDeploys 1) plans:
  // livePaths stops at B (the newest committed full line), so X's assets are in no kept line;
  // X's line is ended, so mayBeWriting does not spare them. C deleted assets/app-v6.js under the
  // live v6 index.html. No process is killed. livePaths now keeps every open line, ended or not.
  it("an include deploy that prunes keeps the assets of an ended deploy whose page is live", async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const c: Case = {
      name: 'an include prune (keepDeploys 1), a failing deploy, a full deploy',
      runners: [{ version: 7, options: { include: ['assets/**'], prune: { keepDeploys: 1 } }, warm: true }, { version: 6, options: {}, warm: false, failing: true }, { version: 8, options: {}, warm: false }],
    }
    const schedule = await fromSnapshot(memory, c)(phased([{ runner: 1, writes: 1 }, { runner: 2 }, { runner: 1 }, { runner: 0 }]), true, true)
    expect(schedule.outcomes[1]?.status).toBe('rejected')
    expect(schedule.traces[1]).toContain('upload html')
  })
})

describe('orders a third review found', () => {
  // X (v6, failing alive) marks; B (v7) runs whole, its mark moving X into the history (open, older
  // than B). D (v5, keepDeploys 1) plans with X open, uploads its pages, is held at its lease. X
  // writes its assets and index.html, fails on about.html, says it ended. D prunes (X's paths
  // spared) and commits: historyToCommit keeps keep + others = 2 lines, [D, B], and X's ended line
  // (older than B) was cut: the manifest was settled with X's index.html live and no line naming
  // X's assets. E (include assets/**, keepDeploys 1, unknown) then deleted them as unknown. A
  // commit now keeps every open line among the deploys that wrote since its plan (execute.ts).
  it("a commit that met another's end record keeps that line: an include prune with unknown keeps its live page's assets", async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const c: Case = {
      name: 'an include prune with unknown, a failing deploy, a deploy, a pruning deploy',
      runners: [
        { version: 8, options: { include: ['assets/**'], prune: { keepDeploys: 1, unknown: true } }, warm: true },
        { version: 6, options: {}, warm: false, failing: true },
        { version: 7, options: {}, warm: false },
        { version: 5, options: { prune: { keepDeploys: 1 } }, warm: false },
      ],
    }
    let phase = 0
    let xMarked = false
    let dHtml = false
    const order: Choose = (held, _step, points) => {
      for (;;) {
        if (phase === 0) {
          if (!xMarked && held.includes(1)) {
            if (points[1] === 'write manifest') xMarked = true
            return 1
          }
          phase = 1
        } else if (phase === 1) {
          if (held.includes(2)) return 2
          phase = 2
        } else if (phase === 2) {
          if (held.includes(3) && !(dHtml && points[3] === 'write manifest')) {
            if (points[3] === 'upload html') dHtml = true
            return 3
          }
          phase = 3
        } else if (phase === 3) {
          if (held.includes(1)) return 1
          phase = 4
        } else if (phase === 4) {
          if (held.includes(3)) return 3
          phase = 5
        } else return held[0]!
      }
    }
    const schedule = await fromSnapshot(memory, c)(order, true, true)
    expect(dHtml).toBe(true)
    expect(schedule.outcomes[1]?.status).toBe('rejected')
    expect(schedule.traces[1]).toContain('upload html')
  })

  // X (v6, failing alive) marks; B (v7) runs whole, moving X into the history (open). A (v5) plans
  // with X open, runs whole and commits: X was open then and is still open, so A records its own
  // index.html. X then writes index.html and fails on about.html, and says it ended. E (include
  // assets/**, default options, no prune) plans after that end: X is ended in both its plan and its
  // commit (no deploy since), so E carries A's record of index.html and cuts X's line (index 3) past
  // keepDeploys 3: a settled manifest that recorded A's index.html while X's was stored. No process
  // is killed. A partial deploy now cuts no open line (it did not look at every file).
  it("a partial deploy that cuts an ended line does not leave a settled manifest recording a page that line replaced", async () => {
    const memory = backends.find((b) => b.name === 'memory')!
    const c: Case = {
      name: 'an include deploy, a failing deploy, a deploy, a deploy',
      runners: [
        { version: 8, options: { include: ['assets/**'] }, warm: true },
        { version: 6, options: {}, warm: false, failing: true },
        { version: 7, options: {}, warm: false },
        { version: 5, options: {}, warm: false },
      ],
    }
    const schedule = await fromSnapshot(memory, c)(phased([{ runner: 1, writes: 1 }, { runner: 2 }, { runner: 3 }, { runner: 1 }, { runner: 0 }]), true, true)
    expect(schedule.outcomes[1]?.status).toBe('rejected')
    expect(schedule.traces[1]).toContain('upload html')
  })
})
