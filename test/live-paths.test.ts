import { describe, expect, it } from 'vitest'
import type { ManifestDeploy, RemoteManifest } from '../src/core/deploy-manifest.js'
import { livePaths } from '../src/core/plan.js'

// The paths a partial (`include`) deploy keeps: every deploy recorded since the last full one that
// committed, and that one's, since their pages may be the live ones.

const line = (id: string, extra: Partial<ManifestDeploy> = {}): ManifestDeploy => ({ at: '2026-12-07T00:00:00Z', id, paths: [`${id}.html`], ...extra })
const manifest = (deploys: ManifestDeploy[], pending?: ManifestDeploy): RemoteManifest => ({ format: 1, tool: 'vite-plugin-collectfasta', deploys, files: {}, ...(pending ? { pending } : {}) }) as RemoteManifest

describe('livePaths', () => {
  it.each<[string, RemoteManifest | undefined, string | undefined, string[]]>([
    ['no manifest', undefined, undefined, []],
    ['the last full deploy only', manifest([line('b'), line('a')]), undefined, ['b.html']],
    ['a pending (maybe killed) deploy, then the last full one', manifest([line('b'), line('a')], line('p')), undefined, ['p.html', 'b.html']],
    ['this deploy pending: left out', manifest([line('b')], line('self')), 'self', ['b.html']],
    ['an open deploy (moved into the history by another mark)', manifest([line('o', { open: true }), line('b'), line('a')]), undefined, ['o.html', 'b.html']],
    ['partial deploys back to the full one', manifest([line('i2', { partial: true }), line('i1', { partial: true }), line('o', { open: true }), line('b'), line('a')]), undefined, ['i2.html', 'i1.html', 'o.html', 'b.html']],
    // Moved into the history by b's mark, it wrote after b committed: below b, its pages may be live.
    ['an open line below the last full deploy, ended or not', manifest([line('b'), line('x', { open: true, ended: true }), line('k', { open: true }), line('a')]), undefined, ['b.html', 'x.html', 'k.html']],
  ])('%s', (_name, previous, self, expected) => {
    expect(livePaths(previous, self)).toEqual(expected)
  })
})
