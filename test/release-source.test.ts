import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { releaseSource } from '../src/core/release.js'

// Where a release comes from (its record's commit, run and label): a CI's variables first, else
// the repository the build is in, read by git itself beside the deploy's first requests.

const SHA = 'a'.repeat(40)

describe('the source a release records', () => {
  const none = mkdtempSync(join(tmpdir(), 'collectfasta-norepo-'))
  it.each([
    ['GitHub Actions', { GITHUB_SHA: SHA, GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '7' }, { commit: SHA, run: 'https://github.com/o/r/actions/runs/7' }],
    ['GitLab', { CI_COMMIT_SHA: SHA, CI_PIPELINE_URL: 'https://gitlab.com/p/-/pipelines/1' }, { commit: SHA, run: 'https://gitlab.com/p/-/pipelines/1' }],
    ['Vercel (no run)', { VERCEL_GIT_COMMIT_SHA: SHA }, { commit: SHA }],
    ['the first CI that sets its commit wins', { CIRCLE_SHA1: 'b'.repeat(40), GITHUB_SHA: SHA }, { commit: SHA }],
    ['a label from the environment', { COLLECTFASTA_RELEASE: 'v1.2' }, { label: 'v1.2' }],
    ['no CI, no repository', {}, {}],
  ])('%s', async (_name, env, expected) => {
    expect(await releaseSource(none, undefined, env)).toEqual(expected)
  })

  it("takes the repository's HEAD from git where no CI names a commit, and never fails", async () => {
    const repo = mkdtempSync(join(tmpdir(), 'collectfasta-repo-'))
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: repo, encoding: 'utf8' }).trim()
    git('init', '-q')
    writeFileSync(join(repo, 'a.txt'), 'a')
    git('add', '.')
    git('commit', '-qm', 'one')
    mkdirSync(join(repo, 'site'))
    // From a folder inside the repository, with the label given, which wins over the environment's.
    expect(await releaseSource(join(repo, 'site'), 'given', { COLLECTFASTA_RELEASE: 'env' })).toEqual({ commit: git('rev-parse', 'HEAD'), label: 'given' })
    expect(await releaseSource(join(repo, 'missing'), undefined, {})).toEqual({})
  })
})
