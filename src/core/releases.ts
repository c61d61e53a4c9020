import { DEFAULTS } from '../defaults.js'
import { runPool } from '../pool.js'
import type { Strategy } from '../strategy.js'
import { isLive, locate, readRecord, recordKey, releaseFolder, usableId } from './release.js'
import { RemoteState } from './remote.js'
import { createCounter, emptyRequestCounts } from './requests.js'

/** One kept release, as `collectfasta releases` lists it. A public contract (`--json`). */
export interface ReleaseInfo {
  id: string
  /** When it was committed (ISO 8601, the deploying machine's clock). */
  at: string
  commit?: string
  run?: string
  label?: string
  /** A rollback: the release it restored. */
  rollbackOf?: string
  files?: number
  bytes?: number
  /** The release the storage serves now. */
  live: boolean
  /** Whether `collectfasta rollback --release <id>` can restore it now. */
  canRollBack: boolean
  /** Why it cannot, when it cannot. */
  why?: string
}

/**
 * The kept releases, newest first (the deploy manifest's history), with whether each can still
 * be rolled back to: its record is stored, and so is every file it needs that the live files do
 * not hold (its kept copies, its files with a content hash in their name). One manifest read, one record read per release, one listing.
 */
export async function listReleases(options: { strategy: Strategy; manifest?: string; concurrency?: number; signal?: AbortSignal }): Promise<ReleaseInfo[]> {
  const { strategy } = options
  const prefix = strategy.prefix ?? ''
  const manifestPath = options.manifest ?? DEFAULTS.manifest
  const concurrency = options.concurrency ?? strategy.concurrency ?? DEFAULTS.concurrency
  const counted = createCounter(emptyRequestCounts(), options.signal ?? new AbortController().signal, concurrency)
  const folder = releaseFolder(prefix, manifestPath)
  try {
    const remote = new RemoteState(strategy, counted, prefix + manifestPath, () => {})
    const read = await remote.read()
    if (read.state !== 'ok') {
      throw new Error(`[collectfasta] ${strategy.target} has no usable deploy manifest (${read.state === 'absent' ? 'none is stored' : read.why}): no releases to list.`)
    }
    const listing = await remote.listing()
    const stat = strategy.stat?.bind(strategy)
    // The listing says what is stored; a stat what a site's object holds where the listing does
    // not say (S3 lists no metadata). A kept copy's name is its content: being listed is enough.
    const keptFolder = `${folder}kept/`
    const lookUp = async (key: string) => {
      const listed = listing?.get(key)
      if (listing && (!listed || listed.xxh64 !== undefined || key.startsWith(keptFolder) || !stat)) return listed
      return stat ? counted('stat', (c) => stat(key, c)) : undefined
    }
    const { deploys, files: liveFiles } = read.manifest
    const infos: ReleaseInfo[] = []
    await runPool(
      deploys,
      async (deploy, i) => {
        const { release } = deploy
        const info: ReleaseInfo = { id: deploy.id ?? '', at: deploy.at, live: i === 0 && !read.manifest.pending && !deploy.open, canRollBack: false }
        if (release) {
          const { kept: _kept, ...summary } = release
          Object.assign(info, summary)
        }
        infos[i] = info
        const why = await whyNot(deploy, i)
        info.canRollBack = why === undefined
        if (why) info.why = why
      },
      { limit: concurrency },
    )
    return infos

    /** Why a release cannot be rolled back to now, or undefined when it can (the live one always can: nothing to do). */
    async function whyNot(deploy: (typeof deploys)[number], i: number): Promise<string | undefined> {
      if (i === 0) return undefined
      if (deploy.open) return 'it never committed (it is still running, or it stopped)'
      if (!deploy.release || !usableId(deploy.id)) return 'deployed by a version without releases'
      const record = await readRecord(strategy, counted, recordKey(folder, deploy.id)).catch(() => undefined)
      if (!record) return 'its record is no longer stored'
      let missing = 0
      for (const file of record.files) if (!isLive(file, liveFiles) && (await locate(file, prefix, folder, lookUp)) === undefined) missing++
      return missing === 0 ? undefined : `${missing} of its files are no longer kept`
    }
  } finally {
    await strategy.dispose?.()
  }
}
