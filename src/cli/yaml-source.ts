// A YAML file read for checking: its value as the service would parse it, and the line each
// field came from, so a problem can be reported as `file:line: field: message`.

import { readFileSync } from 'node:fs'
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'

/** One problem in a file: the line (1-based), the field (`mirrors[3].urls[0]`; '' for the file), what is wrong. */
export interface Problem {
  readonly file: string
  readonly line: number
  readonly field: string
  readonly message: string
}

export interface YamlSource {
  readonly file: string
  /** The parsed value: what `yaml.parse(text, { uniqueKeys: true })` returns. */
  readonly value: unknown
  /** The line a field is written on: the key's line, or the nearest enclosing field's when it is absent. */
  lineOf (field: string): number
}

/** `mirrors[3].urls[0]` as ['mirrors', 3, 'urls', 0]. */
export function fieldPath (field: string): Array<string | number> {
  return [...field.matchAll(/\[(\d+)\]|([^.[\]]+)/g)].map((m) => m[1] !== undefined ? Number(m[1]) : m[2] as string)
}

function nodeLine (doc: Document, counter: LineCounter, field: string): number {
  const lineAt = (node: Node | null | undefined): number | null =>
    node?.range === undefined || node.range === null ? null : counter.linePos(node.range[0]).line
  let node: unknown = doc.contents
  let line = lineAt(doc.contents) ?? 1
  for (const key of fieldPath(field)) {
    if (isAlias(node)) node = node.resolve(doc)
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key))
      if (pair === undefined) break
      line = lineAt(pair.key as Node) ?? line
      node = pair.value
    } else if (isSeq(node) && typeof key === 'number' && key < node.items.length) {
      node = node.items[key]
      line = lineAt(node as Node) ?? line
    } else {
      break
    }
  }
  return line
}

/** First line of a YAML error without the position it repeats ("at line 3, column 5:"). */
function yamlMessage (message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '')
}

/** Reads and parses a YAML file; problems when it cannot be read or is not well-formed YAML. */
export function readYaml (file: string): { ok: true, source: YamlSource } | { ok: false, problems: Problem[] } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    return { ok: false, problems: [{ file, line: 1, field: '', message: `cannot read: ${(err as Error).message}` }] }
  }
  const counter = new LineCounter()
  const doc = parseDocument(text, { uniqueKeys: true, lineCounter: counter })
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const at = e.linePos?.[0]
        return { file, line: at?.line ?? 1, field: '', message: `not valid YAML: ${yamlMessage(e.message)}${at === undefined ? '' : ` (column ${at.col})`}` }
      })
    }
  }
  let value: unknown
  try {
    value = doc.toJS()
  } catch (err) {
    return { ok: false, problems: [{ file, line: 1, field: '', message: `not valid YAML: ${(err as Error).message}` }] }
  }
  return { ok: true, source: { file, value, lineOf: (field) => nodeLine(doc, counter, field) } }
}
