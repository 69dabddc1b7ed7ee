// The layout's promises, checked on the source itself: core/ is pure (it imports nothing
// outside core/ and no Node built-in that does I/O), and no module imports itself in a circle.

import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')

function sources (dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })
}

/** Each source file (relative to the repository) and what it imports: relative modules resolved, packages as named. */
function importGraph (): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8')
    const specs = [...text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1] as string)
    graph.set(relative(root, file), specs.map((s) => s.startsWith('.') ? relative(root, resolve(dirname(file), s.replace(/\.js$/, '.ts'))) : s))
  }
  return graph
}

function cycles (graph: Map<string, string[]>): string[] {
  const found: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (node: string): void => {
    state.set(node, 'open')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next].join(' -> '))
      else if (!state.has(next) && graph.has(next)) visit(next)
    }
    stack.pop()
    state.set(node, 'done')
  }
  for (const node of graph.keys()) if (!state.has(node)) visit(node)
  return found
}

const graph = importGraph()

t.test('the graph is read: every module and its imports', async (t) => {
  t.ok(graph.size >= 40, `${graph.size} modules`)
  t.ok(graph.get('src/redirector.ts')?.includes('src/core/selection.ts'), 'relative imports resolve to files')
  t.ok(graph.get('src/redirector.ts')?.includes('lru-cache'), 'packages keep their names')
})

t.test('core/ imports only core/ (no config, no I/O, no packages)', async (t) => {
  const leaks: string[] = []
  for (const [file, deps] of graph) {
    if (!file.startsWith('src/core/')) continue
    for (const d of deps) if (!d.startsWith('src/core/')) leaks.push(`${file} imports ${d}`)
  }
  t.same(leaks, [])
})

t.test('no import circles', async (t) => {
  t.same(cycles(graph), [])
  // The check itself: a circle drawn by hand is found.
  t.same(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), ['a -> b -> c -> a'])
})
