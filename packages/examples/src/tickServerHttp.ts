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

/** A JSON answer already encoded, never cached. */
const jsonText = (text: string, status = 200) =>
  HttpServerResponse.text(text, { status, contentType: "application/json; charset=utf-8", headers: { "cache-control": "no-store" } })

/** A JSON answer, never cached. */
export const json = (body: unknown, status = 200) => jsonText(JSON.stringify(body), status)

const error = (status: number, message: string) => json({ error: message }, status)

/** Milliseconds either side of the epoch a Date holds. */
const MAX_DATE_MS = 8.64e15

/** An ISO time (ms) from ns since the epoch; null for a time that is not one (not finite, or past what a Date holds). */
const isoOf = (ns: number): string | null => (Math.abs(ns / 1e6) <= MAX_DATE_MS ? new Date(ns / 1e6).toISOString() : null)

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
