// Process plumbing for the HTTP benchmark: spawning pinned processes, reading their CPU time
// and peak memory from /proc, counting accepted TCP connections, waiting for readiness.

import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
  const n = Number(r.stdout?.trim())
  return Number.isFinite(n) && n > 0 ? n : 100
})()

/** Every child process started through this module and still running. */
export const children = new Set()

function track (child) {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

export const hasTaskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0

/** The command prefix that pins to one CPU, or nothing when taskset is missing or pinning is off. */
export function pinned (cpu, command, args, enabled = true) {
  if (!enabled || !hasTaskset || cpu === null) return [command, args]
  return ['taskset', ['-c', String(cpu), command, ...args]]
}

export function which (command) {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

export async function freePort () {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })
}

/** CPU seconds (user + system, all threads) a process has used so far, or null once it is gone. */
export function cpuSeconds (pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / CLK_TCK // utime, stime
  } catch {
    return null
  }
}

/** Busy and total jiffies per CPU from /proc/stat: { cpu0: {busy, total}, ... }. */
export function cpuTimes () {
  const out = {}
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(line)
    if (m === null) continue
    const v = m[2].split(/\s+/).map(Number)
    const idle = v[3] + (v[4] ?? 0) // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0) // up to steal
    out[m[1]] = { busy: total - idle, total }
  }
  return out
}

/** Percent busy per CPU between two cpuTimes() readings. */
export function cpuBusy (a, b) {
  const out = {}
  for (const k of Object.keys(b)) {
    if (a[k] === undefined) continue
    const total = b[k].total - a[k].total
    out[k] = total > 0 ? Math.round(((b[k].busy - a[k].busy) / total) * 1000) / 10 : null
  }
  return out
}

function statusField (pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? null : Number(m[1]) * 1024
  } catch {
    return null
  }
}

/** Peak resident set size in bytes (VmHWM), or null. */
export const peakRss = (pid) => statusField(pid, 'VmHWM')
export const currentRss = (pid) => statusField(pid, 'VmRSS')

/** Resets VmHWM to the current RSS (Linux >= 4.0, own process or root). True when it worked. */
export function resetPeakRss (pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/** One counter from a /proc/net table file (a names line and a values line per prefix). */
function netCounter (file, prefix, name) {
  try {
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith(prefix))
    const names = lines[0].split(/\s+/)
    const values = lines[1].split(/\s+/)
    return Number(values[names.indexOf(name)])
  } catch {
    return null
  }
}

/** TCP connections this network namespace has accepted so far (PassiveOpens in /proc/net/snmp). */
export const passiveOpens = () => netCounter('/proc/net/snmp', 'Tcp:', 'PassiveOpens')

/** Counters from /proc/net/netstat that explain connection trouble (listen queue overflows). */
export const listenDrops = () => netCounter('/proc/net/netstat', 'TcpExt:', 'ListenDrops')

/**
 * Starts a long-running process. Keeps the last lines of its output for error reports.
 * @returns {{ child, pid, output: () => string, exited: Promise<number|null> }}
 */
export function startProcess (command, args, { env, cwd } = {}) {
  const child = track(spawn(command, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] }))
  const tail = []
  const keep = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (line === '') continue
      tail.push(line)
      if (tail.length > 40) tail.shift()
    }
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  return { child, pid: child.pid, output: () => tail.join('\n'), exited }
}

/** Stops a process we started: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess (proc, graceMs = 3000) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return
  proc.child.kill('SIGTERM')
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs)
  await proc.exited
  clearTimeout(timer)
}

/** Polls `check()` until it returns true, the process dies, or `timeoutMs` passes. */
export async function waitUntil (check, proc, timeoutMs, what, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs
  let lastError = null
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${what} exited before it was ready:\n${proc.output()}`)
    }
    try {
      if (await check()) return
    } catch (err) {
      lastError = err
    }
    await sleep(intervalMs)
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms${lastError ? ` (${lastError.message})` : ''}:\n${proc.output()}`)
}

/** Runs a command to completion with a hard time limit; resolves { code, stdout, stderr }. */
export function runToEnd (command, args, { timeoutMs, env, onStdout, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }))
    onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => { stdout += c; onStdout?.(c.toString(), child) })
    child.stderr.on('data', (c) => { stderr += c })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (err) => { clearTimeout(timer); reject(err) })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? signal, stdout, stderr })
    })
  })
}

/**
 * Runs the rest of this script inside a private network namespace with only loopback
 * (`unshare --net`), so that the kernel's TCP counters, which tell how many connections a run
 * opened, see only the benchmark's own connections (not a test suite's running alongside), and
 * ports cannot collide. The first call re-runs the script in the namespace and never returns
 * (the inner run's exit code becomes this process's); inside it, or when that is off or not
 * possible, it returns { private, note }: note says what that means for the report, or is null.
 */
export async function enterPrivateNetns ({ disabled = false } = {}) {
  const ENV = 'MIRRORGATE_BENCH_NETNS'
  if (process.env[ENV] !== undefined) return { private: true, note: null }
  if (disabled) return { private: false, note: 'ran in the shared network namespace (--no-netns): connection counts include other processes\' connections' }
  const can = which('unshare') !== null && which('ip') !== null &&
    spawnSync('unshare', ['--net', '--', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' }).status === 0
  if (can) {
    const inner = spawn('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...process.argv.slice(1)],
      { stdio: 'inherit', env: { ...process.env, [ENV]: '1' } })
    for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => inner.kill(sig))
    inner.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
    await new Promise(() => {}) // the inner run decides the exit code
  }
  return { private: false, note: 'no private network namespace (unshare/ip unavailable or not permitted): connection counts include other processes\' connections' }
}

/** On SIGINT or SIGTERM: kill every child process started here (servers, load generators) and exit. */
export function stopChildrenOnSignal (prefix) {
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      console.error(`\n${prefix}: ${sig}: stopping ${children.size} child process(es)`)
      for (const c of children) c.kill('SIGKILL')
      process.exit(130)
    })
  }
}

/**
 * Waits (bounded) until every CPU is below `busyPercent` over a 1 s window, so that a run does
 * not start while other work (a test suite, a build) holds the CPUs.
 * @returns {{ waitedMs: number, busy: object, quiet: boolean }}
 */
export async function waitForQuiet ({ maxMs, busyPercent = 30, windowMs = 1000 }) {
  const start = Date.now()
  for (;;) {
    const a = cpuTimes()
    await sleep(windowMs)
    const busy = cpuBusy(a, cpuTimes())
    const quiet = Object.values(busy).every((b) => b === null || b < busyPercent)
    if (quiet || Date.now() - start >= maxMs) return { waitedMs: Date.now() - start, busy, quiet }
  }
}
