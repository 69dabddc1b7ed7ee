// Runs the built `mirrorgate` CLI (dist/cli/main.js) as a process. `npm test` builds dist/
// first; a build older than the sources is rebuilt here (type errors elsewhere still emit).

import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)
export const root = join(import.meta.dirname, '..', '..')
export const entry = join(root, 'dist', 'cli', 'main.js')

function newest (dir: string): number {
  return Math.max(...readdirSync(dir).map((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? newest(p) : statSync(p).mtimeMs
  }))
}

export async function ensureBuilt (): Promise<void> {
  if (existsSync(entry) && statSync(entry).mtimeMs >= newest(join(root, 'src'))) return
  await exec(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { cwd: root }).catch(() => {})
}

export interface Exit { readonly code: number | null, readonly stdout: string, readonly stderr: string }

export interface RunOptions {
  readonly cwd?: string
  readonly env?: Record<string, string | undefined>
  /** Called with each line of stdout as it comes, and the child (to signal it). */
  readonly onLine?: (line: string, child: ChildProcess) => void
  readonly timeoutMs?: number
}

/** Runs `mirrorgate ...args` to its end; MIRRORGATE_CONFIG is cleared unless given. */
export function mirrorgate (args: readonly string[], opts: RunOptions = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, MIRRORGATE_CONFIG: undefined, ...opts.env }
    const child = spawn(process.execPath, [entry, ...args], { cwd: opts.cwd ?? root, env })
    let stdout = ''
    let stderr = ''
    let partial = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
      if (opts.onLine === undefined) return
      const lines = (partial + c.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) opts.onLine(line, child)
    })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('error', reject)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}
