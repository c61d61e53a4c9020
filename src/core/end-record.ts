import type { DeployReport } from '../report.js'
import { RemoteState } from './remote.js'
import { createCounter } from './requests.js'
import { type ManifestWriter, writeManifestConditionally } from './trust.js'

/**
 * The last write of a run that marked the storage, wrote files and stops without committing
 * (failed, lost the race, cancelled), once another's mark has moved it into the history: its
 * entry there is marked `ended`. A deploy that planned while it was open, and whose cache would
 * vouch at its commit, then either conflicts with this write (and vouches for nothing) or vouches
 * for a version this write replaces: either way its next deploy lists the storage and sees what
 * this run wrote after that plan. Still pending, the mark says as much already: nothing is written.
 * Only a killed run writes no end: it is taken as dead by a deploy that saw it pending at its plan.
 */
export async function endUncommitted(from: ManifestWriter, id: string, report: Pick<DeployReport, 'uploaded' | 'failed' | 'deleted' | 'requests'>): Promise<void> {
  // Wrote nothing (a failed write may have been stored): nothing to say.
  if (report.uploaded.length + report.failed.length + report.deleted.length === 0) return
  // Its own requests, not cancelled with the run: a cancelled run says it ended too (within 10 s).
  const counted = createCounter(report.requests, AbortSignal.timeout(10_000))
  const writer: ManifestWriter = { strategy: from.strategy, counted, remote: new RemoteState(from.strategy, counted, from.remote.manifestKey, () => {}) }
  const nothing = new Error('nothing to end')
  await writeManifestConditionally(writer, await writer.remote.reread(), (current) => {
    // Still pending (the mark says it), or ended, committed or cut: nothing to say, nothing written.
    if (!current || current.pending?.id === id || !current.deploys.some((d) => d.id === id && d.open && !d.ended)) throw nothing
    const deploys = current.deploys.map((d) => (d.id === id && d.open ? { ...d, ended: true } : d))
    return { deploys, files: current.files, ...(current.pending ? { pending: current.pending } : {}), ...(current.pruning ? { pruning: current.pruning } : {}) }
  }).catch((error: unknown) => {
    if (error !== nothing) throw error
  })
}
