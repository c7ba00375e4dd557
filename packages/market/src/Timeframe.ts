/**
 * Bar timeframes: `1s`, `1m`, `5m`, `1h`, `1d` and any other whole number of seconds, minutes, hours
 * or days that divides a day evenly, so that every interval is aligned to the Unix epoch and a day's
 * bars start at 00:00 UTC. In records a timeframe is its length in ms (`Bar.timeframeMs`).
 *
 * @example
 * ```ts
 * import { Timeframe } from "@velox/market"
 *
 * Timeframe.parse("5m") // 300000
 * Timeframe.format(3_600_000) // "1h"
 * Timeframe.parse("7m") // undefined: 7 minutes do not divide a day
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * One day in ms: the longest timeframe, and every timeframe divides it.
 *
 * @category models
 * @since 0.1.0
 */
export const DAY_MS = 86_400_000

/**
 * The timeframes a tick server keeps unless told otherwise.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULTS: ReadonlyArray<string> = ["1s", "1m", "5m", "1h", "1d"]

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS } as const

/**
 * @category guards
 * @since 0.1.0
 */
export const isValidMs = (ms: number): boolean => Number.isInteger(ms) && ms >= 1_000 && ms % 1_000 === 0 && DAY_MS % ms === 0

/**
 * A timeframe's length in ms, or undefined for text that is not one (`5m` → 300000).
 *
 * @category constructors
 * @since 0.1.0
 */
export const parse = (text: string): number | undefined => {
  const m = /^([1-9][0-9]{0,5})([smhd])$/.exec(text.trim())
  if (m === null) return undefined
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
  return isValidMs(ms) ? ms : undefined
}

/**
 * A timeframe's name: the largest unit that divides it (`300000` → `5m`, `5400000` → `90m`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const format = (ms: number): string => {
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`
  }
  return `${ms}ms`
}

/**
 * A timeframe in ms as a Schema (stage configs): an integer number of seconds that divides a day.
 *
 * @category models
 * @since 0.1.0
 */
export const Ms = Schema.Int.check(
  Schema.makeFilter((ms: number) =>
    isValidMs(ms) ? undefined : `not a timeframe: ${ms} ms (a whole number of seconds that divides a day: 1000, 60000, 86400000, …)`
  )
)
