// Alpine's `bandwidth` text ("100 Mbit/s", "1 Gbps", "10G", "10Gbit/s") as megabits a second:
// the port speed a sponsor announced, a starting budget. Forms we cannot read with certainty give
// a problem for review instead of a guess.

export type Bandwidth = { readonly megabitsPerSecond: number, readonly note?: string } | { readonly problem: string }

const PREFIX: Readonly<Record<string, number>> = { k: 0.001, m: 1, g: 1000, t: 1_000_000 }

/** <number> [space] <SI prefix> [unit]: the number and prefix are checked here, the unit below. */
const FORM = /^(\d+(?:[.,]\d+)?)\s*([kKmMgGtT])\s*(\S*)$/
const PER_SECOND = '(?:\\/s|\\/sec|ps)?'
/** Bits: nothing (a bare "10G" is a port speed, and those are quoted in bits), "bit…" in any case, or a lowercase b. */
const BITS = new RegExp(`^(?:|[bB][iI][tT][sS]?${PER_SECOND}|b${PER_SECOND})$`)
/** Bytes: "byte…" in any case, or a capital B. */
const BYTES = new RegExp(`^(?:[bB][yY][tT][eE][sS]?${PER_SECOND}|B${PER_SECOND})$`)

export function parseBandwidth (text: string): Bandwidth {
  const m = FORM.exec(text.trim())
  const unit = m?.[3] ?? ''
  const bits = BITS.test(unit)
  if (m === null || (!bits && !BYTES.test(unit))) {
    return { problem: `bandwidth "${text}" is not a form we read (such as "100 Mbit/s", "1 Gbps", "10G")` }
  }
  const value = Number((m[1] as string).replace(',', '.'))
  const scale = PREFIX[(m[2] as string).toLowerCase()] as number
  const megabitsPerSecond = Math.round(value * scale * (bits ? 1 : 8) * 1000) / 1000
  if (!(megabitsPerSecond >= 0.001 && megabitsPerSecond <= 1e9)) return { problem: `bandwidth "${text}" is out of range` }
  // Bytes are rare in port speeds and easily a slip of the shift key: read, but flagged.
  return bits ? { megabitsPerSecond } : { megabitsPerSecond, note: `bandwidth "${text}" read as bytes a second (${megabitsPerSecond} Mbit/s)` }
}
