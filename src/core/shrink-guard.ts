import type { ManifestDeploy } from './deploy-manifest.js'

/**
 * The shrink guard. The reference is the largest full deploy kept in the history that committed
 * and that the guard did not refuse, back to the newest deploy the user let through with a lowered `minShare`
 * (where the reference restarts). A deploy far smaller than it looks broken: `shrunk`, and it
 * never becomes a reference, so a broken build deployed again and again keeps being refused.
 */
export function shrinkGuard(
  current: ManifestDeploy,
  previous: ManifestDeploy[],
  minShare: number,
  defaultMinShare: number,
): { shrunk: boolean; accepted: boolean; reference?: ManifestDeploy } {
  if (current.partial) return { shrunk: false, accepted: false }
  let reference: ManifestDeploy | undefined
  for (const deploy of previous) {
    if (!deploy.partial && !deploy.shrunk && !deploy.open && deploy.paths.length > (reference?.paths.length ?? -1)) reference = deploy
    if (deploy.accepted) break
  }
  if (!reference) return { shrunk: false, accepted: false }
  const size = current.paths.length
  if (size < reference.paths.length * minShare) return { shrunk: true, accepted: false, reference }
  return { shrunk: false, accepted: size < reference.paths.length * defaultMinShare, reference }
}
