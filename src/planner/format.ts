// Numbers for people, the same on every machine (no locale): 12,345.6 and 12.34%.

export function num (n: number, digits = 1): string {
  const [whole, fraction] = Math.abs(n).toFixed(digits).split('.') as [string, string | undefined]
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return (n < 0 && Number(Math.abs(n).toFixed(digits)) !== 0 ? '-' : '') + grouped + (fraction === undefined ? '' : '.' + fraction)
}

export function pct (share: number, digits = 2): string {
  return `${num(share * 100, digits)}%`
}

/** A budget as written: "400 Mbit/s", "200 req/s", or both. */
export function budgetText (budget: { readonly requestsPerSecond: number | null, readonly megabitsPerSecond: number | null } | null): string {
  if (budget === null) return '—'
  const parts: string[] = []
  if (budget.megabitsPerSecond !== null) parts.push(`${num(budget.megabitsPerSecond, 0)} Mbit/s`)
  if (budget.requestsPerSecond !== null) parts.push(`${num(budget.requestsPerSecond, 0)} req/s`)
  return parts.join(' + ')
}
