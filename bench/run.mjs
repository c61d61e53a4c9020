// `npm run bench`: this project against rclone and aws s3 sync, on a local S3 server (fauxqs or s3rver)
// behind a recording proxy, over deterministic synthetic outputs. Writes bench/RESULTS.md and docs/benchmark.svg (bench/chart.mjs).
//   node bench/run.mjs [--runs 3] [--sizes small,site3k,large,media,huge,film] [--contenders ours-bundle,ours-outdir,ours-cli,ours-vite,ours-sdk,sdk-loop,rclone,aws] [--server fauxqs|s3rver] [--quick] [--no-write] [--no-azure] [--profile] [--base OTHER/dist/cli.js]
// --profile: each run of ours writes a V8 CPU profile (bench/profiles/), and each cell of ours
// gets two tables (bench/profile.mjs): main-thread self time by module and by function.
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { recordingProxy } from '../test/servers/proxy.mjs'
import { writeChart } from './chart.mjs'
import { PROFILES, generate, mutate } from './generate.mjs'
import { profileTables, summarizeFiles } from './profile.mjs'
import { nodeAtLeast } from '../test/servers/runtimes.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}
const quick = args.includes('--quick')
const RUNS = Number(option('runs', quick ? 1 : 3))
const SIZES = option('sizes', quick ? 'small' : 'small,large').split(',')
// A contender id may end in @N: its concurrency (ours: `concurrency`; rclone: --transfers and
// --checkers; aws: max_concurrent_requests). rclone-default and aws-default run as a user would
// run them, with their own defaults (rclone 4 transfers / 8 checkers, aws 10 requests).
// ours-outdir@64 is ours at its own default concurrency; the others are matched at 16.
// sdk-loop@64 is a bare loop of SDK PutObject calls (bench/sdk-loop.mjs): first deploys only.
const CONTENDERS = option('contenders', 'ours-bundle,ours-outdir,ours-outdir@64,ours-sdk@64,ours-vite,sdk-loop@64,rclone,rclone-default,aws-default').split(',')
const CONCURRENCY = 16
/**
 * Round trips to simulate, in ms (0: loopback); each is half on the way out, half back. The
 * default run adds a far region (80 ms) for the small site only: the others would take hours.
 */
const RTT_GIVEN = option('rtt', undefined) !== undefined
const RTTS = option('rtt', quick ? '0' : '0,20,80').split(',').map(Number)
const FAR_RTT = 80
/** Whether a size runs at a round trip: all of them as asked with --rtt, the far one only for `small` by default. */
const runsAt = (size, rtt) => RTT_GIVEN || rtt < FAR_RTT || size === 'small'
const SCENARIO_IDS = option('scenarios', '').split(',').filter(Boolean)
const SERVER = option('server', 'fauxqs')
const PROFILE = args.includes('--profile')
/** Another build of the command to compare against, as the contender ours-base. */
const BASE_CLI = option('base', undefined)
const PROFILE_DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'profiles')
const BUCKET = 'collectfasta-bench'
const SCENARIOS = [
  ['first', 'first deploy, empty prefix'],
  ['warm', 'no change, warm cache'],
  ['cold', 'no change, cold cache'],
  ['changed-warm', '1% changed, warm cache'],
  ['changed-cold', '1% changed, cold cache'],
].filter(([id]) => SCENARIO_IDS.length === 0 || SCENARIO_IDS.includes(id))
const work = mkdtempSync(join(tmpdir(), 'collectfasta-bench-'))
const TIME = '/usr/bin/time'
const AWS = '/usr/bin/aws'

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

function has(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Runs a command, returns wall ms, peak RSS (MB, via GNU time when present) and stdout. */
function timed(command, argv, env = process.env) {
  const rssFile = join(work, `rss-${Date.now()}-${Math.random()}`)
  const useTime = existsSync(TIME)
  const [cmd, list] = useTime ? [TIME, ['-f', '%M %U %S', '-o', rssFile, command, ...argv]] : [command, argv]
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, list, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => {
      out += c
    })
    child.stderr.on('data', (c) => {
      err += c
    })
    child.on('exit', (code) => {
      const ms = performance.now() - started
      if (code !== 0) return reject(new Error(`${command} exited ${code}: ${err.slice(-2000)}`))
      const [kb, user, system] = useTime && existsSync(rssFile) ? (readFileSync(rssFile, 'utf8').trim().split('\n').at(-1) ?? '').split(' ').map(Number) : []
      resolve({ ms, rss: kb === undefined ? Number.NaN : kb / 1024, cpu: user === undefined ? Number.NaN : user + (system ?? 0), out })
    })
  })
}

/**
 * The S3 server: fauxqs by default (real multipart ETags). fauxqs takes bodies of 11 MiB at most
 * and refuses rclone's multipart completion, so sites with large media run on s3rver.
 */
async function startServer() {
  const script = fileURLToPath(new URL('../test/servers/s3-server.mjs', import.meta.url))
  const [node, flags] = SERVER === 's3rver' ? [process.execPath, ['--openssl-legacy-provider']] : [nodeAtLeast([22, 5], 'fauxqs'), []]
  const child = spawn(node, [...flags, script, SERVER, BUCKET], { stdio: ['pipe', 'pipe', 'inherit'] })
  const endpoint = await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', (l) => resolve(JSON.parse(l).endpoint)))
  return { endpoint, stop: () => child.kill('SIGTERM') }
}

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

/** Removes everything under a prefix (untimed, straight to the server). */
async function clearPrefix(client, prefix) {
  let token
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }))
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key }))
    if (keys.length) await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys, Quiet: true } }))
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
}

/** The contender an id names: `ours-outdir@32`, `rclone`, `rclone-default`, `aws@10`… */
function contenderFor(id, proxyUrl) {
  const [base, at] = id.split('@')
  const atDefaults = base.endsWith('-default')
  const kind = base.replace(/-default$/, '')
  const concurrency = at === undefined ? CONCURRENCY : Number(at)
  const env = { ...process.env }
  delete env.AWS_CA_BUNDLE
  if (kind.startsWith('ours-')) {
    // ours-sdk: the same deploy with a user's own S3Client (the `client` option), every request
    // through the AWS SDK: the CPU column shows the lean transport and the SDK side by side.
    const profiling = (profileDir) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])
    if (kind === 'ours-cli' || kind === 'ours-base') {
      // ours-base: the same command from another build (`--base path/to/dist/cli.js`), in the same run.
      const cli = kind === 'ours-base' ? BASE_CLI : join(here, '../dist/cli.js')
      if (!cli) throw new Error('ours-base needs --base path/to/dist/cli.js')
      // As a user runs it: the command, credentials in the environment, its compile cache on.
      return {
        name: `ours (the collectfasta command${kind === 'ours-base' ? ' of --base' : ''}, concurrency ${concurrency})`,
        usesCache: true,
        run: async ({ dir, prefix, cacheDir, profileDir }) => {
          const argv = ['deploy', dir, '--to', `s3://${BUCKET}/${prefix}`, '--endpoint', proxyUrl, '--cache-dir', cacheDir, '--concurrency', `${concurrency}`, '--json']
          const cliEnv = { ...env, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_REGION: 'us-east-1' }
          const { ms, rss, cpu, out } = await timed(process.execPath, [...profiling(profileDir), cli, ...argv], cliEnv)
          const report = JSON.parse(out)
          return { ms, rss, cpu, deployMs: report.durationMs, uploadedKeys: report.uploaded.map((u) => u.key.slice(prefix.length)) }
        },
      }
    }
    const mode = { 'ours-bundle': 'bundle', 'ours-outdir': 'outDir', 'ours-vite': 'vite', 'ours-sdk': 'outDir' }[kind]
    if (!mode) return undefined
    const sdk = kind === 'ours-sdk'
    return {
      name: `ours (${mode === 'bundle' ? 'deploy(), bytes in memory' : mode === 'outDir' ? 'deploy(), source outDir' : 'plugin in vite build'}${sdk ? ', through the AWS SDK' : ''}, concurrency ${concurrency})`,
      usesCache: true,
      run: async ({ dir, prefix, cacheDir, profileDir }) => {
        const appDir = join(work, 'app')
        mkdirSync(appDir, { recursive: true })
        const job = { mode, dir, prefix, bucket: BUCKET, endpoint: proxyUrl, cacheDir, concurrency, appDir, sdk }
        const { ms, rss, cpu, out } = await timed(process.execPath, [...profiling(profileDir), join(here, 'worker.mjs'), JSON.stringify(job)], env)
        const result = JSON.parse(out.trim().split('\n').at(-1))
        return { ms, rss, cpu, deployMs: result.deployMs, uploadedKeys: result.uploadedKeys }
      },
    }
  }
  if (kind === 'sdk-loop') {
    return {
      name: `bare SDK PutObject loop (concurrency ${concurrency})`,
      only: ['first'],
      run: ({ dir, prefix }) =>
        timed(process.execPath, [join(here, 'sdk-loop.mjs'), JSON.stringify({ dir, prefix, bucket: BUCKET, endpoint: proxyUrl, concurrency })]),
    }
  }
  // A peer at its defaults keeps no state of its own: the objects it would have stored are put
  // there, untimed, by the same tool at the matched concurrency (minutes less per run at 20 ms).
  const seed = atDefaults ? contenderFor(`${kind}@${CONCURRENCY}`, proxyUrl) : undefined
  if (kind === 'rclone') {
    const flags = atDefaults ? [] : ['--transfers', `${concurrency}`, '--checkers', `${concurrency}`]
    return {
      seed,
      name: `rclone sync --checksum --fast-list ${atDefaults ? '(defaults: 4 transfers, 8 checkers)' : `--transfers ${concurrency}`}`,
      missing: has('rclone') ? undefined : 'apt-get install -y rclone',
      run: ({ dir, prefix }) =>
        timed('rclone', ['sync', dir, `bench:${BUCKET}/${prefix}`, '--checksum', '--fast-list', ...flags, '--s3-no-check-bucket'], {
          ...env,
          RCLONE_CONFIG_BENCH_TYPE: 's3',
          RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
          RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: credentials.accessKeyId,
          RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          RCLONE_CONFIG_BENCH_ENDPOINT: proxyUrl,
          RCLONE_CONFIG_BENCH_REGION: 'us-east-1',
          RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
        }),
    }
  }
  if (kind === 'aws') {
    const requests = atDefaults ? 10 : concurrency
    const awsConfig = join(work, `aws-config-${requests}`)
    writeFileSync(
      awsConfig,
      `[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = ${requests}\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n  addressing_style = path\n`,
    )
    return {
      seed,
      name: `aws s3 sync (max_concurrent_requests ${requests}${atDefaults ? ', its default' : ''})`,
      missing: existsSync(AWS) ? undefined : 'apt-get install -y awscli',
      run: ({ dir, prefix }) =>
        timed(AWS, ['s3', 'sync', dir, `s3://${BUCKET}/${prefix}`, '--endpoint-url', proxyUrl, '--no-progress', '--only-show-errors'], {
          ...env,
          AWS_CONFIG_FILE: awsConfig,
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        }),
    }
  }
  return undefined
}

/** Throughput of the hashing path and the cache on this machine: the floor of a no-change deploy. */
async function micro() {
  const { loadHasher, md5Hex } = await import('../dist/hash.js')
  const { ChecksumCache } = await import('../dist/core/cache.js')
  const hash = await loadHasher()
  const data = Buffer.alloc(64 * 1024 * 1024)
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i)
  const rate = (fn) => {
    fn(data)
    const started = performance.now()
    for (let i = 0; i < 3; i++) fn(data)
    return (3 * data.length) / 1e6 / ((performance.now() - started) / 1000)
  }
  const dir = join(work, 'micro-cache')
  const cache = ChecksumCache.load(dir, 's3://bench/', () => {})
  for (let i = 0; i < 10_000; i++) cache.set(`assets/chunk-${i}-abcdefgh.js`, [createHash('md5').update(`${i}`).digest('hex').slice(0, 16), 'f00dfeedf00dfeed', 1000 + i, '', ''])
  let started = performance.now()
  await cache.save()
  const saveMs = performance.now() - started
  started = performance.now()
  const loaded = ChecksumCache.load(dir, 's3://bench/', () => {})
  const loadMs = performance.now() - started
  if (loaded.size !== 10_000) throw new Error('cache round trip lost entries')
  // A deploy manifest of 100,000 files (three deploys of history), read and validated.
  const { parseManifest } = await import('../dist/core/deploy-manifest.js')
  const files = {}
  const paths = []
  for (let i = 0; i < 100_000; i++) {
    files[`assets/chunk-${i}.js`] = { xxh64: i.toString(16).padStart(16, '0'), headers: 'f00d', size: i, md5: '', version: `"${i}"` }
    paths.push(`assets/chunk-${i}.js`)
  }
  const deploys = ['a', 'b', 'c'].map((at) => ({ at, paths, site: 'bench' }))
  const manifestBytes = Buffer.from(JSON.stringify({ format: 1, tool: 'vite-plugin-collectfasta', deploys, files }))
  started = performance.now()
  if (Object.keys(parseManifest(manifestBytes).files).length !== 100_000) throw new Error('manifest round trip lost entries')
  const manifestMs = performance.now() - started
  return { xxh64: rate(hash), md5: rate(md5Hex), saveMs, loadMs, manifestMs, manifestMB: manifestBytes.length / 1e6 }
}

/** The main thread's profile in a folder of `--cpu-prof` output (thread id 0 in the name). */
function mainThreadProfiles(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name))
    .map((name) => join(dir, name))
}

const ANALYSIS_MARKER = '<!-- analysis: written by hand, kept across runs -->'
const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')

async function main() {
  const server = await startServer()
  const admin = new S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials, requestChecksumCalculation: 'WHEN_REQUIRED' })
  const rows = []
  const notes = []
  const proxies = []
  try {
    for (const rtt of RTTS) {
    // One proxy per round trip: every chunk, each way, is held rtt/2 ms (see test/servers/proxy.mjs).
    const proxy = await recordingProxy(server.endpoint, { oneWayMs: rtt / 2 })
    proxies.push(proxy)
    for (const size of SIZES) {
      if (!runsAt(size, rtt)) continue
      const dir = join(work, `site-${size}`)
      const { paths, bytes } = generate(dir, size)
      console.error(`# ${size}: ${paths.length} files, ${(bytes / 1e6).toFixed(1)} MB, RTT ${rtt} ms`)
      for (const id of CONTENDERS) {
        const contender = contenderFor(id, proxy.url)
        if (!contender) throw new Error(`unknown contender ${id}`)
        if (contender.missing) {
          if (!notes.some((n) => n.startsWith(contender.name))) notes.push(`${contender.name}: skipped, not installed (\`${contender.missing}\`).`)
          continue
        }
        for (const [scenario, label] of SCENARIOS) {
          if (contender.only && !contender.only.includes(scenario)) continue
          const samples = []
          for (let run = 1; run <= RUNS; run++) {
            const prefix = `${id}-${size}-${scenario}-${run}-${Date.now().toString(36)}/`
            const cacheDir = join(work, `cache-${id}-${size}-${scenario}-${run}`)
            if (scenario !== 'first') await (contender.seed ?? contender).run({ dir, prefix, cacheDir })
            const change = scenario.startsWith('changed') ? mutate(dir, paths, 0.01) : undefined
            if (scenario.endsWith('cold')) rmSync(cacheDir, { recursive: true, force: true })
            proxy.reset()
            // Only the timed run is profiled (not the seeding one), one folder per run.
            const profileDir = PROFILE && id.startsWith('ours') ? join(PROFILE_DIR, `${size}-rtt${rtt}-${id}-${scenario}-${run}`) : undefined
            if (profileDir) rmSync(profileDir, { recursive: true, force: true })
            try {
              const result = await contender.run({ dir, prefix, cacheDir, profileDir })
              samples.push({ ...result, requests: proxy.summary(), changed: change?.changed, profileDir })
            } finally {
              change?.restore()
            }
            await clearPrefix(admin, prefix)
            rmSync(cacheDir, { recursive: true, force: true })
            console.error(`  ${id} ${scenario} RTT ${rtt} #${run}: ${fmt(samples.at(-1).ms / 1000)} s`)
          }
          const mid = samples.find((s) => s.ms === median(samples.map((x) => x.ms)))
          const extra = mid.changed && mid.uploadedKeys ? mid.uploadedKeys.filter((k) => !mid.changed.includes(k)) : []
          const range = [Math.min(...samples.map((x) => x.ms)), Math.max(...samples.map((x) => x.ms))]
          const profiles = samples.flatMap((s) => (s.profileDir ? mainThreadProfiles(s.profileDir) : []))
          rows.push({ rtt, size, files: paths.length, id, name: contender.name, scenario, label, ...mid, range, extraUploads: extra, profile: profiles.length ? { files: profiles, summary: summarizeFiles(profiles) } : undefined })
        }
      }
    }
    }
  } finally {
    for (const proxy of proxies) await proxy.close()
    admin.destroy()
    server.stop()
  }
  const microResult = await micro()
  rmSync(work, { recursive: true, force: true })
  // Azure Blob Storage on Azurite, both transports (bench/azure.mjs); --no-azure leaves it out.
  const azure = args.includes('--no-azure') ? '' : `\n${await (await import('./azure.mjs')).azureSection({ runs: RUNS })}`
  const markdown = render(rows, notes, microResult) + azure
  console.log(markdown)
  // --no-write: a selection of cells, printed only (RESULTS.md keeps the full run's tables).
  if (!quick && !args.includes('--no-write')) {
    // The hand-written analysis below the marker survives a new run; the tables are replaced.
    const file = join(here, 'RESULTS.md')
    const previous = existsSync(file) ? readFileSync(file, 'utf8') : ''
    const marker = previous.indexOf(ANALYSIS_MARKER)
    writeFileSync(file, `${markdown}\n${marker >= 0 ? previous.slice(marker) : `${ANALYSIS_MARKER}\n`}`)
    // The chart in docs/ is drawn from the tables just written, so it never shows other numbers.
    console.error(`# chart: ${writeChart(markdown)}`)
  }
}

function render(rows, notes, m) {
  const cpu = cpus()
  const lines = [
    '# Benchmark results',
    '',
    `Machine: ${cpu.length} cores (${cpu[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
    `Command: \`npm run bench\` (= \`node bench/run.mjs --runs ${RUNS} --sizes ${SIZES.join(',')} --rtt ${RTTS.join(',')}\`${RTT_GIVEN ? '' : `; ${FAR_RTT} ms for the small site only`}), median of ${RUNS} run(s) per cell.`,
    `Server: ${SERVER === 's3rver' ? 's3rver 3.7.1' : 'fauxqs 2.4.1'} on loopback, behind a recording proxy that counts every request and holds every chunk, each way, half the round trip (RTT). Contenders at the concurrency in their name, or at their own defaults; multipart threshold and part size 5 MiB for ours and aws; rclone at its own (multipart from 200 MiB: on fauxqs, which refuses rclone's multipart completion, every file of the small and large sites is below it).`,
    'CPU is the client process’s user + system seconds, per 1,000 requests it made.',
    'Wall time is the whole process (start-up included); "in deploy" is the time inside `deploy()` or, for the vite build, inside the plugin hook.',
    '',
  ]
  for (const rtt of RTTS)
  for (const size of SIZES) {
    const sized = rows.filter((r) => r.size === size && r.rtt === rtt)
    if (!sized.length) continue
    lines.push(`## ${size}: ${sized[0].files} files (${PROFILES[size].files} planned), RTT ${rtt} ms`, '')
    for (const [scenario, label] of SCENARIOS) {
      const cells = sized.filter((r) => r.scenario === scenario)
      const rclone = cells.find((r) => r.id === 'rclone')
      lines.push(`### ${label}`, '', '| contender | wall s | range s | in deploy ms | × rclone | LIST | HEAD | GET | PUT/part | DELETE | MB up | CPU s / 1k req | CPU s | peak RSS MB |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
      for (const r of cells) {
        const q = r.requests
        const ratio = rclone ? fmt(r.ms / rclone.ms) : 'n/a'
        const total = q.LIST + q.HEAD + q.GET + q.PUT + q.DELETE
        // Per 1,000 requests means something only over many: below 100 it is start-up time.
        const cpu = total >= 100 ? fmt(r.cpu / (total / 1000)) : '—'
        const range = r.range ? `${fmt(r.range[0] / 1000)}–${fmt(r.range[1] / 1000)}` : ''
        lines.push(`| ${r.name} | ${fmt(r.ms / 1000)} | ${range} | ${r.deployMs === undefined ? '—' : Math.round(r.deployMs)} | ${ratio} | ${q.LIST} | ${q.HEAD} | ${q.GET} | ${q.PUT} | ${q.DELETE} | ${fmt(q.bytes / 1e6, 1)} | ${cpu} | ${fmt(r.cpu)} | ${fmt(r.rss, 0)} |`)
      }
      for (const r of cells.filter((c) => c.profile)) {
        lines.push('', `<details><summary>CPU profile: ${r.name}, mean of ${r.profile.files.length} run(s)</summary>`, '', profileTables(r.profile.summary, { top: 20 }), '', '</details>')
      }
      if (scenario.startsWith('changed')) {
        const ours = cells.filter((r) => r.id.startsWith('ours'))
        for (const r of ours) {
          lines.push('', `${r.name}: ${r.uploadedKeys?.length ?? '?'} files uploaded for ${r.changed?.length ?? '?'} changed${r.extraUploads?.length ? `; others: ${r.extraUploads.join(', ')}` : ' (exactly the changed files)'}.`)
        }
      }
      lines.push('')
    }
  }
  lines.push(
    '## Hashing and cache floor',
    '',
    `xxh64 (xxhash-wasm): ${fmt(m.xxh64, 0)} MB/s · MD5 (node:crypto): ${fmt(m.md5, 0)} MB/s · cache of 10,000 entries: save ${fmt(m.saveMs, 1)} ms, load ${fmt(m.loadMs, 1)} ms · deploy manifest of 100,000 files (${fmt(m.manifestMB, 1)} MB) parsed and validated in ${fmt(m.manifestMs, 0)} ms.`,
    '',
  )
  if (notes.length) lines.push('## Skipped', '', ...notes.map((n) => `- ${n}`), '')
  return lines.join('\n')
}

await main()
