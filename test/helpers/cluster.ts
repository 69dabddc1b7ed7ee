// Runs the built entry point (dist/main.js) in cluster mode as a child process, the way an
// operator runs it: started with a config file, on the port it reports listening on, killed
// when the test ends (and in any case after a while, so a hung test never leaves it behind).

import type { Test } from 'tap'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'

const entry = join(import.meta.dirname, '..', '..', 'dist', 'main.js')

export interface Cluster {
  /** The primary, to signal (SIGHUP, SIGUSR2, SIGTERM). */
  readonly child: ChildProcessWithoutNullStreams
  readonly port: number
  /** Everything the cluster wrote so far, stdout and stderr. */
  readonly log: () => string
  /** The primary's exit code. */
  readonly exited: Promise<number | null>
}

export interface ClusterOptions {
  /** LOG_LEVEL (default info). */
  readonly logLevel?: string
  /** The safety net: the child is killed after this long whatever happens (default 120 s). */
  readonly killAfterMs?: number
}

/** Starts `node dist/main.js --config <config>` and resolves once it listens; rejects if it exits first. */
export async function startCluster (t: Test, config: string, opts: ClusterOptions = {}): Promise<Cluster> {
  const child = spawn(process.execPath, [entry, '--config', config], { env: { ...process.env, LOG_LEVEL: opts.logLevel ?? 'info' } })
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 120_000)
  t.teardown(() => { child.kill('SIGKILL') })
  let out = ''
  child.stderr.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { clearTimeout(killer); resolve(code) }))
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /listening on 127\.0\.0\.1:(\d+) with \d+ workers/.exec(out)
      if (m !== null) resolve(Number(m[1]))
    })
    child.on('exit', () => reject(new Error(`exited early: ${out}`)))
  })
  return { child, port, log: () => out, exited }
}

/** Polls `cond` every 50 ms; false if it has not held after 10 s. */
export async function until (cond: () => Promise<boolean> | boolean): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return false
}
