/**
 * Several processes over NATS JetStream, started by one command:
 *
 * ```
 *  this process (feed)                      nats-server              book processes (this program, --role book)
 *  ticks ─▶ NatsEgress ──▶ ticks.0 … ticks.<P-1> (stream TICKS) ──▶ book 0: NatsIngress(partitions 0, 2, …) ─▶ count per symbol
 *          (partitioned by symbol)                                └─▶ book 1: NatsIngress(partitions 1, 3, …) ─▶ count per symbol
 * ```
 *
 *   velox-nats-cluster [--books 2] [--partitions 4] [--rate 50000] [--seconds 0] [--server nats://host:4222]
 *
 * Without `--server` it starts a local nats-server (Debian's `nats-server`) with a temporary store.
 * Ctrl-C (or `--seconds`) stops the feed and drains it, waits until the books have consumed and acked
 * everything, stops them, and prints the reconciliation: every record published is counted by exactly
 * one book (after the books' dedup); the exit code is 1 if not.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Console, Effect, Layer, Schedule, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { Edge, Pipeline, RecordLayout } from "@velox/core"
import { NodeCli, NodePipelineRuntime } from "@velox/node"
import { NatsClient, NatsConfig, NatsEgress, NatsIngress, NatsServer } from "@velox/nats"

const Tick = RecordLayout.make("Tick", { seq: "f64", price: "f64", symbol: "u32" })
const SYMBOLS = 500
const SELF = fileURLToPath(import.meta.url)

const natsLayer = (url: string) =>
  NatsClient.layer.pipe(Layer.provide(NatsConfig.layer({ servers: [url], streams: [{ name: "TICKS", subjects: ["ticks.>"] }] })))

/** A book process: its partitions into a stage counting records per symbol; its counts on stdout when it drains. */
const book = (url: string, index: number, owned: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const ingress = NatsIngress.make({ name: "ticks", layout: Tick, stream: "TICKS", subjectPrefix: "ticks", partitions: owned, durable: `book-${index}`, sequence: "seq" })
    const perSymbol = new Float64Array(SYMBOLS)
    let counted = 0
    const count = Edge.sinkEffect({
      name: "book",
      input: Tick,
      onBatch: (batch: ReadonlyArray<RecordLayout.RecordOf<typeof Tick.spec>>) =>
        Effect.sync(() => {
          for (const t of batch) perSymbol[t.symbol]! += 1
          counted += batch.length
        })
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => process.stdout.write(`${JSON.stringify({ book: index, counted, symbols: perSymbol.filter((n) => n > 0).length, ...ingress.stats() })}\n`))
    )
    const handle = yield* Pipeline.run(Pipeline.from(ingress.edge).to(count))
    yield* ingress.attach(handle)
    yield* handle.done
  }).pipe(Effect.provide(natsLayer(url)))

interface BookProcess {
  readonly child: ChildProcess
  readonly output: () => string
}

const startBook = (url: string, index: number, owned: ReadonlyArray<number>) =>
  Effect.sync((): BookProcess => {
    // detached: a Ctrl-C at the terminal reaches the feed only; the feed stops the books once they caught up.
    const child = spawn(process.execPath, [...process.execArgv, SELF, "--role", "book", "--server", url, "--index", String(index), "--owned", owned.join(",")], {
      stdio: ["ignore", "pipe", "inherit"],
      detached: true
    })
    let out = ""
    child.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s))
    return { child, output: () => out }
  })

const exited = (c: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (c.exitCode !== null || c.signalCode !== null) resume(Effect.void)
    else c.once("exit", () => resume(Effect.void))
  })

const cluster = (options: { readonly books: number; readonly partitions: number; readonly rate: number; readonly seconds: number; readonly server: string | undefined }) =>
  Effect.gen(function*() {
    const url = options.server ?? (yield* NatsServer.start()).url
    yield* Console.log(`nats-server: ${url}; ${options.books} book process(es) over ${options.partitions} partitions; feed at ${options.rate} records/s`)
    const client = yield* Layer.build(natsLayer(url))
    const owned = Array.from({ length: options.books }, (_, b) => Array.from({ length: options.partitions }, (_, p) => p).filter((p) => p % options.books === b))
    const books = yield* Effect.forEach(owned, (parts, b) => startBook(url, b, parts))
    const egress = NatsEgress.make({ name: "feed", layout: Tick, subjectPrefix: "ticks", partitions: options.partitions, key: "symbol", sequence: "seq", feed: "ticks", epoch: Date.now() % 2 ** 32 >>> 0 })
    const perBatch = 256
    const spacing = `${Math.max(1, Math.round((perBatch / options.rate) * 1000))} millis` as const
    const ticks = Stream.iterate(0, (b) => b + 1).pipe(
      Stream.schedule(Schedule.spaced(spacing)),
      Stream.flatMap((b) => Stream.range(b * perBatch, b * perBatch + perBatch - 1)),
      Stream.map((seq) => ({ seq, price: 100 + Math.sin(seq / 1000), symbol: seq % SYMBOLS }))
    )
    const source = Edge.fromStream(Tick, options.seconds > 0 ? ticks.pipe(Stream.interruptWhen(Effect.sleep(`${options.seconds} seconds`))) : ticks, { name: "ticks" })

    // When the scope closes (Ctrl-C, or --seconds): the feed has drained; the books catch up, stop, reconcile.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const published = egress.stats().recordsAcked
        const caughtUp = NatsClient.NatsClient.use((c) =>
          Effect.promise(() => Promise.all(owned.flatMap((parts, b) => parts.map((p) => c.manager.consumers.info("TICKS", `book-${b}-${p}`).catch(() => undefined)))))
        ).pipe(Effect.map((infos) => infos.every((i) => i !== undefined && i.num_pending === 0 && i.num_ack_pending === 0)), Effect.provide(client))
        yield* Effect.gen(function*() {
          while (!(yield* caughtUp)) yield* Effect.sleep("50 millis")
        }).pipe(Effect.timeoutOption("30 seconds"))
        for (const b of books) b.child.kill("SIGTERM")
        yield* Effect.forEach(books, (b) => exited(b.child), { discard: true })
        const results = books.map((b) => JSON.parse(b.output().trim().split("\n").pop() ?? "{}") as { book: number; counted: number; duplicates: number; redeliveries: number })
        for (const r of results) yield* Console.log(`book ${r.book}: ${r.counted} records (${r.duplicates} duplicates dropped, ${r.redeliveries} redeliveries)`)
        const consumed = results.reduce((n, r) => n + (r.counted ?? 0), 0)
        yield* Console.log(`reconciliation: published ${published}, consumed ${consumed} by ${results.length} book(s): ${published === consumed ? "balanced" : "NOT balanced"}`)
        if (published !== consumed) yield* NodePipelineRuntime.failCheck(`published ${published} ≠ consumed ${consumed}`)
      }).pipe(Effect.orDie)
    )
    const handle = yield* Pipeline.run(Pipeline.from(source).to(egress.edge), { batchSize: 4096 }).pipe(Effect.provide(client))
    yield* Effect.sync(() => {
      const s = egress.stats()
      process.stderr.write(`feed: ${s.recordsAcked} records acked in ${s.messagesAcked} messages, ${s.inFlight} in flight, ${s.publishFailures} publish failures\n`)
    }).pipe(Effect.repeat(Schedule.spaced("2 seconds")), Effect.forkScoped)
    yield* handle.done
  })

const command = Command.make("velox-nats-cluster", {
  books: Flag.Int("books").pipe(Flag.withDescription("book processes, each owning every books-th partition"), Flag.withDefault(2)),
  partitions: Flag.Int("partitions").pipe(Flag.withDescription("partitions (subjects ticks.<p>), by a hash of the symbol"), Flag.withDefault(4)),
  rate: Flag.Int("rate").pipe(Flag.withDescription("records per second the feed publishes"), Flag.withDefault(50_000)),
  seconds: Flag.Int("seconds").pipe(Flag.withDescription("stop after this many seconds (0: at Ctrl-C)"), Flag.withDefault(0)),
  server: Flag.String("server").pipe(Flag.withDescription("a NATS server URL (default: start a local nats-server)"), Flag.optional),
  role: Flag.Literals("role", ["feed", "book"]).pipe(Flag.withDescription("internal: what this process is"), Flag.withDefault("feed" as const)),
  index: Flag.Int("index").pipe(Flag.withDescription("internal: the book's number"), Flag.withDefault(0)),
  owned: Flag.String("owned").pipe(Flag.withDescription("internal: the book's partitions, comma-separated"), Flag.withDefault(""))
}, (o) => {
  const server = o.server._tag === "Some" ? o.server.value : undefined
  if (o.role === "book") return book(server ?? "nats://127.0.0.1:4222", o.index, o.owned.split(",").filter((s) => s !== "").map(Number))
  if (!(o.books >= 1 && o.partitions >= o.books && o.rate >= 1 && o.seconds >= 0)) {
    return Effect.die(new RangeError(`need books ≥ 1, partitions ≥ books, rate ≥ 1, seconds ≥ 0: books=${o.books} partitions=${o.partitions} rate=${o.rate} seconds=${o.seconds}`))
  }
  return cluster({ books: o.books, partitions: o.partitions, rate: o.rate, seconds: o.seconds, server })
})

NodeCli.run(command, { version: "0.1.0" })
