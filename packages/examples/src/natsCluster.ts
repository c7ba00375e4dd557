/**
 * Several processes over NATS JetStream, started by one command:
 *
 * ```
 *  this process (feed)            nats-server (JetStream)        book processes                     gateway process
 *  quote generator ─▶ NatsEgress ─▶ QUOTES quotes.0 … quotes.<P-1> ─▶ book 0: partitions 0, 2, … ─┐
 *                  (by symbol)                                   └▶ book 1: partitions 1, 3, … ─┤ (ingress ─▶ throttle ─▶ egress)
 *                                  BBO    bbo.0 … bbo.<P-1>    ◀───────────────────────────────┘
 *                                         └──────────────────────────────────────────────────────▶ gateway: merged top of book
 *                                                                                                  /bbo /ticks /ohlc /ws /cluster /dashboard
 * ```
 *
 *   velox-nats-cluster [--books 2] [--partitions 4] [--symbols 100] [--rate 20000] [--port 7998] [--seconds 0] [--server nats://host:4222]
 *
 * Without `--server` it starts a local nats-server (Debian's `nats-server`) with a temporary store.
 * Every process reports itself each second on core NATS; the gateway serves the cluster's view
 * (`/cluster`), and this process prints it every 2 s. Ctrl-C (or `--seconds`) stops the feed and drains
 * it, waits until the books have consumed and acked everything, stops them (they drain: their top of
 * book published), waits until the gateway has it all, stops it, and prints the reconciliation across
 * the processes; the exit code is 1 if a record is missing or counted twice. The children end with
 * this process however it ends (`kill -9` too): each watches its stdin, a pipe from here.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Console, Effect, Layer, Option, type Scope } from "effect"
import { Command, Flag } from "effect/cli"
import { Pipeline, type StageHost } from "@velox/core"
import { Quote, QuoteGenerator, Symbols } from "@velox/market"
import { NodeCli, NodePipelineRuntime } from "@velox/node"
import { NatsClient, NatsEgress, NatsServer } from "@velox/nats"
import { BBO, endWithParent, isReport, natsLayer, QUOTES, type Report, reporting } from "./natsClusterProcess.ts"
import { book, gateway } from "./natsClusterRoles.ts"
import * as ClusterView from "./natsClusterView.ts"

const SELF = fileURLToPath(import.meta.url)

interface Child {
  readonly name: string
  readonly child: ChildProcess
  /** Its stdout: the report it writes once drained is the last line. */
  readonly output: () => string
  readonly exited: Effect.Effect<void>
}

/** A child process: this program in another role. Its stdin is a pipe from here (it ends with this process). */
const startChild = (name: string, args: ReadonlyArray<string>) =>
  Effect.sync((): Child => {
    // detached: a Ctrl-C at the terminal reaches the feed only; the feed stops the others once they caught up.
    const child = spawn(process.execPath, [...process.execArgv, SELF, ...args, "--with-parent"], {
      stdio: ["pipe", "pipe", "inherit"],
      detached: true
    })
    let out = ""
    child.stdout!.setEncoding("utf8").on("data", (s: string) => (out = (out + s).slice(-100_000)))
    const exited = Effect.callback<void>((resume) => {
      if (child.exitCode !== null || child.signalCode !== null) resume(Effect.void)
      else child.once("exit", () => resume(Effect.void))
    })
    return { name, child, output: () => out, exited }
  })

/** The child's final report (the last line it wrote), if it wrote one. */
const finalReport = (c: Child): Report | undefined => {
  try {
    const last: unknown = JSON.parse(c.output().trim().split("\n").pop() ?? "")
    return isReport(last) && last.final ? last : undefined
  } catch {
    return undefined
  }
}

/** Messages the durable consumers have not yet had, or not yet acked (undefined for one not created yet). */
const behind = (stream: string, durables: ReadonlyArray<string>) =>
  NatsClient.NatsClient.use((c) =>
    Effect.promise(() => Promise.all(durables.map((d) => c.manager.consumers.info(stream, d).catch(() => undefined))))
  ).pipe(Effect.map((infos) => infos.some((i) => i === undefined) ? undefined : infos.reduce((n, i) => n + i!.num_pending + i!.num_ack_pending, 0)))

/**
 * Waits until the consumers have had and acked everything in the stream: as long as they make
 * progress (a loaded machine is slow, not stuck); it gives up after `stallSeconds` without any.
 */
const waitCaughtUp = (who: string, stream: string, durables: ReadonlyArray<string>, stallSeconds = 60) =>
  Effect.gen(function*() {
    let best = Infinity
    let lastProgress = Date.now()
    let lastSaid = Date.now()
    for (;;) {
      const left = yield* behind(stream, durables)
      if (left === 0) return
      if (left !== undefined && left < best) {
        best = left
        lastProgress = Date.now()
      }
      if (Date.now() - lastProgress > stallSeconds * 1000) {
        return yield* Console.error(`${who}: no progress for ${stallSeconds} s with ${left ?? "?"} message(s) of ${stream} left: stopping anyway`)
      }
      if (Date.now() - lastSaid > 2_000) {
        lastSaid = Date.now()
        yield* Console.error(`waiting for ${who} to catch up: ${left ?? "consumers not created yet"}${left === undefined ? "" : ` message(s) of ${stream} left`}`)
      }
      yield* Effect.sleep("50 millis")
    }
  })

const stopChild = (c: Child) => Effect.sync(() => c.child.kill("SIGTERM")).pipe(Effect.andThen(c.exited))

const n = (x: number) => x.toLocaleString("en-US")

/** The periodic line: each process as it reported itself. */
const progressLine = (s: ClusterView.Snapshot) =>
  s.processes.map((p) =>
    p.role === "feed"
      ? `feed ${n(p.recordsOut)} published (${p.egress?.inFlight ?? 0} in flight)`
      : `${p.process}${p.up ? "" : " (silent)"} in ${n(p.recordsIn)} out ${n(p.recordsOut)} lag ${n(p.ingress?.lag ?? 0)}`
  ).join(" · ")

interface ClusterOptions {
  readonly books: number
  readonly partitions: number
  readonly symbols: number
  readonly rate: number
  readonly port: number
  readonly seconds: number
  readonly server: string | undefined
}

const cluster = (o: ClusterOptions) =>
  Effect.gen(function*() {
    const server = o.server === undefined ? yield* NatsServer.start({ exitWithParent: true }) : undefined
    const url = o.server ?? server!.url
    const client = yield* Layer.build(natsLayer(url))
    const epoch = Date.now() % 2 ** 32 >>> 0
    const all = Array.from({ length: o.partitions }, (_, p) => p)
    const owned = Array.from({ length: o.books }, (_, b) => all.filter((p) => p % o.books === b))
    const common = ["--server", url, "--partitions", String(o.partitions), "--symbols", String(o.symbols)]
    const gatewayChild = yield* startChild("gateway", ["--role", "gateway", ...common, "--port", String(o.port)])
    const bookChildren = yield* Effect.forEach(owned, (parts, b) =>
      startChild(`book-${b}`, ["--role", "book", ...common, "--index", String(b), "--owned", parts.join(","), "--epoch", String(epoch)]))
    const children = [...bookChildren, gatewayChild]
    yield* Console.log(
      `nats-server ${url}${server === undefined ? "" : ` (pid ${server.pid()}, store ${server.directory})`}; feed at ${n(o.rate)} quotes/s over ${o.symbols} symbols and ${o.partitions} partitions, epoch ${epoch}; ` +
        children.map((c) => `${c.name} pid ${c.child.pid}`).join(", ")
    )

    const table = Symbols.make(o.symbols, QuoteGenerator.instrumentNames(o.symbols))
    const egress = NatsEgress.make({
      name: "quotes", layout: Quote.Quote, subjectPrefix: QUOTES.prefix, partitions: o.partitions, key: "symbol", sequence: "seq", feed: "feed", epoch
    })
    let handle: Pipeline.PipelineHandle | undefined
    const generated = () => handle?.ledger().stages.find((s) => s.stage === "quote-generator")?.emitted ?? 0
    yield* reporting(() => ({
      process: "feed", role: "feed", partitions: all, recordsIn: generated(), recordsOut: egress.stats().recordsAcked, dropped: 0, egress: egress.stats()
    }), { printFinal: false }).pipe(Effect.provide(client))
    const latest = yield* ClusterView.follow.pipe(Effect.provide(client))

    // When the scope closes (Ctrl-C, --seconds, a child gone): the feed has drained; the books, then the gateway, catch up, stop, reconcile.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const published = egress.stats().recordsAcked
        yield* waitCaughtUp("the books", QUOTES.name, owned.flatMap((parts, b) => parts.map((p) => `book-${b}-${p}`)))
        yield* Effect.forEach(bookChildren, stopChild, { discard: true, concurrency: "unbounded" })
        yield* waitCaughtUp("the gateway", BBO.name, all.map((p) => `gateway-${p}`))
        yield* stopChild(gatewayChild)
        const reports = children.map((c) => ({ name: c.name, report: finalReport(c) }))
        for (const { name, report } of reports) {
          yield* Console.log(report === undefined
            ? `${name}: no final report (exit ${children.find((c) => c.name === name)?.child.exitCode ?? "?"})`
            : `${name}: in ${n(report.recordsIn)}, out ${n(report.recordsOut)}, dropped ${n(report.dropped)} ` +
              `(${n(report.ingress?.duplicates ?? 0)} duplicates dropped, ${n(report.ingress?.redeliveries ?? 0)} redeliveries)`)
        }
        const got = reports.flatMap((r) => (r.report === undefined ? [] : [r.report]))
        const t = ClusterView.totalsOf(got)
        const checks: Array<[string, number, number]> = [
          ["quotes published by the feed = quotes into the books", published, t.booksIn],
          ["quotes into the books = top of book published + throttled", t.booksIn, t.booksOut + t.booksDropped],
          ["top of book published by the books = into the gateway", t.booksOut, t.gatewayIn],
          ["into the gateway = stored in its tick store", t.gatewayIn, t.gatewayStored]
        ]
        const failed = checks.filter(([, a, b]) => a !== b).map(([what, a, b]) => `${what}: ${a} ≠ ${b}`)
        if (got.length < children.length) failed.push(`${children.length - got.length} process(es) gave no final report`)
        if (published === 0) failed.push("nothing was published")
        yield* Console.log(["reconciliation:", ...checks.map(([what, a, b]) => `  ${a === b ? "ok " : "NO "} ${what}: ${n(a)} = ${n(b)}`)].join("\n"))
        yield* Console.log(`reconciliation: ${failed.length === 0 ? "balanced" : "NOT balanced"}`)
        if (failed.length > 0) yield* NodePipelineRuntime.failCheck(failed.join("; "))
      }).pipe(Effect.provide(client), Effect.orDie)
    )
    handle = yield* Pipeline.run(Pipeline.from(QuoteGenerator, { symbols: table, instruments: o.symbols, rate: o.rate, epoch }).to(egress.edge))
      .pipe(Effect.provide(client))
    yield* Effect.suspend(() => Console.error(progressLine(ClusterView.snapshotOf(latest, undefined)))).pipe(
      Effect.delay("2 seconds"),
      Effect.forever,
      Effect.forkScoped
    )
    const childGone = Effect.raceAll(children.map((c) => c.exited.pipe(Effect.andThen(Console.error(`${c.name} exited (${c.child.exitCode ?? c.child.signalCode}) before the end: stopping`)))))
    yield* Effect.raceFirst(handle.done, Effect.raceFirst(childGone, o.seconds > 0 ? Effect.sleep(`${o.seconds} seconds`) : Effect.never))
  })

const command = Command.make("velox-nats-cluster", {
  books: Flag.Int("books").pipe(Flag.withDescription("book processes, each owning every books-th partition (default 2)"), Flag.withDefault(2)),
  partitions: Flag.Int("partitions").pipe(Flag.withDescription("partitions (subjects quotes.<p>, bbo.<p>), by a hash of the symbol (default 4)"), Flag.withDefault(4)),
  symbols: Flag.Int("symbols").pipe(Flag.withDescription("instruments the feed quotes (default 100)"), Flag.withDefault(100)),
  rate: Flag.Int("rate").pipe(Flag.withDescription("quotes per second the feed publishes (default 20000)"), Flag.withDefault(20_000)),
  port: Flag.Int("port").pipe(Flag.withDescription("the gateway's HTTP port on 127.0.0.1; 0 picks a free one (default 7998)"), Flag.withDefault(7998)),
  seconds: Flag.Int("seconds").pipe(Flag.withDescription("stop after this many seconds (default 0: at Ctrl-C)"), Flag.withDefault(0)),
  server: Flag.String("server").pipe(Flag.withDescription("a NATS server URL (default: start a local nats-server)"), Flag.optional),
  role: Flag.Literals("role", ["feed", "book", "gateway"]).pipe(Flag.withDescription("what this process is (feed: the launcher; book and gateway: run on other machines)"), Flag.withDefault("feed" as const)),
  index: Flag.Int("index").pipe(Flag.withDescription("a book's number: its durable name is book-<index> (default 0)"), Flag.withDefault(0)),
  owned: Flag.String("owned").pipe(Flag.withDescription("a book's partitions, comma-separated"), Flag.withDefault("")),
  epoch: Flag.Int("epoch").pipe(Flag.withDescription("a book's epoch for its top of book (the feed's: the launcher passes it)"), Flag.withDefault(1)),
  withParent: Flag.Boolean("with-parent").pipe(Flag.withDescription("internal: end (draining) when the launcher ends: its stdin closes"), Flag.withDefault(false))
}, (o): Effect.Effect<void, unknown, Scope.Scope | StageHost.StageHost> => {
  const server = Option.getOrUndefined(o.server)
  const url = server ?? "nats://127.0.0.1:4222"
  const ranges = o.books >= 1 && o.partitions >= o.books && o.partitions <= 1024 && o.symbols >= 1 && o.rate >= 1 && o.seconds >= 0 && o.port >= 0 && o.port <= 65535
  if (!ranges) {
    return Effect.die(new RangeError(
      `need books ≥ 1, books ≤ partitions ≤ 1024, symbols ≥ 1, rate ≥ 1, seconds ≥ 0, port in 0..65535: ` +
        `books=${o.books} partitions=${o.partitions} symbols=${o.symbols} rate=${o.rate} seconds=${o.seconds} port=${o.port}`
    ))
  }
  const watch = o.withParent ? endWithParent(o.role === "book" ? `book-${o.index}` : o.role, 30_000) : Effect.void
  if (o.role === "book") {
    const owned = o.owned.split(",").filter((s) => s !== "").map(Number)
    return Effect.andThen(watch, book({ url, index: o.index, owned, partitions: o.partitions, symbols: o.symbols, epoch: o.epoch }))
  }
  if (o.role === "gateway") return Effect.andThen(watch, gateway({ url, partitions: o.partitions, symbols: o.symbols, port: o.port }))
  return cluster({ books: o.books, partitions: o.partitions, symbols: o.symbols, rate: o.rate, port: o.port, seconds: o.seconds, server })
})

NodeCli.run(command, { version: "0.1.0" })
