/**
 * The tick server's HTTP answers, read from shared memory on the main thread: `/health` (`OK`),
 * `/ticks?symbol=EURUSD&limit=10` (the newest ticks, newest first) and
 * `/ohlc?symbol=EURUSD&timeframe=1m&limit=100` (the last closed bars, oldest first). A bad query is a
 * 400 naming what is wrong, an unknown symbol a 404; every error body is `{ "error": "…" }`.
 */
import { Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { type Bar, BarStore, type Quote, Symbols, TickStore, Timeframe } from "@velox/market"
import type { NodePipelineServer } from "@velox/node"

/** What the routes read: the symbol table, the tick store, the bar store. */
export interface Stores {
  readonly symbols: SharedArrayBuffer
  readonly ticks: SharedArrayBuffer
  readonly bars: SharedArrayBuffer
}

/** Ticks `/ticks` returns unless asked, and bars `/ohlc` returns. */
export const DEFAULT_LIMIT = 100

/**
 * A JSON answer already encoded, never cached. The header is set on the response rather than given
 * as `headers`, which copies that record into a new prototype on every answer (half the time).
 */
const jsonText = (text: string, status = 200) =>
  HttpServerResponse.text(text, { status, contentType: "application/json; charset=utf-8" }).pipe(HttpServerResponse.setHeader("cache-control", "no-store"))

/** A JSON answer, never cached. */
export const json = (body: unknown, status = 200) => jsonText(JSON.stringify(body), status)

const error = (status: number, message: string) => json({ error: message }, status)

/** Milliseconds either side of the epoch a Date holds. */
const MAX_DATE_MS = 8.64e15

const DAY_MS = 86_400_000
/** The times whose ISO year has four digits (0000-01-01 to 9999-12-31): beyond them Date writes ±YYYYYY. */
const FOUR_DIGIT_YEARS_MS = [-62_167_219_200_000, 253_402_300_799_999] as const

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`)
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`)
const pad4 = (n: number): string => (n < 10 ? `000${n}` : n < 100 ? `00${n}` : n < 1000 ? `0${n}` : `${n}`)

/**
 * An ISO time (ms) from ns since the epoch, as `Date#toISOString` writes it; null for a time that is
 * not one (not finite, or past what a Date holds). Written from the day number (the proleptic Gregorian
 * calendar, Hinnant's civil-from-days) without a Date: a quarter of the time, and the largest part of
 * a `/ticks` answer's encoding when it was a Date.
 */
export const isoOf = (ns: number): string | null => {
  if (!(Math.abs(ns / 1e6) <= MAX_DATE_MS)) return null
  const ms = Math.trunc(ns / 1e6) // as a Date keeps it
  if (ms < FOUR_DIGIT_YEARS_MS[0] || ms > FOUR_DIGIT_YEARS_MS[1]) return new Date(ms).toISOString()
  const days = Math.floor(ms / DAY_MS)
  let rest = ms - days * DAY_MS
  // Days since 0000-03-01, in 400-year eras: a year starts in March, so the leap day is its last.
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const dayOfEra = z - era * 146_097
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365)
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  const hours = Math.floor(rest / 3_600_000)
  rest -= hours * 3_600_000
  const minutes = Math.floor(rest / 60_000)
  rest -= minutes * 60_000
  const seconds = Math.floor(rest / 1000)
  return `${pad4(year)}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(rest - seconds * 1000)}Z`
}

/** A tick as the API shows it: the symbol's name, the exchange time as ISO, then every field. */
export const tickJson = (name: string, q: Quote.Record) => ({
  symbol: name,
  time: isoOf(q.exchangeTsNs),
  seq: q.seq,
  bid: q.bid,
  ask: q.ask,
  bidSize: q.bidSize,
  askSize: q.askSize,
  last: q.last,
  lastSize: q.lastSize,
  exchangeTsNs: q.exchangeTsNs,
  receiveTsNs: q.receiveTsNs,
  epoch: q.epoch
})

/** A string or null as JSON, for strings that need no escapes (ISO times). */
const quoted = (text: string | null): string => (text === null ? "null" : `"${text}"`)

/** A number as JSON (NaN and ±Infinity as null, as JSON.stringify writes them). */
const num = (x: number): string => (Number.isFinite(x) ? String(x) : "null")

/**
 * A tick as {@link tickJson} shows it, written as one string after `prefix` (`{"symbol":"EURUSD"` for
 * `/ticks`, `{"type":"tick","symbol":"EURUSD"` for `/ws`): the same bytes as `JSON.stringify` of the
 * object, without building it (half the time of a `/ticks` answer's encoding; the hub encodes each
 * tick once for every subscriber).
 */
export const tickText = (prefix: string, q: Quote.Record): string =>
  `${prefix},"time":${quoted(isoOf(q.exchangeTsNs))},"seq":${num(q.seq)},` +
  `"bid":${num(q.bid)},"ask":${num(q.ask)},"bidSize":${num(q.bidSize)},"askSize":${num(q.askSize)},"last":${num(q.last)},` +
  `"lastSize":${num(q.lastSize)},"exchangeTsNs":${num(q.exchangeTsNs)},"receiveTsNs":${num(q.receiveTsNs)},"epoch":${num(q.epoch)}}`

/** A price to 12 significant digits: a mid of two cents prices (187.40 and 187.41) shows as 187.405, not 187.40499999999997. */
const price = (x: number): number => Number(x.toPrecision(12))

/** A bar as the API shows it: the symbol's name, its timeframe's name, its start as ISO, then every field. */
export const barJson = (name: string, b: Bar.Record) => ({
  symbol: name,
  timeframe: Timeframe.format(b.timeframeMs),
  time: isoOf(b.startNs),
  open: price(b.open),
  high: price(b.high),
  low: price(b.low),
  close: price(b.close),
  volume: b.volume,
  ticks: b.ticks,
  synthetic: (b.flags & 1) !== 0,
  partial: (b.flags & 2) !== 0,
  startNs: b.startNs
})

/** The query the router parsed: a repeated parameter's first value, as `URLSearchParams.get` reads it. */
type Query = HttpServerRequest.ParsedSearchParams["Service"]

const param = (query: Query, name: string): string | null => {
  const value = query[name]
  return value === undefined ? null : typeof value === "string" ? value : value[0] ?? null
}

/** The symbol's id, or the error to answer. */
const symbolOf = (symbols: Symbols.View, query: Query): number | HttpServerResponse.HttpServerResponse => {
  const name = param(query, "symbol")
  if (name === null || name === "") return error(400, "symbol is required: /ticks?symbol=EURUSD")
  const id = symbols.idOf(name)
  return id < 0 ? error(404, `unknown symbol: ${name}`) : id
}

/** `limit`, or the error to answer: an integer in 1..max. */
const limitOf = (query: Query, max: number): number | HttpServerResponse.HttpServerResponse => {
  const text = param(query, "limit")
  if (text === null) return Math.min(DEFAULT_LIMIT, max)
  const limit = Number(text)
  return /^[0-9]+$/.test(text) && limit >= 1 && limit <= max ? limit : error(400, `limit must be an integer in 1..${max}: limit=${text}`)
}

/** The routes, over `stores`. */
export const routes = (stores: Stores): ReadonlyArray<NodePipelineServer.Route> => {
  const symbols = Symbols.view(stores.symbols)
  const maxTicks = TickStore.readable(stores.ticks)
  const maxBars = BarStore.describe(stores.bars).depth - 1
  const timeframes = BarStore.timeframes(stores.bars)
  const newestTicks = TickStore.snapshotter(stores.ticks)
  const ticks = Effect.map(HttpServerRequest.ParsedSearchParams, (query) => {
    const symbol = symbolOf(symbols, query)
    if (typeof symbol !== "number") return symbol
    const limit = limitOf(query, maxTicks)
    if (typeof limit !== "number") return limit
    const prefix = `{"symbol":${JSON.stringify(symbols.nameOf(symbol)!)}`
    return jsonText(`[${newestTicks(symbol, limit).map((q) => tickText(prefix, q)).join(",")}]`)
  })
  const ohlc = Effect.map(HttpServerRequest.ParsedSearchParams, (query) => {
    const symbol = symbolOf(symbols, query)
    if (typeof symbol !== "number") return symbol
    const limit = limitOf(query, maxBars)
    if (typeof limit !== "number") return limit
    const text = param(query, "timeframe") ?? "1m"
    const timeframeMs = Timeframe.parse(text)
    if (timeframeMs === undefined || !timeframes.includes(timeframeMs)) {
      return error(400, `timeframe must be one of ${timeframes.map(Timeframe.format).join(", ")}: timeframe=${text}`)
    }
    const name = symbols.nameOf(symbol)!
    return json(BarStore.snapshot(stores.bars, symbol, timeframeMs, limit).map((b) => barJson(name, b)))
  })
  return [
    { path: "/health", handler: Effect.succeed(HttpServerResponse.text("OK")) },
    { path: "/ticks", handler: ticks },
    { path: "/ohlc", handler: ohlc }
  ]
}
