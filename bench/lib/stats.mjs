// Small numeric and formatting helpers.

export function median (values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

export const sum = (values) => values.reduce((a, b) => a + (b ?? 0), 0)

export function fmt (x, digits = 0) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-'
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function fmtBytes (b) {
  if (b === null || b === undefined) return '-'
  return `${(b / 1048576).toFixed(0)} MiB`
}

/** A fixed-width text table (and the same rows as markdown). */
export function table (header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')
  const text = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
  const md = [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
  return { text, md }
}
