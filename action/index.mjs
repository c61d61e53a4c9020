// The GitHub Action's entry (action.yml): runs `collectfasta deploy` (or the command the
// `command` input names) with the step's inputs and sets its outputs from the JSON report.
//
// Why it runs the package installed in the user's project, and ships no build of its own: a
// JavaScript action runs straight from this repository at the tag (`@v1`), without an install or
// a build, so it would otherwise need a committed bundle of the CLI, its dependencies and the
// storage SDKs. The user's project has all of them already (vite-plugin-collectfasta and the
// SDK are its devDependencies, installed by its own `npm ci`), at the versions its lock file pins
// and that its build was tested with, and its config file imports them from there anyway. So this
// file needs nothing but Node: it finds the installed package, runs its command in a child
// process with the runner's Node, and reads the report that the command writes.
//
// What the runner gives an action: each input as INPUT_<NAME> (upper case, spaces as `_`,
// hyphens kept: INPUT_DRY-RUN), a file to append outputs to (GITHUB_OUTPUT), and one for the
// step summary (GITHUB_STEP_SUMMARY), which the command writes to itself (GITHUB_ACTIONS=true).
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

const PACKAGE = 'vite-plugin-collectfasta'

/** An input as the runner passes it; '' when not given. */
function input(name) {
  return (process.env[`INPUT_${name.replaceAll(' ', '_').toUpperCase()}`] ?? '').trim()
}

/** A boolean input, read as GitHub reads them (YAML 1.2 core schema). */
function flag(name) {
  const value = input(name)
  if (['', 'false', 'False', 'FALSE'].includes(value)) return false
  if (['true', 'True', 'TRUE'].includes(value)) return true
  throw new UsageError(`[collectfasta] The input \`${name}\` must be true or false, got ${JSON.stringify(value)}.`)
}

class UsageError extends Error {}

/**
 * What each command takes of the step's inputs: its directory argument, its valued and its
 * boolean flags. The target's inputs (to, endpoint, config, mode) go to every command.
 */
const COMMANDS = {
  deploy: { dir: true, values: ['concurrency', 'cache-dir'], flags: ['dry-run', 'prune', 'verify', 'force'] },
  check: { dir: true, values: ['concurrency'], flags: [] },
  // The step is its confirmation: a workflow cannot answer a question.
  remove: { dir: false, values: [], flags: ['dry-run'], extra: ['--yes'] },
  rollback: { dir: false, values: ['release', 'steps'], flags: ['dry-run'] },
}
/** The target's inputs, which every command takes. */
const SHARED = ['to', 'endpoint', 'config', 'mode']

/** The command to run, from the `command` input. */
function commandName() {
  const name = input('command') || 'deploy'
  if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`[collectfasta] The input \`command\` must be one of ${Object.keys(COMMANDS).join(', ')}, got ${JSON.stringify(name)}.`)
  return name
}

/** Whether the command writes its report with --report (deploy, rollback), or prints it with --json (check, remove). */
const writesReport = (name) => name === 'deploy' || name === 'rollback'

/** The command-line arguments of `collectfasta <name>` for the step's inputs; an input the command does not take is refused. */
function commandArgs(name, reportFile) {
  const spec = COMMANDS[name]
  const args = [name]
  const others = Object.values(COMMANDS).flatMap((c) => [...c.values, ...c.flags, ...(c.dir ? ['dir'] : [])])
  const unused = others.filter((other) => !spec.values.includes(other) && !spec.flags.includes(other) && !(other === 'dir' && spec.dir) && input(other) !== '' && input(other) !== 'false')
  if (unused.length) throw new UsageError(`[collectfasta] The input \`${unused[0]}\` does not apply to the command \`${name}\`: remove it from the step.`)
  if (spec.dir && input('dir')) args.push(input('dir'))
  for (const option of [...SHARED, ...spec.values]) {
    if (input(option)) args.push(`--${option}`, input(option))
  }
  for (const option of spec.flags) {
    if (flag(option)) args.push(`--${option}`)
  }
  args.push(...(spec.extra ?? []), ...(writesReport(name) ? ['--report', reportFile] : ['--json']))
  return args
}

/** The installed command's entry, found as Node finds the package from the project's folder. */
function installedCommand(cwd) {
  let manifestPath
  try {
    manifestPath = createRequire(join(cwd, 'package.json')).resolve(`${PACKAGE}/package.json`)
  } catch {
    throw new UsageError(
      `[collectfasta] The action runs the collectfasta command of your project, but ${PACKAGE} is not installed in ${cwd}. ` +
        `Add it to the project (\`npm i -D ${PACKAGE}\`, with the SDK of your storage) and run \`npm ci\` in a step before this one, ` +
        'or set `working-directory` to the folder with its package.json.',
    )
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.collectfasta
  const entry = bin && resolve(dirname(manifestPath), bin)
  if (!entry || !existsSync(entry)) {
    throw new UsageError(`[collectfasta] ${PACKAGE} in ${dirname(manifestPath)} has no built command (${bin ?? 'no bin'}): reinstall it with \`npm ci\`.`)
  }
  return entry
}

/** Appends an output for later steps; a delimiter no value contains, as the runner reads them. */
function setOutput(name, value) {
  const file = process.env.GITHUB_OUTPUT
  if (!file) return
  const delimiter = `collectfasta_${randomUUID()}`
  appendFileSync(file, `${name}<<${delimiter}\n${value}\n${delimiter}\n`)
}

/** Workflow-command escaping, so a sentence stays one annotation. */
function escapeData(text) {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A')
}

/**
 * A step that stopped before any deploy began (bad usage, nothing installed): its sentence as an
 * annotation and in the step summary, where a deploy would have put its own.
 */
function stoppedBeforeDeploy(sentence) {
  console.log(`::error title=collectfasta::${escapeData(sentence)}`)
  const summary = process.env.GITHUB_STEP_SUMMARY
  if (summary) appendFileSync(summary, `### collectfasta: ❌ not deployed\n\n${sentence.replaceAll(/\r?\n/g, ' ')}\n\n`)
}

/**
 * Runs the command, passing its output through; resolves with its exit code, its last stderr
 * lines and, with `keepStdout` (a JSON report printed there), its stdout.
 */
function run(entry, args, cwd, keepStdout) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { cwd, stdio: ['ignore', keepStdout ? 'pipe' : 'inherit', 'pipe'] })
    let stdout = ''
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', (chunk) => {
      process.stdout.write(chunk)
      stdout += chunk
    })
    let stderrTail = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk) => {
      process.stderr.write(chunk)
      stderrTail = (stderrTail + chunk).slice(-4000)
    })
    // A cancelled job signals this process: pass it on, so the command stops as it does in a
    // terminal (no new upload, uploads in flight finish, the cache is saved).
    const forward = (signal) => child.kill(signal)
    process.on('SIGINT', forward)
    process.on('SIGTERM', forward)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward)
      process.off('SIGTERM', forward)
      resolveRun({ code: code ?? (signal ? 1 : 0), stderrTail, stdout })
    })
  })
}

async function main() {
  const cwd = resolve(input('working-directory') || '.')
  const reportFile = resolve(cwd, input('report') || join(process.env.RUNNER_TEMP || tmpdir(), `collectfasta-report-${randomUUID()}.json`))
  const name = commandName()
  const args = commandArgs(name, reportFile)
  const entry = installedCommand(cwd)
  // A report left by an earlier step would pass for this one's.
  rmSync(reportFile, { force: true })
  console.log(`collectfasta ${args.join(' ')}`)
  const { code, stderrTail, stdout } = await run(entry, args, cwd, !writesReport(name))
  if (!writesReport(name) && stdout.trim().startsWith('{')) writeFileSync(reportFile, stdout)

  if (existsSync(reportFile)) {
    const report = JSON.parse(readFileSync(reportFile, 'utf8'))
    // A deploy's or rollback's counts; remove's deletions; check's report alone.
    if (writesReport(name)) {
      setOutput('uploaded', report.uploaded.length)
      setOutput('skipped', report.skipped.length)
      setOutput('failed', report.failed.length)
      setOutput('bytes', report.bytesUploaded)
    }
    if (Array.isArray(report.deleted)) setOutput('deleted', report.deleted.length)
    setOutput('report', reportFile)
  } else if (code !== 0) {
    // Stopped before the command began (bad usage, a missing directory): it printed its
    // sentence. A deploy that began annotates and summarizes its own failures.
    const sentence = stderrTail.trim().split('\n').filter((line) => line.startsWith('[collectfasta]')).at(-1)
    if (sentence) stoppedBeforeDeploy(sentence)
  }
  return code
}

try {
  process.exitCode = await main()
} catch (error) {
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`${message}\n`)
  stoppedBeforeDeploy(message)
  process.exitCode = error instanceof UsageError ? 2 : 1
}
