import { runPool } from '../pool.js'
import type { Strategy } from '../strategy.js'
import type { ManifestDeploy } from './deploy-manifest.js'
import type { Entry } from './entry.js'
import { type KeepContext, type ReleaseRecord, keptKey, readRecord, recordKey, usableId } from './release.js'
import type { Counted } from './requests.js'

// What prune deletes of the releases themselves: the records and kept copies of releases that
// leave the kept window (`keepDeploys`), and never a copy that a kept release needs.

/**
 * Our own objects that releases leaving the kept window no longer need: their records, and the
 * kept copies no kept release names. A kept release whose record cannot be read keeps every copy.
 */
export async function releaseGarbage(history: ManifestDeploy[], keep: number, folder: string, strategy: Strategy, counted: Counted, concurrency: number): Promise<string[]> {
  const dropped = history.slice(keep).filter((d) => d.release && usableId(d.id))
  if (dropped.length === 0 || !strategy.get) return []
  const read = async (deploys: ManifestDeploy[]) => {
    const records: (ReleaseRecord | undefined | null)[] = []
    await runPool(
      deploys,
      async (d, i) => {
        records[i] = await readRecord(strategy, counted, recordKey(folder, d.id as string)).catch(() => null)
      },
      { limit: concurrency },
    )
    return records
  }
  // The first is this deploy: its record is not written yet (pruneReleases spares its copies).
  const keptRecords = await read(history.slice(1, keep).filter((d) => d.release && usableId(d.id)))
  const doomed = dropped.map((d) => recordKey(folder, d.id as string))
  if (keptRecords.some((r) => r === null)) return doomed
  const needed = new Set(keptRecords.flatMap((r) => (r ? r.files.filter((f) => f[5] === 1).map((f) => keptKey(folder, f[1], f[2])) : [])))
  const copies = new Set<string>()
  for (const record of await read(dropped)) for (const f of record?.files ?? []) if (f[5] === 1 && !needed.has(keptKey(folder, f[1], f[2]))) copies.add(keptKey(folder, f[1], f[2]))
  return [...doomed, ...copies]
}

/**
 * `keys` (what the plan found no kept release needs) less what the committed history needs that
 * the plan did not count. A deploy since the plan may use content the plan took as garbage (a
 * deploy of an older build again: a rollback to it copies that content back). Every record a line
 * of `committed` names stays; so do the kept copies named by the record of each line the plan did
 * not count (new since the plan, or past its window). A record that cannot be read keeps every copy.
 */
export async function stillNeeded(keys: string[], committed: ManifestDeploy[], planned: ManifestDeploy[], self: string | undefined, folder: string, strategy: Strategy, counted: Counted, concurrency: number): Promise<string[]> {
  const lines = committed.filter((d): d is ManifestDeploy & { id: string } => usableId(d.id) && d.id !== self)
  const records = new Set(lines.map((d) => recordKey(folder, d.id)))
  const rest = keys.filter((key) => !records.has(key))
  // The plan read the records of lines with a release only (a pending line has none yet).
  const seen = new Set(planned.filter((d) => d.release).map((d) => d.id))
  const doomed = new Set(keys)
  const uncounted = lines.filter((d) => !seen.has(d.id) || doomed.has(recordKey(folder, d.id)))
  if (uncounted.length === 0) return rest
  const needed = new Set<string>()
  let unread = !strategy.get
  await runPool(
    uncounted,
    async (d) => {
      const record = strategy.get ? await readRecord(strategy, counted, recordKey(folder, d.id)).catch(() => undefined) : undefined
      if (!record) unread = true
      for (const f of record?.files ?? []) if (f[5] === 1) needed.add(keptKey(folder, f[1], f[2]))
    },
    { limit: concurrency },
  )
  return rest.filter((key) => !needed.has(key) && !(unread && key.startsWith(`${folder}kept/`)))
}

/**
 * Deletes the records and kept copies of releases that left the kept window, after the commit
 * that dropped them: an object written after `since` (the storage's clock: another deploy kept
 * that content again meanwhile) is spared. A failure is a warning: they are only storage.
 */
export async function pruneReleases(keys: string[], entries: Entry[], since: number | undefined, ctx: KeepContext): Promise<number> {
  const { strategy } = ctx
  // This deploy's own kept copies: its record was not written yet when the plan looked.
  const mine = new Set(entries.map((e) => keptKey(ctx.folder, e.xxh64, e.headersFingerprint)))
  let doomed = keys.filter((key) => !mine.has(key))
  if (doomed.length === 0 || !strategy.delete) return 0
  if (strategy.stat) {
    const stat = strategy.stat.bind(strategy)
    const old: string[] = []
    await runPool(
      doomed,
      async (key) => {
        const object = await ctx.counted('stat', (c) => stat(key, c))
        if (object && (since === undefined || object.modified === undefined || object.modified <= since)) old.push(key)
      },
      { limit: ctx.concurrency },
    )
    doomed = old
  }
  if (doomed.length === 0) return 0
  const remove = strategy.delete.bind(strategy)
  try {
    await ctx.counted('delete', (c) => remove(doomed, c))
    return doomed.length
  } catch (error) {
    ctx.warn(`[collectfasta] Could not delete ${doomed.length} record(s) and kept copies of releases no longer kept (${(error as Error).message}); they stay in the storage.`)
    return 0
  }
}
