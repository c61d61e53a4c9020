import { DEFAULTS } from '../defaults.js'
import { githubActionsEnabled, group } from '../github-actions.js'
import { pathRecord } from '../paths.js'
import { runPool } from '../pool.js'
import { DeployError, type DeployReport, type Logger, type UploadReason, errorText, summarize } from '../report.js'
import type { RemoteObject, Strategy } from '../strategy.js'
import type { ManifestDeploy, ManifestFile, ReleaseSummary, RemoteManifest } from './deploy-manifest.js'
import { GROUPS } from './entry.js'
import { deployId } from './plan.js'
import { executePrune } from './prune.js'
import { type ReleaseFile, type ReleaseRecord, groupOf, hashedName, isLive, keepBeforeOverwrite, locate, readRecord, recordKey, releaseFolder, releaseSource, usableId, writeRecord } from './release.js'
import { publishReport, runOnDeployed, stoppedRun } from './publish.js'
import { RemoteState } from './remote.js'
import { endUncommitted } from './end-record.js'
import { copyBack } from './copy-back.js'
import { createCounter, emptyRequestCounts } from './requests.js'
import { type ManifestWriter, PRUNE_LEASE_MS, historyToCommit, leaseMayRun, markStorage, unmarkStorage, pruneThreat, settled, waitForPrune, writeManifestConditionally } from './trust.js'

/** `rollback()`: restore a kept release from the storage alone (no build, no cache). */
export interface RollbackOptions {
  strategy: Strategy
  /** The release to restore: its id, or a beginning of it that names one release. */
  release?: string
  /**
   * How many releases back from the live one (1: the one before it). A rollback is a release
   * too: rolling back twice with 1 restores what was live before the first rollback.
   * @default 1
   */
  steps?: number
  /** Print the plan, change nothing. @default false */
  dryRun?: boolean
  /** The deploy manifest's path under the prefix. @default '.collectfasta/manifest.json' */
  manifest?: string
  /** Requests in flight at once. @default the strategy's, else 8 */
  concurrency?: number
  logger?: Logger
  /** Called with the report once the rollback is committed (CDN invalidation hooks). */
  onDeployed?: (report: DeployReport) => void | Promise<void>
  /** Write the JSON report to this file. */
  reportFile?: string
  /** GitHub Actions step summary and annotations. @default on inside GitHub Actions */
  githubActions?: boolean
  signal?: AbortSignal
}

/** What a rollback did: a deploy's report, and which releases it went from and to. */
export interface RollbackReport extends DeployReport {
  rollback: NonNullable<DeployReport['rollback']>
}

/** A rollback that cannot be done as asked, refused before any write: the CLI exits 2. */
export class RollbackRefusal extends Error {
  readonly code = 'ERR_COLLECTFASTA_REFUSED'
}

/** One object the rollback writes: where from, with which release file. */
interface Copy {
  key: string
  path: string
  from: string
  file: ReleaseFile
  group: number
  reason: UploadReason
}

/**
 * Rolls the site back to a kept release, as a plan then a commit: the plan is the difference
 * between the live release and the target; the storage is marked; kept copies are copied back in
 * groups (HTML last); pages the target does not have are deleted under a prune lease; the
 * target's record is written as a new release; the manifest is committed conditionally on the
 * mark, and a deploy or rollback that wrote meanwhile makes this one fail.
 */
export async function rollback(options: RollbackOptions): Promise<RollbackReport> {
  const started = performance.now()
  const { strategy } = options
  const logger = options.logger ?? { info: console.log, warn: console.warn }
  const manifestPath = options.manifest ?? DEFAULTS.manifest
  const prefix = strategy.prefix ?? ''
  const concurrency = options.concurrency ?? strategy.concurrency ?? DEFAULTS.concurrency
  const signal = options.signal ?? new AbortController().signal
  const requests = emptyRequestCounts()
  const counted = createCounter(requests, signal, concurrency)
  const folder = releaseFolder(prefix, manifestPath)
  const dryRun = options.dryRun === true
  const report: RollbackReport = { target: strategy.target, dryRun, uploaded: [], skipped: [], failed: [], pending: [], deleted: [], bytesUploaded: 0, durationMs: 0, requests, plan: [], rollback: { to: '' } }
  const github = githubActionsEnabled(options.githubActions)
  const publish = () => publishReport(report, started, { reportFile: options.reportFile, github, logger })
  // Between the mark and the commit: how this run, stopping, says it wrote and ended (end-record.ts).
  let ending: (() => Promise<void>) | undefined
  try {
    if (!strategy.get || (!strategy.stat && !strategy.list)) {
      throw new TypeError(`[collectfasta] \`rollback\` needs a strategy that can read objects and stat or list them, and ${strategy.name} cannot.`)
    }
    // Where this rollback comes from, for its release record: git runs beside the first requests (a dry run never waits for it).
    const sourceOf = dryRun ? undefined : releaseSource(process.cwd(), undefined)
    const remote = new RemoteState(strategy, counted, prefix + manifestPath, logger.warn)
    const version = await remote.manifestVersion()
    const read = await remote.read()
    if (read.state !== 'ok') throw new RollbackRefusal(`[collectfasta] ${strategy.target} has no usable deploy manifest (${read.state === 'absent' ? 'none is stored' : read.why}): there is no release to roll back to.`)
    const manifest = read.manifest
    const live = manifest.deploys[0]
    const target = chooseTarget(manifest.deploys, options)
    report.rollback = { from: live?.id, to: target.id ?? '' }
    const record = target.release && usableId(target.id) ? await readRecord(strategy, counted, recordKey(folder, target.id)) : undefined
    if (!record) {
      throw new RollbackRefusal(
        `[collectfasta] Release ${target.id ?? target.at} cannot be rolled back to: ${target.release ? 'its record is no longer stored' : 'it was deployed by a version of vite-plugin-collectfasta without releases'}. Run \`collectfasta releases\` to see which can.`,
      )
    }
    const liveRecord = live?.release && usableId(live.id) ? await readRecord(strategy, counted, recordKey(folder, live.id)).catch(() => undefined) : undefined
    const { copies, deletes, files } = planRollback(record, manifest, liveRecord, prefix)
    // A file still under its own key (a hashed one, a page never replaced since) needs no write: found here, skipped.
    const locateWrites = async (toLocate: Copy[]) => {
      await locateAll(toLocate, record, strategy, counted, concurrency, { prefix, folder })
      const found = toLocate.filter((c) => c.from !== c.key)
      const written = new Set(found.map((c) => c.key))
      report.plan.splice(0, Infinity, ...found.map((copy) => ({ key: copy.key, action: 'upload' as const, reason: copy.reason })))
      report.skipped.splice(0, Infinity, ...record.files.map((f) => prefix + f[0]).filter((key) => !written.has(key)))
      return found
    }
    let writes = await locateWrites(copies)
    const recordedFiles = new Map(record.files.map((f) => [f[0], f]))
    if (dryRun) {
      for (const copy of writes) report.uploaded.push({ key: copy.key, size: copy.file[3], reason: copy.reason })
      report.deleted.push(...deletes)
      const lines = [
        ...writes.map((c) => `[collectfasta] would copy ${c.key} from ${c.from}`),
        ...deletes.map((key) => `[collectfasta] would delete ${key} (not in release ${target.id})`),
        `[collectfasta] would commit the deploy manifest ${prefix}${manifestPath} with release ${target.id} live`,
      ]
      group(`collectfasta rollback dry run: ${lines.length} decision(s) for ${strategy.target}`, lines, logger, github)
      publish()
      return report
    }

    // The plan is carried out as a deploy's: mark, copies in groups (HTML last), deletes under a lease, conditional commit.
    const writer: ManifestWriter = { strategy, counted, remote }
    const id = deployId()
    report.rollback.id = id
    const source = (await sourceOf) ?? {}
    const at = new Date().toISOString()
    const line: ManifestDeploy = { at, paths: record.files.map((f) => f[0]), id, ...(live?.site ? { site: live.site } : {}) }
    const mark = await markStorage(writer, { version, read }, line)
    if (mark.interleaved) {
      // Lost at the mark, nothing written: the mark is taken back (it would keep its paths from prune for a day).
      await unmarkStorage(writer, mark, id, new Set()).catch(() => {})
      throw conflict(remote.manifestKey)
    }
    ending = () => endUncommitted(writer, id, report)
    // Step 4, as a deploy's: a prune recorded before this mark may be deleting files this rollback
    // leaves in place. Wait for it. It committed: the manifest changed, fail before any copy. It
    // died (lease out, deletes no more): look for every file again; the commit leaves its lease out.
    const threat = pruneThreat(mark.manifest, id, line.paths, strategy.caseInsensitive)
    const waitedOut = new Set<string>()
    if (threat) {
      logger.warn(`[collectfasta] Another deploy is pruning files this rollback restores: waiting for it to finish (${Math.round(PRUNE_LEASE_MS / 1000)} s at most).`)
      if ((await waitForPrune(remote, threat, signal)) === 'ended') throw conflict(remote.manifestKey)
      logger.warn(`[collectfasta] That prune stopped before its end (its lease ran out): looking for every file of release ${record.id} again, since it may have deleted some.`)
      waitedOut.add(threat.id)
      try {
        // The plan took no file as live already (a lease makes the manifest unsettled): each is looked for again.
        writes = await locateWrites(copies)
      } catch (error) {
        // A file the dead prune deleted: the refusal leaves the manifest as it found it, without
        // this rollback's mark and the dead lease (unless another deploy wrote meanwhile).
        if (error instanceof RollbackRefusal) await unmarkStorage(writer, mark, id, waitedOut).catch(() => {})
        throw error
      }
    }
    // Copy before overwrite: the live content of what the rollback replaces or deletes is kept, so one can roll forward again.
    const replaced = [...writes.map((c) => c.key), ...deletes].flatMap((key) => {
      const recorded = manifest.files[key.slice(prefix.length)]
      const target = recordedFiles.get(key.slice(prefix.length))
      if (!recorded || (target && (hashedName(record.headers[target[4]]) || (target[1] === recorded.xxh64 && target[2] === recorded.headers)))) return []
      return [{ key, recorded }]
    })
    const keep = { strategy, counted, concurrency, folder, signal, warn: logger.warn, info: logger.info, statFirst: !settled(manifest) }
    await keepBeforeOverwrite(replaced, new Set(), keep)
    const stored = new Map<string, RemoteObject | undefined>()
    for (const g of GROUPS) {
      const batch = writes.filter((c) => c.group === g)
      await runPool(
        batch,
        async (c) => {
          try {
            stored.set(c.path, await copyBack(strategy, counted, c, record))
            report.uploaded.push({ key: c.key, size: c.file[3], reason: c.reason })
          } catch (error) {
            report.failed.push({ key: c.key, error: errorText(error) })
          }
        },
        { limit: concurrency, signal },
      )
      if (report.failed.length > 0 || signal.aborted) {
        report.pending.push(...writes.filter((c) => c.group > g).map((c) => c.key))
        // A deploy that committed after this mark may have pruned the release's kept copies: this
        // rollback lost the race (it could not commit anyway), and says so rather than "run again".
        if (report.failed.length > 0 && !signal.aborted && (await remote.currentManifestVersion()) !== mark.version) throw conflict(remote.manifestKey)
        throw new DeployError(`[collectfasta] The rollback stopped: ${report.failed.length} copy(ies) failed (${report.failed.map((f) => `${f.key}: ${f.error}`).join('; ')}). The storage is marked pending; run the rollback again.`, report)
      }
    }
    const lease = deletes.length > 0 ? (await executePrune(deletes.map((key) => ({ key, reason: 'stale' as const })), { strategy, counted, report, remote, concurrency, writer, mark, self: id, before: manifest, recorded: manifest.files, waitedOut, signal, warn: logger.warn })).lease : undefined
    line.release = { ...(target.release as ReleaseSummary), ...(source.run ? { run: source.run } : {}), rollbackOf: record.id, files: record.files.length, bytes: record.files.reduce((s, f) => s + f[3], 0) }
    await writeRecord(strategy, counted, folder, { ...record, id, at })
    for (const [path, object] of stored) files[path] = { ...(files[path] as ManifestFile), md5: object?.md5 ?? '', version: object?.version ?? '' }
    const base = lease ?? mark
    let builds = 0
    const committed = await writeManifestConditionally(writer, { version: base.version, read: { state: 'ok', manifest: base.manifest } }, (current) => {
      if (++builds > 1 || current?.pending?.id !== id) throw conflict(remote.manifestKey)
      // Another prune's lease stays, as in a deploy's commit (step 8), unless this rollback waited it out.
      const pruning = current.pruning && current.pruning.id !== id && !waitedOut.has(current.pruning.id) && leaseMayRun(current.pruning) ? current.pruning : undefined
      // A rollback keeps every release it found: the next pruning deploy trims the history.
      return { deploys: historyToCommit(line, current, current.deploys.length + 1), files, ...(pruning ? { pruning } : {}) }
    })
    ending = undefined
    report.manifest = { key: remote.manifestKey ?? '', size: committed.size }
    report.bytesUploaded = report.uploaded.reduce((sum, u) => sum + u.size, 0)
  } catch (error) {
    if (ending) await ending().catch(() => {})
    // A failed copy (a DeployError) has its report already: published here, as the run ends.
    if (error instanceof DeployError) publish()
    throw stoppedRun(error, report, publish)
  } finally {
    await strategy.dispose?.()
  }
  publish()
  logger.info(`${summarize(report)} Release ${report.rollback.to} is live again (was ${report.rollback.from ?? 'none'}).`)
  await runOnDeployed(options.onDeployed, report, 'rollback')
  return report
}

/** The release asked for: by id (or a unique beginning), else `steps` back from the live one. */
function chooseTarget(deploys: ManifestDeploy[], options: RollbackOptions): ManifestDeploy {
  const kept = deploys.map((d) => d.id ?? d.at).join(', ') || 'none'
  if (options.release !== undefined) {
    const found = deploys.filter((d) => d.id?.startsWith(options.release as string))
    if (found.length === 1 && found[0]) return found[0]
    throw new RollbackRefusal(
      `[collectfasta] ${found.length > 1 ? `${JSON.stringify(options.release)} names ${found.length} releases` : `No kept release has the id ${JSON.stringify(options.release)}`}; the kept ones are ${kept}.`,
    )
  }
  const steps = options.steps ?? 1
  if (!Number.isInteger(steps) || steps < 1) throw new TypeError(`[collectfasta] Expected \`steps\` to be an integer ≥ 1, got ${JSON.stringify(steps)}.`)
  // Steps count releases: a line that never committed (open) is none.
  const target = deploys.filter((d, i) => i === 0 || !d.open)[steps]
  if (!target) throw new RollbackRefusal(`[collectfasta] There is no release ${steps} step(s) before the live one: ${deploys.length} release(s) are kept (${kept}).`)
  return target
}

/**
 * The difference between the live release and the target: the files to restore, the pages to
 * delete, and the files the manifest will record. A file the live files hold is left alone. When
 * the manifest is not settled (a deploy pending or open may have written, a prune may be
 * deleting), no file is taken as live: each is looked for in the storage.
 */
function planRollback(record: ReleaseRecord, manifest: RemoteManifest, liveRecord: ReleaseRecord | undefined, prefix: string) {
  const live = settled(manifest) ? manifest.files : pathRecord<ManifestFile>()
  const copies: Copy[] = []
  const files = pathRecord<ManifestFile>()
  for (const file of record.files) {
    const [path, xxh64, fingerprint, size] = file
    const now = manifest.files[path]
    files[path] = now?.xxh64 === xxh64 && now.headers === fingerprint ? now : { xxh64, headers: fingerprint, size, md5: '', version: '' }
    if (isLive(file, live)) continue
    const key = prefix + path
    copies.push({ key, path, from: key, file, group: groupOf(record, file), reason: live[path] ? 'changed' : 'missing' })
  }
  // Pages of the live release that the target does not have: their content is kept before they go, so a later rollback can restore them.
  const wanted = new Set(record.files.map((f) => f[0]))
  const deletes = (liveRecord?.files ?? []).filter((f) => !wanted.has(f[0]) && !hashedName(liveRecord?.headers[f[4]])).map((f) => prefix + f[0])
  return { copies, deletes, files }
}

/**
 * Finds where each file to restore is stored (core/release.ts `locate`), and refuses, before any
 * write, a rollback whose files are no longer stored, naming them.
 */
async function locateAll(copies: Copy[], record: ReleaseRecord, strategy: Strategy, counted: ReturnType<typeof createCounter>, concurrency: number, where: { prefix: string; folder: string }): Promise<void> {
  const missing: string[] = []
  const stat = strategy.stat?.bind(strategy)
  let listed: Map<string, RemoteObject> | undefined
  if (!stat && strategy.list) {
    const list = strategy.list.bind(strategy)
    listed = await counted('list', async (c) => {
      const objects = new Map<string, RemoteObject>()
      for await (const object of list(c)) objects.set(object.key, object)
      return objects
    })
  }
  const lookUp = async (key: string) => (listed ? listed.get(key) : stat ? await counted('stat', (ctx) => stat(key, ctx)) : undefined)
  await runPool(
    copies,
    async (c) => {
      const from = await locate(c.file, where.prefix, where.folder, lookUp)
      if (from === undefined) missing.push(c.path)
      else if (from !== c.key && !strategy.copy && c.file[4] < 0) missing.push(`${c.path} (its headers are not recorded, and ${strategy.name} cannot copy)`)
      else c.from = from
    },
    { limit: concurrency },
  )
  if (missing.length > 0) {
    missing.sort()
    throw new RollbackRefusal(
      `[collectfasta] Release ${record.id} cannot be rolled back to: ${missing.length} of its file(s) are no longer kept (${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}). Nothing was written. Choose a newer release (\`collectfasta releases\`), or deploy its build again.`,
    )
  }
}

/** Another deploy or rollback committed first: this one stops and says so. */
function conflict(key: string | undefined): Error {
  return new Error(
    `[collectfasta] The deploy manifest ${key} kept changing under this rollback (another deploy or rollback is running): it was not committed. Run the rollback again once they are done.`,
  )
}
