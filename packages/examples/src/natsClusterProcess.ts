/**
 * What every process of `velox-nats-cluster` shares: the streams, the connection layer, the report a
 * process gives of itself (published every second on core NATS for the gateway's aggregate view, and
 * written on stdout once drained, for the launcher's reconciliation), and how a child process ends
 * with the process that started it.
 */
import { hostname } from "node:os"
import { Effect, Layer, Schedule, type Scope } from "effect"
import type { Pipeline } from "@velox/core"
import { NatsClient, NatsConfig, type NatsEgress, type NatsIngress } from "@velox/nats"

/** Quotes from the feed, partitioned by symbol; the books' top of book (throttled quotes), partitioned the same way. */
export const QUOTES = { name: "QUOTES", prefix: "quotes" } as const
export const BBO = { name: "BBO", prefix: "bbo" } as const
/** Core NATS subject the processes report on: `<REPORTS>.<process>`. */
export const REPORTS = "velox.cluster.report"
export const REPORT_INTERVAL_MS = 1_000

/**
 * The streams keep 5 minutes: a demo left running stays within the local server's 1 GiB store (at
 * 20 k quotes/s the two take about 2.5 MB/s); a process more than that behind would lose records, and
 * the reconciliation would say so.
 */
const STREAM_MAX_AGE_MS = 300_000

export const natsLayer = (url: string) =>
  NatsClient.layer.pipe(Layer.provide(NatsConfig.layer({
    servers: [url],
    streams: [
      { name: QUOTES.name, subjects: [`${QUOTES.prefix}.>`], duplicateWindowMs: 120_000, maxAgeMs: STREAM_MAX_AGE_MS },
      { name: BBO.name, subjects: [`${BBO.prefix}.>`], duplicateWindowMs: 120_000, maxAgeMs: STREAM_MAX_AGE_MS }
    ]
  })))

export type Role = "feed" | "book" | "gateway"

/**
 * A process's account of itself. `recordsIn`: records it took in (generated, or from NATS after the
 * dedup); `recordsOut`: records it delivered (acked by the stream, or stored); `dropped`: records it
 * dropped or refused with a counted reason (the books' throttle). Drained: `in = out + dropped`.
 */
export interface Report {
  readonly process: string
  readonly role: Role
  readonly pid: number
  readonly host: string
  readonly atMs: number
  readonly connected: boolean
  readonly partitions: ReadonlyArray<number>
  readonly recordsIn: number
  readonly recordsOut: number
  readonly dropped: number
  readonly ingress?: NatsIngress.Stats | undefined
  readonly egress?: NatsEgress.Stats | undefined
  readonly final: boolean
}

export const isReport = (u: unknown): u is Report =>
  typeof u === "object" && u !== null && typeof (u as Report).process === "string" && typeof (u as Report).recordsIn === "number" &&
  typeof (u as Report).recordsOut === "number" && ["feed", "book", "gateway"].includes((u as Report).role)

export type Reading = Omit<Report, "pid" | "host" | "atMs" | "connected" | "final">

/** A stage's records dropped and refused, from the ledger. */
export const droppedBy = (handle: Pipeline.PipelineHandle, stage: string): number => {
  const line = handle.ledger().stages.find((s) => s.stage === stage)
  const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0)
  return line === undefined ? 0 : sum(line.dropped) + sum(line.deadLettered)
}

/**
 * Publishes the process's report every second on `<REPORTS>.<process>` until the scope closes, and
 * (`printFinal`) writes its last one (marked `final`) on stdout after the drain: the scope's finalizers
 * run after the pipeline's, as this is started before it. Returns the report as it stands.
 */
export const reporting = (read: () => Reading, options: { readonly printFinal: boolean } = { printFinal: true }) =>
  Effect.gen(function*() {
    const client = yield* NatsClient.NatsClient
    const report = (final: boolean): Report => ({
      ...read(),
      pid: process.pid,
      host: hostname(),
      atMs: Date.now(),
      connected: client.status().connected,
      final
    })
    if (options.printFinal) yield* Effect.addFinalizer(() => Effect.sync(() => process.stdout.write(`${JSON.stringify(report(true))}\n`)))
    yield* Effect.sync(() => {
      const r = report(false)
      // Core NATS, fire and forget: a report lost while the server is away is replaced by the next.
      if (r.connected) client.connection.publish(`${REPORTS}.${r.process}`, JSON.stringify(r))
    }).pipe(Effect.repeat(Schedule.spaced(REPORT_INTERVAL_MS)), Effect.forkScoped)
    return (): Report => report(false)
  })

/**
 * A child started by the launcher ends with it: its stdin is a pipe from the launcher, which the system
 * closes when the launcher dies, however it dies (`kill -9` too). Then the child stops as on SIGTERM
 * (it drains), and if the drain cannot finish (the server went with the launcher) a second SIGTERM
 * after `graceMs` abandons it, saying what it leaves behind. Nothing lingers.
 */
export const endWithParent = (name: string, graceMs: number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const onEnd = () => {
        process.stderr.write(`${name}: the launcher is gone (stdin closed): draining\n`)
        process.kill(process.pid, "SIGTERM")
        setTimeout(() => process.kill(process.pid, "SIGTERM"), graceMs).unref()
      }
      process.stdin.once("end", onEnd)
      process.stdin.on("error", () => undefined)
      // stdout is a pipe to the launcher too: once it is gone, the final report has no reader.
      process.stdout.on("error", () => undefined)
      // Read (and ignore) the pipe so that its end is seen; unref: it never keeps the process alive.
      process.stdin.resume()
      ;(process.stdin as { unref?: () => void }).unref?.()
      return onEnd
    }),
    (onEnd) => Effect.sync(() => process.stdin.off("end", onEnd))
  ).pipe(Effect.asVoid)
