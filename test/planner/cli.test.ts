// `npm run simulate` as a process (dist/planner/main.js; `npm test` builds dist/ first, and a
// stale build is rebuilt here): help, bad input with a clear one-line message and exit 2, and a
// small plan written to --out.

import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')
const entry = join(root, 'dist', 'planner', 'main.js')

/** Builds dist/ when the planner's build is missing or older than its sources (type errors elsewhere still emit). */
async function ensureBuilt (): Promise<void> {
  const src = join(root, 'src', 'planner')
  const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs))
  if (existsSync(entry) && statSync(entry).mtimeMs >= newest) return
  await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { cwd: root }).catch(() => {})
}

interface Exit { code: number, stdout: string, stderr: string }

async function simulate (args: string[]): Promise<Exit> {
  try {
    const { stdout, stderr } = await run(process.execPath, [entry, ...args], { cwd: root, timeout: 120_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

await ensureBuilt()

t.test('--help prints the usage and exits 0', async (t) => {
  const r = await simulate(['--help'])
  t.equal(r.code, 0)
  t.match(r.stdout, /^usage: npm run simulate -- \[options\]/)
  t.match(r.stdout, /--overlay FILE/)
})

t.test('bad input: one clear line on stderr, exit 2, nothing on stdout', async (t) => {
  const dir = t.testdir({
    'bad.csv': 'country,weight\nUS,10\nDE 5\n',
    'unknown.yaml': 'enable: [osso-nl, no-such-mirror]\n',
    'bad-budget.yaml': 'budgets:\n  osso-nl: { megabitsPerSecond: fast }\n'
  })
  const cases: Array<[string, string[], RegExp]> = [
    ['a missing table', ['--table', join(dir, 'nope.yaml')], /^simulate: .*nope\.yaml: cannot read the table: ENOENT/],
    ['a missing demand file', ['--demand', join(dir, 'nope.csv')], /nope\.csv: cannot read the demand file/],
    ['a bad CSV line', ['--demand', join(dir, 'bad.csv')], /bad\.csv:3: "DE 5" is not "<country>,<weight>"/],
    ['an unknown overlay id', ['--overlay', join(dir, 'unknown.yaml')], /unknown\.yaml: enable: no mirror "no-such-mirror" in the table/],
    ['a budget that is not a number', ['--overlay', join(dir, 'bad-budget.yaml')], /mirrors\[0\]\.budget\.megabitsPerSecond/],
    ['a missing overlay', ['--overlay', join(dir, 'gone.yaml')], /gone\.yaml: cannot read the overlay/],
    ['a volume that is not a number', ['--volume', 'lots'], /--volume: "lots" is not a number/],
    ['a share above 1', ['--share', '2'], /--share: "2" is not a number from 0\.0001 to 1/],
    ['an unknown option', ['--budget', '3'], /Unknown option '--budget'.*--help for usage/]
  ]
  for (const [what, args, message] of cases) {
    const r = await simulate(args)
    t.equal(r.code, 2, `${what}: exit 2`)
    t.match(r.stderr, message, `${what}: says so`)
    t.equal(r.stderr.trim().split('\n').length, 1, `${what}: in one line`)
    t.equal(r.stdout, '', `${what}: no plan`)
  }
})

t.test('a small plan: Markdown on stdout, the same written to --out with its SVG', async (t) => {
  const dir = t.testdir({})
  const r = await simulate(['--overlay', 'data/examples/sponsors-first.yaml', '--volume', '300', '--networks', '2000', '--requests', '20000', '--out', dir, '--name', 'small'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^# Plan: sponsors-first\n/)
  t.match(r.stdout, /\| horizoniq-apac \| t1 \| full \| 400 Mbit\/s \|/)
  t.equal(readFileSync(join(dir, 'small.md'), 'utf8'), r.stdout)
  t.match(readFileSync(join(dir, 'small.svg'), 'utf8'), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  // At least four load windows are counted, whatever --requests asks: 4 x 20 s x 300/s.
  t.match(r.stderr, /\b24000 requests counted in/)
})
