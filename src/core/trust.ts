import { errorText } from '../report.js'
import { type Strategy, isConflict } from '../strategy.js'
import { foldPath } from '../paths.js'
import { MANIFEST_FORMAT, MANIFEST_TOOL, type ManifestDeploy, type ManifestPruning, type ManifestRead, type RemoteManifest, deployIdentity, historyOf, manifestUpload } from './deploy-manifest.js'
import type { RemoteState } from './remote.js'
import type { Counted } from './requests.js'

/**
 * Every rule about when the checksum cache may vouch for the storage, in one place.
 *
 * The cache records only objects the storage confirmed, and with them the version of the deploy
 * manifest that its last whole, uninterrupted deploy committed. Any deploy marks the storage
 * (rewrites the manifest with itself as `pending`) before its first write, so the version every
 * other cache checks changes before anything else does: a deploy that is killed, fails or is
 * cancelled leaves a version no cache vouches for, its own included, and the next run lists the
 * storage and repairs it.
 */

/** What the start of a deploy knows, for `cacheMayDecide`. */
export interface TrustStart {
  /** `trustCache`: the user says this machine is the only deployer. */
  trustCache: boolean
  /** `verify`: list the storage and restore anything missing or different. */
  verify: boolean
  /** Whether the storage can name its manifest's version (stat or get, and a manifest). */
  canProbe: boolean
  /** Whether the storage can list. */
  canList: boolean
  /** The manifest version found by the one cheap question (`undefined`: none, `'?'`: unnamed). */
  seen: string | undefined
  /** The version the cache vouches for. */
  cacheVersion: string | undefined
}

/** Whether the cache decides what is stored, without asking the storage file by file. */
export function cacheMayDecide(start: TrustStart): boolean {
  if (start.verify) return false
  if (start.trustCache) return true
  // A storage that can tell nothing at all: the cache is the only knowledge there is.
  if (!start.canProbe && !start.canList) return true
  return start.seen !== undefined && start.seen !== '?' && start.seen === start.cacheVersion
}

/** How a deploy ended, for `vouchFor`. */
export interface TrustOutcome {
  /** Every upload confirmed, nothing held back, not cancelled. */
  succeeded: boolean
  /** Run with `include`: it looked at some files only. */
  partial: boolean
  /** Whether the cache decided at the start (`cacheMayDecide`). */
  cacheTrusted: boolean
  /** `force`: every file was uploaded, none compared. */
  forced: boolean
  /** The version probed at the start. */
  seen: string | undefined
  /** The manifest as read at the start (absent when it was not read). */
  read: ManifestRead['state'] | 'not read'
  /** Whether the read manifest was marked pending by a deploy that never committed, or holds another's prune lease on one of this deploy's paths. */
  pendingFound: boolean
  /** The manifest this deploy committed: its version, and whether anyone else wrote between the probe and the commit. */
  committed?: { version: string | undefined; interleaved: boolean }
  /** Whether this deploy marked the storage (and then could not commit). */
  marked: boolean
}

/** Leave the cache's vouching as it is. */
export const KEEP = Symbol('keep')

/**
 * The manifest version the cache vouches for after a deploy: a version, `undefined` (it vouches
 * for nothing: the next run lists), or `KEEP`.
 */
export function vouchFor(outcome: TrustOutcome): string | undefined | typeof KEEP {
  const { committed } = outcome
  if (committed) {
    if (!outcome.succeeded || committed.interleaved) return undefined
    // A partial deploy vouches only where the cache already vouched for the files it did not look at.
    if (outcome.partial && !outcome.cacheTrusted) return undefined
    return committed.version
  }
  // Marked and never committed (failed, cancelled): the storage is pending; vouch for nothing.
  if (outcome.marked || !outcome.succeeded) return outcome.marked ? undefined : KEEP
  if (outcome.cacheTrusted) return KEEP
  // Nothing written: vouch for what was seen only when every file was compared with it, the
  // manifest was read whole and was no pending one.
  if (outcome.partial || outcome.forced || outcome.pendingFound || outcome.read === 'unreadable') return KEEP
  if (outcome.seen === undefined || outcome.seen === '?') return KEEP
  return outcome.seen
}

/** The storage writes of a deploy: the mark before the first write, the commit after the last. */
export interface ManifestWriter {
  strategy: Strategy
  counted: Counted
  remote: RemoteState
}

/** What a conditional write stored. */
export interface Written {
  /** The version the storage gave it. */
  version: string | undefined
  /** Whether anyone else wrote the manifest between the version it was built from and this write. */
  interleaved: boolean
  manifest: RemoteManifest
  size: number
}

/** Attempts at a conditional write that keeps meeting other deploys' writes before giving up. */
const CONFLICT_ATTEMPTS = 5

/**
 * Writes the manifest that `build` makes from the manifest stored now, conditionally on the
 * version it was built from: S3 If-Match / If-None-Match, GCS generations, a locked rename on a
 * directory. On a conflict (someone wrote meanwhile) it reads again, builds again and retries:
 * `interleaved` then says so. A storage without conditional writes is checked right before the
 * write instead (a race is noticed, not prevented).
 */
export async function writeManifestConditionally(
  writer: ManifestWriter,
  base: { version: string | undefined; read: ManifestRead },
  build: (current: RemoteManifest | undefined) => Omit<RemoteManifest, 'format' | 'tool'>,
): Promise<Written> {
  const { strategy, remote } = writer
  const key = remote.manifestKey
  if (!key) throw new Error('[collectfasta] internal: no manifest key')
  let interleaved = false
  let current = base
  for (let attempt = 1; ; attempt++) {
    if (current.read.state === 'unreadable' && current.read.newer) {
      throw new Error(
        `[collectfasta] The deploy manifest ${key} was written by a later version of vite-plugin-collectfasta; this version will not overwrite it. Upgrade vite-plugin-collectfasta (or deploy with the version that wrote it).`,
      )
    }
    const manifest = build(current.read.state === 'ok' ? current.read.manifest : undefined)
    if (!strategy.conditionalWrites && attempt === 1) {
      const now = await remote.currentManifestVersion()
      if (now !== current.version) interleaved = true
    }
    const ifVersion = !strategy.conditionalWrites || current.version === '?' ? undefined : (current.version ?? null)
    const file = await manifestUpload(manifest, key, ifVersion)
    try {
      const stored = await writer.counted('upload', (c) => strategy.upload(file, c))
      // A strategy that cannot stat is checked by reading the manifest: its version is the hash.
      const version = strategy.stat ? stored?.version : file.xxh64
      return { version, interleaved, manifest: { format: MANIFEST_FORMAT, tool: MANIFEST_TOOL, ...manifest }, size: file.size }
    } catch (error) {
      if (!isConflict(error)) throw error
      if (attempt >= CONFLICT_ATTEMPTS) {
        throw new Error(`[collectfasta] The deploy manifest ${key} kept changing under this deploy (${attempt} conflicting writes: other deploys are running). Run the deploy again once they are done.`, {
          cause: error,
        })
      }
      interleaved = true
      current = await remote.reread()
    }
  }
}

/** A deploy recorded as pending by another run than this one: it may have written files that are live now. */
export function otherPending(manifest: RemoteManifest | undefined, id: string): ManifestDeploy | undefined {
  const pending = manifest?.pending
  return pending && pending.id !== id ? pending : undefined
}

/**
 * Marks the storage: the manifest as stored now, with this deploy as `pending`. After this
 * write no cache vouches for the storage until a deploy commits.
 */
export async function markStorage(
  writer: ManifestWriter,
  base: { version: string | undefined; read: ManifestRead },
  deploy: ManifestDeploy,
): Promise<Written> {
  try {
    return await writeManifestConditionally(writer, base, (current) => ({
      deploys: current ? historyOf(withPending(current)) : [],
      files: current?.files ?? {},
      pending: deploy,
      // A prune under way stays recorded until it commits: later deploys must see it too.
      ...(current?.pruning ? { pruning: current.pruning } : {}),
    }))
  } catch (error) {
    throw new Error(`[collectfasta] Could not mark the storage before the first upload (${errorText(error)}); nothing was uploaded.`, { cause: error })
  }
}

/** Takes the mark of deploy `id` back (and the leases it waited out), conditionally on the mark: for a run that wrote nothing else. */
export async function unmarkStorage(writer: ManifestWriter, mark: Written, id: string, waitedOut: ReadonlySet<string>): Promise<void> {
  await writeManifestConditionally(writer, { version: mark.version, read: { state: 'ok', manifest: mark.manifest } }, (current) => {
    if (!current || current.pending?.id !== id) throw new Error('another deploy wrote the manifest since the mark')
    const pruning = current.pruning && !waitedOut.has(current.pruning.id) ? current.pruning : undefined
    return { deploys: current.deploys, files: current.files, ...(pruning ? { pruning } : {}) }
  })
}

/**
 * The history to commit: `deploy` first, then the stored history (a pending deploy of another run
 * kept as a deploy), each deploy once (a merge after a conflict must not record one twice and push
 * a real deploy out of the kept window), at most `keep`.
 */
export function historyToCommit(deploy: ManifestDeploy, current: RemoteManifest | undefined, keep: number, spare: (d: ManifestDeploy) => boolean = () => false): ManifestDeploy[] {
  // A line that may still be writing stays past `keep`: cut, its pages could go live under a manifest that looks settled.
  return historyOf([deploy, ...(current ? withPending(current, deploy.id) : [])]).filter((d, i) => i < keep || mayBeWriting(d) || spare(d))
}

/** How long a run may stay pending or open before the others take it as dead (its own clock against theirs: a day covers any skew). */
export const OPEN_AT_MOST_MS = 24 * 3_600_000

/** Whether `at` is within a day of `now`, either way: a time that does not parse, or a day off (a hostile or broken manifest, a clock far off), is no reason to keep anything for ever. */
function withinADay(at: string, now: number): boolean {
  const began = Date.parse(at)
  return Number.isFinite(began) && Math.abs(now - began) <= OPEN_AT_MOST_MS
}

/** Whether a prune's lease may still be running: it lasts 120 s, so one begun a day ago (a killed prune's) is dropped by the next commit. */
export function leaseMayRun(p: ManifestPruning, now = Date.now()): boolean {
  return withinADay(p.at, now)
}

/**
 * Whether a line of the history (or the pending one, as `withPending` gives it) may still be
 * writing: open, not ended, begun less than a day ago. Its paths are kept from prune and the line
 * from the cut of the history; a killed run's line ages out after that day.
 */
export function mayBeWriting(d: ManifestDeploy, now = Date.now()): boolean {
  return d.open === true && !d.ended && withinADay(d.at, now)
}

/**
 * The deploys `manifest` records (pending included) that may have written since `before` was
 * read: those it does not record, and the one pending in it (it may still be writing: a killed
 * deploy cannot be told from a slow one), unless it is `ended` (this cache's own deploy that
 * stopped before its commit). `self` is left out.
 */
export function deploysSince(manifest: RemoteManifest | undefined, before: RemoteManifest | undefined, self: string | undefined, ended?: string): ManifestDeploy[] {
  if (!manifest) return []
  const finished = [...(before?.deploys ?? []), ...(before?.pending && ended !== undefined && before.pending.id === ended ? [before.pending] : [])]
  // Each known deploy, and whether it was open then (moved into the history by another's mark
  // before its commit: it may still have been writing). One that was open and has committed since
  // wrote since, as a pending one does; one still open is taken as known (it may be dead).
  // An open one that has ended since (it stopped and said so) wrote since too.
  const state = (d: ManifestDeploy) => (!d.open ? 'done' : d.ended ? 'ended' : 'open')
  const known = new Map(finished.map((d) => [deployIdentity(d), state(d)]))
  return withPending(manifest).filter((d) => {
    if (self !== undefined && d.id === self) return false
    const was = known.get(deployIdentity(d))
    return was === undefined || (was === 'open' && state(d) !== 'open')
  })
}

/**
 * Another deploy's prune recorded in `manifest` that may delete one of `paths` (compared folded
 * on a case-insensitive storage): a listing of those paths is not to be trusted until it ends.
 */
export function pruneThreat(manifest: RemoteManifest | undefined, self: string | undefined, paths: readonly string[], caseInsensitive = false): ManifestPruning | undefined {
  const pruning = manifest?.pruning
  if (!pruning || pruning.id === self || !leaseMayRun(pruning)) return undefined
  const fold = caseInsensitive ? foldPath : (path: string) => path
  const doomed = new Set(pruning.paths.map(fold))
  return paths.some((path) => doomed.has(fold(path))) ? pruning : undefined
}

/** How long a prune may send deletes after it recorded itself, and so how long a deploy waits for one at most. */
export const PRUNE_LEASE_MS = Number(process.env.COLLECTFASTA_PRUNE_LEASE_MS) || 120_000
/** The first pause of a deploy waiting for a prune between two looks at the manifest; it doubles up to 2 s (the explorer sets 0: its schedule, not the clock, orders the looks). */
const PRUNE_POLL_MS = /^\d+$/.test(process.env.COLLECTFASTA_PRUNE_POLL_MS ?? '') ? Number(process.env.COLLECTFASTA_PRUNE_POLL_MS) : 100

/**
 * Waits until the prune `pruning` has committed (the stored manifest no longer records it), or
 * its lease has run out, measured from now on this machine's clock (it began before this deploy
 * saw it, so no clocks are compared). Asks the manifest's version, and reads it when that changed.
 */
export async function waitForPrune(remote: RemoteState, pruning: ManifestPruning, signal: AbortSignal): Promise<'ended' | 'expired'> {
  const until = performance.now() + PRUNE_LEASE_MS
  let pause = PRUNE_POLL_MS
  let version: string | undefined
  while (performance.now() < until) {
    const now = await remote.currentManifestVersion()
    if (now !== version) {
      version = now
      const { read } = await remote.reread()
      if (read.state !== 'ok' || read.manifest.pruning?.id !== pruning.id) return 'ended'
    }
    if (signal.aborted) throw signal.reason
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, until - performance.now())))
    pause = Math.min(pause * 2, 2_000)
  }
  return 'expired'
}

/**
 * The history of `manifest`, with a pending deploy that never committed kept as a deploy (its
 * files may be live), marked `open`: it may still be writing.
 */
export function withPending(manifest: RemoteManifest, exceptId?: string): ManifestDeploy[] {
  const pending = manifest.pending
  if (!pending || pending.id === exceptId) return manifest.deploys
  return [{ ...pending, open: true }, ...manifest.deploys]
}

/** Whether `manifest` describes the storage for sure: no deploy pending or open, no prune under way. */
export function settled(manifest: RemoteManifest): boolean {
  return !manifest.pending && !manifest.pruning && !manifest.deploys.some((d) => d.open)
}
