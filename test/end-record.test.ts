import { describe, expect, it } from 'vitest'
import { type ManifestDeploy, manifestUpload } from '../src/core/deploy-manifest.js'
import { RemoteState } from '../src/core/remote.js'
import { createCounter, emptyRequestCounts } from '../src/core/requests.js'
import { endUncommitted } from '../src/core/end-record.js'
import { OPEN_AT_MOST_MS, historyToCommit, leaseMayRun, mayBeWriting } from '../src/core/trust.js'
import type { Strategy } from '../src/index.js'
import { backends } from './backends.js'

// Step 10 of the protocol (docs/guarantees.md): a run that wrote and stops without committing,
// once another's mark moved it into the history, marks its line `ended`. Its interleavings are in
// interleavings.test.ts; this checks the write itself.

const memory = backends.find((b) => b.name === 'memory')!
let n = 0

/** The memory storage, refusing a request whose signal is aborted, as the server transports do. */
function honouring(strategy: Strategy): Strategy {
  const checked = async <T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> => {
    if (signal.aborted) throw new Error('aborted')
    return call()
  }
  return {
    ...strategy,
    upload: (file, ctx) => checked(ctx.signal, () => strategy.upload(file, ctx)),
    stat: (key, ctx) => checked(ctx.signal, () => strategy.stat!(key, ctx)),
    get: (key, ctx) => checked(ctx.signal, () => strategy.get!(key, ctx)),
  }
}

const line = (id: string, extra: Partial<ManifestDeploy> = {}): ManifestDeploy => ({ id, at: new Date().toISOString(), paths: [`${id}.html`], ...extra })

async function setUp(deploys: ManifestDeploy[], pending?: ManifestDeploy) {
  const prefix = `end-${n++}/`
  const key = `${prefix}.collectfasta/manifest.json`
  const strategy = honouring(memory.strategy(prefix))
  const ok = new AbortController().signal
  await strategy.upload(await manifestUpload({ deploys, files: {}, ...(pending ? { pending } : {}) }, key), { signal: ok, count() {} })
  // The run's own requests, cancelled: the end record must not depend on them.
  const cancelled = new AbortController()
  cancelled.abort()
  const counted = createCounter(emptyRequestCounts(), cancelled.signal)
  const writer = { strategy, counted, remote: new RemoteState(strategy, counted, key, () => {}) }
  const stored = async () => JSON.parse(Buffer.from((await strategy.get!(key, { signal: ok, count() {} }))!).toString('utf8')) as { deploys: ManifestDeploy[]; pending?: ManifestDeploy }
  return { writer, stored }
}

/** What a run that uploaded one file reports, counting into `requests`. */
const wrote = (requests = emptyRequestCounts()) => ({ uploaded: [{ key: 'x.html', size: 1, reason: 'changed' as const }], failed: [], deleted: [], requests })

describe('the end record (step 10)', () => {
  it('marks the open line of a cancelled run ended, with requests of its own', async () => {
    const { writer, stored } = await setUp([line('c'), line('x', { open: true }), line('a')])
    await endUncommitted(writer, 'x', wrote())
    const x = (await stored()).deploys.find((d) => d.id === 'x')
    expect(x).toMatchObject({ open: true, ended: true })
  })

  it('writes nothing for a run that wrote nothing', async () => {
    const { writer, stored } = await setUp([line('c'), line('x', { open: true }), line('a')])
    const requests = emptyRequestCounts()
    await endUncommitted(writer, 'x', { ...wrote(requests), uploaded: [] })
    expect((await stored()).deploys.find((d) => d.id === 'x')?.ended).toBeUndefined()
    expect(requests.upload + requests.stat + requests.get).toBe(0)
  })

  it('writes nothing while the run is still pending (its mark says it), nor twice', async () => {
    const pending = await setUp([line('a')], line('x'))
    await endUncommitted(pending.writer, 'x', wrote())
    expect((await pending.stored()).pending?.id).toBe('x')
    expect((await pending.stored()).deploys.some((d) => d.ended)).toBe(false)
    const ended = await setUp([line('x', { open: true, ended: true })])
    const requests = emptyRequestCounts()
    await endUncommitted(ended.writer, 'x', wrote(requests))
    expect(requests.upload).toBe(0)
  })
})

describe('a line that may still be writing', () => {
  const old = new Date(Date.now() - OPEN_AT_MOST_MS - 60_000).toISOString()
  const cases: [string, ManifestDeploy, boolean][] = [
    ['open, begun now', line('x', { open: true }), true],
    ['open and ended', line('x', { open: true, ended: true }), false],
    ['committed', line('x'), false],
    ['open, begun more than a day ago (taken as dead)', line('x', { open: true, at: old }), false],
    ['open, with a time that does not parse', line('x', { open: true, at: 'yesterday' }), false],
    ['open, begun more than a day ahead of this clock', line('x', { open: true, at: new Date(Date.now() + OPEN_AT_MOST_MS + 60_000).toISOString() }), false],
  ]
  it('has cases', () => expect(cases.length).toBeGreaterThan(3))
  it.each(cases)('%s', (_name, d, expected) => expect(mayBeWriting(d)).toBe(expected))

  it('stays in the committed history past keepDeploys; a dead one is cut', () => {
    const current = { format: 1, tool: 'vite-plugin-collectfasta' as const, files: {}, deploys: [line('b'), line('r', { open: true }), line('d', { open: true, at: old }), line('e')] }
    expect(historyToCommit(line('a'), current, 1).map((d) => d.id)).toEqual(['a', 'r'])
    expect(historyToCommit(line('a'), current, 2).map((d) => d.id)).toEqual(['a', 'b', 'r'])
  })
})

describe("a prune's lease", () => {
  const at = (ms: number) => new Date(Date.now() + ms).toISOString()
  it.each<[string, string, boolean]>([
    ['begun now', at(0), true],
    ['begun more than a day ago (a killed prune)', at(-OPEN_AT_MOST_MS - 60_000), false],
    ['a time that does not parse', 'soon', false],
  ])('%s', (_name, began, expected) => expect(leaseMayRun({ id: 'p', at: began, paths: [] })).toBe(expected))
})
