// The validators (src/config/validate.ts) stop at the first problem and say it as one message,
// "<catalogue text>: <file>: <field>: <what>". This splits such a message back into the field
// and what is wrong, so `check` can put each problem on its line.

import { ERRORS, MgError } from '../errors.js'

export interface FieldProblem { readonly field: string, readonly message: string }

export function fieldProblem (err: unknown, file: string): FieldProblem {
  if (!(err instanceof MgError)) return { field: '', message: `internal error: ${(err as Error).stack ?? String(err)}` }
  let text = err.message
  const lead = `${ERRORS[err.code].message}: `
  if (text.startsWith(lead)) text = text.slice(lead.length)
  if (!text.startsWith(`${file}: `)) return { field: '', message: text }
  text = text.slice(file.length + 2)
  // The field comes first; its names are YAML keys, which do not hold ': ' in any table we read.
  const cut = text.indexOf(': ')
  return cut < 0 ? { field: '', message: text } : { field: text.slice(0, cut), message: text.slice(cut + 2) }
}
