import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { RecordLayout } from "@velox/core"
import { BarStore, Quote, Symbols, TickStore } from "@velox/market"
import { makeTickStoreLogic } from "@velox/market/unsafe"
import { NodePipelineServer } from "@velox/node"
import * as Hub from "../../packages/examples/src/tickServerWs.ts"

/**
 * The `/ws` hub in process, on the test clock: it reads the stores every `pollMs` while a client is
 * subscribed and not at all while nobody is (the main thread sleeps), and a subscriber that comes to a
 * sleeping hub gets the ticks stored after it subscribed.
 */

/** Polls `probe` on real time (the test clock drives only the hub) until `until` holds; 60 s guard against a hang. */
const eventually = <A>(probe: () => A, until: (a: A) => boolean, what: string) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 60_000
    for (;;) {
      const a = probe()
      if (until(a)) return a
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(a).slice(0, 300)}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  })

const openSocket = (url: string) =>
  Effect.promise(() =>
    new Promise<{ ws: WebSocket; frames: Array<any> }>((resolve, reject) => {
      const ws = new WebSocket(url)
      const frames: Array<any> = []
      ws.addEventListener("message", (e) => frames.push(JSON.parse(String(e.data))))
      ws.addEventListener("open", () => resolve({ ws, frames }))
      ws.addEventListener("error", () => reject(new Error(`could not open ${url}`)))
    })
  )

/** Stores one EURUSD quote (symbol 0) with sequence `seq`, as the tick store stage does. */
const storeQuote = (store: SharedArrayBuffer) => {
  const logic = makeTickStoreLogic({ store })
  const view = RecordLayout.view(Quote.Quote, new ArrayBuffer(Quote.Quote.byteLength), 0, 1)
  const out = { view, emit: () => 0, account: () => {}, drop: () => {}, deadLetter: () => {} }
  return (seq: number) => {
    const f = view.fields
    f.symbol.set(0, 0)
    f.seq.set(0, seq)
    f.bid.set(0, 1.08)
    f.ask.set(0, 1.08012)
    f.exchangeTsNs.set(0, 1.7e18 + seq)
    f.receiveTsNs.set(0, 1.7e18 + seq)
    logic.onBatch(view, 0, 1, out as never)
  }
}

describe("the tick server's /ws hub", () => {
  it.effect("polls the stores only while a client is subscribed; a client that subscribes to a sleeping hub gets what is stored after", () =>
    Effect.gen(function*() {
      const stores = {
        symbols: Symbols.make(2, ["EURUSD", "AAPL"]),
        ticks: TickStore.make({ symbols: 2, depth: 100 }),
        bars: BarStore.make({ symbols: 2, timeframesMs: [1000], depth: 10 })
      }
      const store = storeQuote(stores.ticks)
      const hub = yield* Hub.make(stores)
      const server = yield* NodePipelineServer.make(undefined, { routes: [hub.route], statsPath: "/ops/ws" })

      // Nobody connected: a second of the hub's clock (100 polls at 10 ms, before) reads nothing.
      yield* TestClock.adjust("1 second")
      assert.strictEqual(hub.stats().polls, 0)

      // Connected but subscribed to nothing it knows: still asleep.
      const client = yield* openSocket(`${server.url.replace("http", "ws")}/ws`)
      client.ws.send(JSON.stringify({ type: "subscribe", symbols: ["NOPE"] }))
      yield* eventually(() => client.frames.filter((f) => f.type === "subscribed").length, (n) => n === 1, "the first subscribed frame")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(hub.stats().polls, 0)

      // Subscribed: the hub wakes, and a tick stored now reaches the client.
      client.ws.send(JSON.stringify({ type: "subscribe", symbols: ["EURUSD"] }))
      yield* eventually(() => client.frames.filter((f) => f.type === "subscribed").length, (n) => n === 2, "the second subscribed frame")
      store(1)
      yield* TestClock.adjust("10 millis")
      const events = yield* eventually(() => client.frames.filter((f) => f.type === "events").flatMap((f) => f.events), (e) => e.length > 0, "the tick")
      assert.deepStrictEqual(events.map((e) => [e.type, e.symbol, e.seq]), [["tick", "EURUSD", 1]])
      const polling = hub.stats().polls
      yield* TestClock.adjust("100 millis")
      // Ten sleeps of 10 ms in that time (at least five, should a poll be under way as the clock moves).
      assert.isAtLeast(hub.stats().polls, polling + 5, "every 10 ms while subscribed")

      // The client leaves: the hub goes back to sleep (a poll under way may finish).
      client.ws.close()
      yield* eventually(() => hub.stats(), (s) => s.clients === 0 && s.subscriptions === 0, "the client gone")
      const left = hub.stats().polls
      yield* TestClock.adjust("1 second")
      assert.isAtMost(hub.stats().polls, left + 1)
    }).pipe(Effect.scoped, Effect.provide(NodePipelineServer.layerConfig({ port: 0 }))), 60_000)
})
