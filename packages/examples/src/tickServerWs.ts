/**
 * The tick server's `/ws`: clients subscribe to symbols and get their ticks and bar closes as JSON.
 *
 *   tick store ─┐  (shared memory, followed every pollMs on the main thread while a client is subscribed:
 *               │   the pipeline never waits; with nobody subscribed the hub sleeps)
 *   bar store  ─┴─▶ hub ─▶ each tick / bar encoded once ─▶ client queue (bounded, drop-oldest) ─▶ socket
 *                                                           client queue …                    ─▶ socket
 *
 * Protocol (JSON text frames):
 * - client → server: `{"type":"subscribe","symbols":["EURUSD","AAPL"],"timeframes":["1m"]}` (timeframes
 *   optional: default every timeframe the server keeps, `[]` for ticks only); `{"type":"unsubscribe",
 *   "symbols":["AAPL"]}`.
 * - server → client: `{"type":"hello",…}` on connect; `{"type":"subscribed","symbols":[…],"timeframes":[…]}`
 *   after each (un)subscribe; `{"type":"events","events":[{"type":"tick",…},{"type":"bar",…}]}` with what
 *   happened since the last frame, in order; `{"type":"dropped","dropped":n,"total":N}` before the
 *   events that follow a loss; `{"type":"error","message":"…"}` for a message it cannot act on (not
 *   JSON, not a subscribe, an unknown symbol or timeframe — the known ones are still subscribed).
 *
 * A slow client: its socket's send buffer fills, its writer waits for it to drain, its queue fills and
 * drops its oldest events, counted and reported to it. It never holds up the hub, the pipeline or
 * other clients. Events the hub itself could not read in time (more than the store keeps between two
 * polls) are counted as dropped for every subscriber.
 */
import { Effect, Schema, type Scope } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { Socket } from "effect/socket"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { BarStore, Symbols, TickStore, Timeframe } from "@velox/market"
import type { NodePipelineServer } from "@velox/node"
import { barJson, type Stores, tickText } from "./tickServerHttp.ts"

/** How the hub runs. */
export interface HubOptions {
  /** How often the stores are followed. */
  readonly pollMs: number
  /** Events a client's queue holds before it drops its oldest. */
  readonly queueEvents: number
  /** Events in one frame, at most. */
  readonly frameEvents: number
  /** Bytes waiting in a client's socket above which its writer waits for them to drain. */
  readonly highWaterBytes: number
  /** Ticks of a symbol a poll fans out before it lets the rest of the program run. */
  readonly stepTicks: number
}

export const DEFAULT_HUB_OPTIONS: HubOptions = { pollMs: 10, queueEvents: 10_000, frameEvents: 1_000, highWaterBytes: 256 * 1024, stepTicks: 1_000 }

/** What the hub did, for the program's stats and `/metrics`. */
export interface HubStats {
  readonly clients: number
  readonly subscriptions: number
  /** Events queued for clients (one per client it went to). */
  readonly queued: number
  /** Events sent in frames. */
  readonly sent: number
  /** Events dropped: by slow clients' queues, and by the hub falling behind a store. */
  readonly dropped: number
  /** Times the hub read the stores: every `pollMs` while a client is subscribed, never while none is. */
  readonly polls: number
}

/** Waits until `ready()` holds (one waiter at a time); call `wake()` after anything that may have made it hold. */
class Waiter {
  private resume: (() => void) | undefined
  private readonly ready: () => boolean
  constructor(ready: () => boolean) {
    this.ready = ready
  }
  readonly wait: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.ready()) return resume(Effect.void)
    this.resume = () => resume(Effect.void)
    return Effect.sync(() => {
      this.resume = undefined
    })
  })
  wake(): void {
    const resume = this.resume
    if (resume === undefined || !this.ready()) return
    this.resume = undefined
    resume()
  }
}

/**
 * One client's queue: a ring of encoded events that drops its oldest when full (counted), and wakes
 * the client's writer when the first event arrives. The hub offers every event to every subscriber,
 * so an offer is a few stores: no allocation, no Effect.
 */
class Client {
  readonly symbols = new Set<number>()
  readonly barKeys = new Set<number>()
  /** Dropped since the last `dropped` frame, and in all. */
  unreported = 0
  dropped = 0
  private readonly ring: Array<string>
  private head = 0
  private size = 0
  private readonly filled = new Waiter(() => this.size > 0)
  constructor(capacity: number) {
    this.ring = new Array<string>(capacity)
  }
  offer(event: string, stats: { queued: number; dropped: number }): void {
    const capacity = this.ring.length
    if (this.size === capacity) {
      // Full: the oldest goes.
      this.head = this.head + 1 === capacity ? 0 : this.head + 1
      this.size--
      this.lose(1, stats)
    }
    const tail = this.head + this.size
    this.ring[tail < capacity ? tail : tail - capacity] = event
    this.size++
    stats.queued++
    this.filled.wake()
  }
  lose(n: number, stats: { dropped: number }): void {
    this.unreported += n
    this.dropped += n
    stats.dropped += n
  }
  /** Waits until the queue holds an event. */
  get nonEmpty(): Effect.Effect<void> {
    return this.filled.wait
  }
  /** Takes up to `max` events, oldest first, joined with commas. */
  take(max: number): { readonly count: number; readonly joined: string } {
    const n = this.size < max ? this.size : max
    const capacity = this.ring.length
    const parts = new Array<string>(n)
    for (let i = 0; i < n; i++) {
      parts[i] = this.ring[this.head]!
      this.ring[this.head] = ""
      this.head = this.head + 1 === capacity ? 0 : this.head + 1
    }
    this.size -= n
    return { count: n, joined: parts.join(",") }
  }
}

const Subscription = Schema.Union([
  Schema.Struct({ type: Schema.Literal("subscribe"), symbols: Schema.Array(Schema.String), timeframes: Schema.optional(Schema.Array(Schema.String)) }),
  Schema.Struct({ type: Schema.Literal("unsubscribe"), symbols: Schema.Array(Schema.String) })
])
const decodeSubscription = Schema.decodeUnknownOption(Subscription)
const EXPECTED = `expected {"type":"subscribe","symbols":["EURUSD"],"timeframes":["1m"]} or {"type":"unsubscribe","symbols":["EURUSD"]}`

/** Adds `client` to the set of `key` in `map`. */
const join = (map: Map<number, Set<Client>>, key: number, client: Client) => {
  const set = map.get(key) ?? new Set<Client>()
  set.add(client)
  map.set(key, set)
}

const leave = (map: Map<number, Set<Client>>, key: number, client: Client) => {
  const set = map.get(key)
  set?.delete(client)
  if (set?.size === 0) map.delete(key)
}

/**
 * Starts the hub in the current scope (its polling fiber stops with it) and returns the `/ws` route
 * and its stats.
 */
export const make = (stores: Stores, options: HubOptions = DEFAULT_HUB_OPTIONS) =>
  Effect.gen(function*() {
    const symbols = Symbols.view(stores.symbols)
    const timeframes = BarStore.timeframes(stores.bars)
    const ticks = TickStore.follower(stores.ticks)
    const bars = BarStore.follower(stores.bars)
    const clients = new Set<Client>()
    const tickSubscribers = new Map<number, Set<Client>>()
    const barSubscribers = new Map<number, Set<Client>>()
    // Where the hub is in each followed ring; a ring is followed from its newest end when its first subscriber comes.
    const tickCursors = new Map<number, number>()
    const barCursors = new Map<number, number>()
    const counts = { queued: 0, sent: 0, dropped: 0, polls: 0 }
    // The poll runs only while someone is subscribed: with nobody listening the main thread sleeps.
    const listening = new Waiter(() => tickSubscribers.size + barSubscribers.size > 0)

    // Ticks read and fanned out per step of a poll: between steps the poll yields, so that the HTTP
    // surface (/stats, /ready, /ticks) and the writers are served while a hub that fell behind catches
    // up (fanning 50,000 ticks out to 100 clients is seconds of one thread; in one step it left every
    // request waiting that long, and a hub always behind starved them for good).
    const step = Math.min(TickStore.describe(stores.ticks).depth, options.stepTicks)

    const poll = Effect.gen(function*() {
      counts.polls++
      for (const [symbol, subscribers] of tickSubscribers) {
        const prefix = `{"type":"tick","symbol":${JSON.stringify(symbols.nameOf(symbol))}`
        for (;;) {
          const got = ticks.since(symbol, tickCursors.get(symbol)!, step)
          tickCursors.set(symbol, got.cursor)
          if (got.missed > 0) for (const c of subscribers) c.lose(got.missed, counts)
          for (const q of got.ticks) {
            const event = tickText(prefix, q)
            for (const c of subscribers) c.offer(event, counts)
          }
          if (got.ticks.length < step) break
          yield* Effect.yieldNow
        }
      }
      for (const [key, subscribers] of barSubscribers) {
        const symbol = Math.floor(key / timeframes.length)
        const got = bars.since(key, barCursors.get(key)!, 1_000)
        barCursors.set(key, got.cursor)
        if (got.missed > 0) for (const c of subscribers) c.lose(got.missed, counts)
        for (const b of got.bars) {
          const event = JSON.stringify({ type: "bar", ...barJson(symbols.nameOf(symbol)!, b) })
          for (const c of subscribers) c.offer(event, counts)
        }
      }
    })
    yield* listening.wait.pipe(Effect.andThen(poll), Effect.andThen(Effect.sleep(options.pollMs)), Effect.forever, Effect.forkScoped)

    /** Applies one client message; the frames to answer with. */
    const onMessage = (client: Client, text: string): Array<string> => {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        return [JSON.stringify({ type: "error", message: `not JSON: ${text.slice(0, 80)}` })]
      }
      const message = decodeSubscription(parsed)
      if (message._tag === "None") return [JSON.stringify({ type: "error", message: EXPECTED })]
      const m = message.value
      const unknown: Array<string> = []
      const ids = m.symbols.flatMap((name) => {
        const id = symbols.idOf(name)
        if (id < 0) unknown.push(name)
        return id < 0 ? [] : [id]
      })
      const wanted = m.type === "subscribe" && m.timeframes !== undefined ? m.timeframes.map((t) => [t, Timeframe.parse(t)] as const) : []
      const badTimeframes = wanted.filter(([, ms]) => ms === undefined || !timeframes.includes(ms)).map(([t]) => t)
      const tfIndexes = m.type === "subscribe" && m.timeframes === undefined
        ? timeframes.map((_, i) => i)
        : wanted.flatMap(([, ms]) => (ms !== undefined && timeframes.includes(ms) ? [timeframes.indexOf(ms)] : []))
      for (const id of ids) {
        if (m.type === "subscribe") {
          if (!tickSubscribers.has(id)) tickCursors.set(id, ticks.cursor(id))
          client.symbols.add(id)
          join(tickSubscribers, id, client)
          for (const tf of tfIndexes) {
            const key = id * timeframes.length + tf
            if (!barSubscribers.has(key)) barCursors.set(key, bars.cursor(key))
            client.barKeys.add(key)
            join(barSubscribers, key, client)
          }
        } else {
          client.symbols.delete(id)
          leave(tickSubscribers, id, client)
          for (let tf = 0; tf < timeframes.length; tf++) {
            client.barKeys.delete(id * timeframes.length + tf)
            leave(barSubscribers, id * timeframes.length + tf, client)
          }
        }
      }
      listening.wake()
      const problems = [
        unknown.length === 0 ? "" : `unknown symbols: ${unknown.join(", ")}`,
        badTimeframes.length === 0 ? "" : `unknown timeframes: ${badTimeframes.join(", ")} (kept: ${timeframes.map(Timeframe.format).join(", ")})`
      ].filter((p) => p !== "")
      const subscribed = JSON.stringify({
        type: "subscribed",
        symbols: [...client.symbols].map((id) => symbols.nameOf(id)),
        timeframes: [...new Set([...client.barKeys].map((k) => Timeframe.format(timeframes[k % timeframes.length]!)))]
      })
      return problems.length === 0 ? [subscribed] : [JSON.stringify({ type: "error", message: problems.join("; ") }), subscribed]
    }

    const route: Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, HttpServerRequest.HttpServerRequest | Scope.Scope> = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (request.headers["upgrade"]?.toLowerCase() !== "websocket") {
        return HttpServerResponse.text("/ws is a WebSocket endpoint: connect with Upgrade: websocket\n", { status: 426, headers: { upgrade: "websocket" } })
      }
      // The connection's TCP socket: what is waiting in it tells a slow client from a fast one.
      const tcp = (NodeHttpServerRequest.toIncomingMessage(request) as { socket: import("node:net").Socket }).socket
      const socket = yield* request.upgrade
      const client = new Client(options.queueEvents)
      yield* Effect.scoped(Effect.gen(function*() {
        const pull = yield* Socket.readerString(socket)
        const writer = yield* socket.writer
        const write = (text: string) => writer.write(text)
        clients.add(client)
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            clients.delete(client)
            for (const id of client.symbols) leave(tickSubscribers, id, client)
            for (const key of client.barKeys) leave(barSubscribers, key, client)
          })
        )
        yield* write(JSON.stringify({
          type: "hello",
          symbols: Array.from({ length: symbols.count() }, (_, id) => symbols.nameOf(id)),
          timeframes: timeframes.map(Timeframe.format),
          queueEvents: options.queueEvents
        }))
        // Answers go straight out, never through the queue: a slow client's queue may drop, they may not.
        const reading = pull.pipe(
          Effect.flatMap((frames) => Effect.forEach(frames.flatMap((f) => onMessage(client, f)), write, { discard: true })),
          Effect.forever
        )
        const drained = Effect.callback<void>((resume) => {
          const done = () => resume(Effect.void)
          tcp.once("drain", done)
          tcp.once("close", done)
          return Effect.sync(() => {
            tcp.off("drain", done)
            tcp.off("close", done)
          })
        })
        const writing = Effect.gen(function*() {
          // A slow reader: wait until its socket has room (bounded, in case a drain is never emitted).
          while (tcp.writableLength > options.highWaterBytes && !tcp.destroyed) {
            yield* Effect.raceFirst(drained, Effect.sleep(50))
          }
          yield* client.nonEmpty
          if (client.unreported > 0) {
            yield* write(JSON.stringify({ type: "dropped", dropped: client.unreported, total: client.dropped }))
            client.unreported = 0
          }
          const { count, joined } = client.take(options.frameEvents)
          yield* write(`{"type":"events","events":[${joined}]}`)
          counts.sent += count
        }).pipe(Effect.forever)
        yield* Effect.raceFirst(reading, writing).pipe(Effect.ignore)
      }))
      return HttpServerResponse.empty()
    })

    return {
      route: { path: "/ws", handler: route } satisfies NodePipelineServer.Route,
      stats: (): HubStats => ({
        clients: clients.size,
        subscriptions: [...clients].reduce((n, c) => n + c.symbols.size, 0),
        queued: counts.queued,
        sent: counts.sent,
        dropped: counts.dropped,
        polls: counts.polls
      })
    }
  })

/** The hub: its `/ws` route and its stats. */
export type Hub = Effect.Success<ReturnType<typeof make>>
