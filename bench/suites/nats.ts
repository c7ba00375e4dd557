/**
 * The `nats` suite: records per second between two processes through JetStream, velox
 * (`NatsEgress` → `NatsIngress` into a stage) beside the raw `@nats-io` client publishing and
 * consuming the same bytes, and the latency from publish to the consumer's stage at 100 k records/s.
 * What is measured and checked: `bench/topology/natsBridge.ts`.
 */
import type { Suite } from "../harness.ts"
import type { Params } from "../topology/natsBridge.ts"

const RUNS = 5
const MODULE = new URL("../topology/natsBridge.ts", import.meta.url)
const THROUGHPUT = 500_000
const LATENCY_RATE = 100_000
const LATENCY_RECORDS = 300_000

const job = (mode: Params["mode"], ratePerSec: number, records: number, metrics: Suite["jobs"][number]["metrics"]) => ({
  label: `${mode}, ${ratePerSec === 0 ? "as fast as acks allow" : `${ratePerSec} rec/s`}`,
  module: MODULE,
  params: { mode, records, ratePerSec } satisfies Params,
  runs: RUNS,
  metrics,
  details: ["records"],
  timeoutMs: 120_000
})

export const suite: Suite = {
  name: "nats",
  jobs: [
    job("velox", 0, THROUGHPUT, [{ name: "nats/velox-throughput", key: "mrecPerSec", unit: "Mrec/s" }]),
    job("raw", 0, THROUGHPUT, [{ name: "nats/raw-client-throughput", key: "mrecPerSec", unit: "Mrec/s" }]),
    job("velox", LATENCY_RATE, LATENCY_RECORDS, [
      { name: "nats/velox-latency-p50-100k", key: "p50Ms", unit: "ms" },
      { name: "nats/velox-latency-p99-100k", key: "p99Ms", unit: "ms" }
    ]),
    job("raw", LATENCY_RATE, LATENCY_RECORDS, [
      { name: "nats/raw-client-latency-p50-100k", key: "p50Ms", unit: "ms" },
      { name: "nats/raw-client-latency-p99-100k", key: "p99Ms", unit: "ms" }
    ])
  ],
  ratios: [
    { name: "nats/ratio-velox-vs-raw-client", numerator: "nats/velox-throughput", denominator: "nats/raw-client-throughput", target: { op: ">=", value: 0.8 } }
  ],
  notes: [
    `Throughput: ${THROUGHPUT} records of 32 bytes in batches of 256 (one message each), one partition, publish acks awaited one message at a time on both sides; from the first publish to the consumer's last arrival (the consumer is another process).`,
    `Latency: ${LATENCY_RECORDS} records paced at ${LATENCY_RATE} records/s (a batch of 256 every 2.56 ms), from the batch's creation (CLOCK_MONOTONIC) to the record's arrival at the consumer's stage: velox's sink stage behind its ingress's ring, the raw client's message callback.`,
    "nats-server runs on the same machine with a file store; on a shared machine all three processes compete for the cores."
  ]
}
