/**
 * The child processes of `velox-nats-cluster`:
 *
 * ```
 *  book i:   QUOTES (its partitions) ─▶ NatsIngress ─▶ throttle ─▶ NatsEgress ─▶ BBO (bbo.<p>, feed book-<i>)
 *            (durable book-<i>-<p>)                   (top of book moves)
 *  gateway:  BBO (every partition) ─▶ NatsIngress ─┬─▶ tick store ─▶ /bbo /ticks /ws
 *            (durable gateway-<p>)                 └─▶ bars ──────▶ /ohlc /ws
 *            + the ops surface (/dashboard, /metrics, /ready, /stats) and the cluster view (/cluster)
 * ```
 *
 * A book's egress publishes each top of book under the quote's own sequence and the feed's epoch: a
 * book restarted with the same durable name (after a crash, or on another machine) publishes what the
 * stream gives it again under the same ids, and the gateway's dedup drops what it had.
 */
import { Console, Effect } from "effect"
import { Pipeline } from "@velox/core"
import { BarStore, Bars, Quote, QuoteGenerator, Symbols, Throttle, TickStore, TickStoreSink } from "@velox/market"
import { NodePipelineServer } from "@velox/node"
import { NatsClient, NatsEgress, NatsHealth, NatsIngress } from "@velox/nats"
import { Discard } from "./discard.ts"
import { BBO, droppedBy, natsLayer, QUOTES, reporting } from "./natsClusterProcess.ts"
import * as ClusterView from "./natsClusterView.ts"
import { routes } from "./tickServerHttp.ts"
import * as Hub from "./tickServerWs.ts"

export interface BookOptions {
  readonly url: string
  readonly index: number
  readonly owned: ReadonlyArray<number>
  readonly partitions: number
  readonly symbols: number
  readonly epoch: number
}

/** A book process: its partitions of the quotes, throttled to the moves of the top of book, published on to BBO. */
export const book = (o: BookOptions) =>
  Effect.gen(function*() {
    const name = `book-${o.index}`
    const ingress = NatsIngress.make({
      name: "quotes", layout: Quote.Quote, stream: QUOTES.name, subjectPrefix: QUOTES.prefix, partitions: o.owned, durable: name, sequence: "seq"
    })
    const egress = NatsEgress.make({
      name: "bbo", layout: Quote.Quote, subjectPrefix: BBO.prefix, partitions: o.partitions, key: "symbol", sequence: "seq", feed: name, epoch: o.epoch
    })
    let handle: Pipeline.PipelineHandle | undefined
    yield* reporting(() => ({
      process: name,
      role: "book",
      partitions: o.owned,
      recordsIn: ingress.stats().offered,
      recordsOut: egress.stats().recordsAcked,
      dropped: handle === undefined ? 0 : droppedBy(handle, "throttle"),
      ingress: ingress.stats(),
      egress: egress.stats()
    }))
    handle = yield* Pipeline.run(Pipeline.from(ingress.edge).via(Throttle, { symbols: o.symbols }).to(egress.edge))
    yield* ingress.attach(handle)
    yield* Console.error(`${name}: partitions ${o.owned.join(",")} of ${QUOTES.name} → ${BBO.name}`)
    yield* handle.done
  }).pipe(Effect.scoped, Effect.provide(natsLayer(o.url))) // the connection outlives the pipeline's drain

export interface GatewayOptions {
  readonly url: string
  readonly partitions: number
  readonly symbols: number
  readonly port: number
}

const TIMEFRAMES_MS = [1_000, 60_000]

/** The gateway: every book's top of book, merged into one store, served over HTTP and `/ws`, with the cluster's view. */
export const gateway = (o: GatewayOptions) =>
  Effect.gen(function*() {
    const client = yield* NatsClient.NatsClient
    // The generator's names, in its order: the ids in the records are the feed's.
    const stores = {
      symbols: Symbols.make(o.symbols, QuoteGenerator.instrumentNames(o.symbols)),
      ticks: TickStore.make({ symbols: o.symbols, depth: 1_000 }),
      bars: BarStore.make({ symbols: o.symbols, timeframesMs: TIMEFRAMES_MS, depth: 100 })
    }
    const all = Array.from({ length: o.partitions }, (_, p) => p)
    const ingress = NatsIngress.make({
      name: "bbo", layout: Quote.Quote, stream: BBO.name, subjectPrefix: BBO.prefix, partitions: all, durable: "gateway", sequence: "seq"
    })
    const own = () => ({
      process: "gateway",
      role: "gateway" as const,
      partitions: all,
      recordsIn: ingress.stats().offered,
      recordsOut: TickStore.stats(stores.ticks).written,
      dropped: 0,
      ingress: ingress.stats()
    })
    const report = yield* reporting(own)
    const view = yield* ClusterView.make(report, stores)
    const hub = yield* Hub.make(stores)
    const nats = NatsHealth.extension({ client, ingress: [ingress] })
    // The server before the pipeline: it outlives the drain (/ready: 503 "draining").
    const server = yield* NodePipelineServer.make(undefined, {
      routes: [...routes(stores), hub.route, ...view.extension.routes!],
      readiness: nats.readiness,
      metrics: () => nats.metrics() + view.extension.metrics!(),
      stats: () => ({ ...nats.stats(), ...view.extension.stats!(), ws: hub.stats() }),
      statsPath: "/ops/ws"
    }).pipe(Effect.provide(NodePipelineServer.layerConfig({ port: o.port })))
    const pipeline = Pipeline.from(ingress.edge).broadcast((b) => [
      b.to(TickStoreSink, { store: stores.ticks }),
      b.via(Bars, { symbols: o.symbols, timeframesMs: TIMEFRAMES_MS, store: stores.bars }).to(Discard, {})
    ])
    const handle = yield* Pipeline.run(pipeline)
    yield* ingress.attach(handle)
    yield* server.attach(handle)
    yield* Console.error(`gateway on ${server.url}: /bbo /ticks?symbol=… /ohlc?symbol=…&timeframe=1m /ws; the cluster: /cluster; ops: /dashboard /metrics /ready /stats`)
    yield* handle.done
  }).pipe(Effect.scoped, Effect.provide(natsLayer(o.url))) // the connection outlives the pipeline's drain
