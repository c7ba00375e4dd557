/**
 * The `mqtt` suite: quotes from mosquitto into a pipeline through `@velox/mqtt`.
 *
 * ```
 *   mosquitto (a backlog of N QoS 0 messages) ──▶ bare mqtt.js client, counting          (the peer)
 *   mosquitto (the same backlog)              ──▶ MqttFeed ──▶ mqtt edge ──▶ sink         (velox)
 *   replay server (its own process)           ──▶ bare client | MqttFeed …                (the same, "-replay")
 *   simulator at 10 k msg/s ──▶ mosquitto ──▶ MqttFeed: publish → leaving the dispatcher (latency)
 * ```
 *
 * Case names are stable: they are the keys of `bench/results/mqtt.json`. Targets (issue 11) are
 * printed, never asserted. See bench/README.md.
 */
import type { Suite } from "../harness.ts"
import type { Params } from "../topology/mqttFeed.ts"

const module = new URL("../topology/mqttFeed.ts", import.meta.url)

const throughput = (format: "json" | "binary", source: "mosquitto" | "replay" = "mosquitto", heap: "default" | "streaming" = "default") => {
  const suffix = (source === "replay" ? "-replay" : "") + (heap === "streaming" ? "-streaming-heap" : "")
  const tuned = heap === "streaming" ? ", the process's heap tuned for streaming (NodeHeap)" : ""
  return {
    label: source === "replay"
      ? `${format} quotes from the replay server (the subscriber sets the pace): MqttFeed into a pipeline, beside the bare mqtt.js client${tuned}`
      : `${format} quotes from a mosquitto backlog: MqttFeed into a pipeline, beside the bare mqtt.js client${tuned}`,
    module,
    params: { mode: "throughput", format, messages: 200_000, source, heap } satisfies Params,
    runs: 5,
    metrics: [
      { name: `mqtt/velox-${format}-kmsg-per-s${suffix}`, key: "veloxKmsgPerSecond", unit: "k msg/s" },
      { name: `mqtt/bare-client-${format}-kmsg-per-s${suffix}`, key: "bareKmsgPerSecond", unit: "k msg/s" },
      // Informational: the same client also parsing each payload with JSON.parse (the targets stay against the counting one).
      ...(format === "json" ? [{ name: `mqtt/bare-client-parse-json-kmsg-per-s${suffix}`, key: "bareParseJsonKmsgPerSecond", unit: "k msg/s" }] : [])
    ],
    details: ["veloxCpuUsPerMsg", "veloxMainCpuUsPerMsg", "veloxSinkCpuUsPerMsg", "veloxBrokerCpuUsPerMsg", "bareCpuUsPerMsg", "bareMainCpuUsPerMsg", "bareBrokerCpuUsPerMsg", "ratioFirstPair", "ratioSecondPair", "messages"],
    timeoutMs: 360_000
  }
}

export const suite: Suite = {
  name: "mqtt",
  jobs: [
    throughput("json"),
    throughput("binary"),
    throughput("json", "replay"),
    throughput("binary", "replay"),
    throughput("json", "replay", "streaming"),
    throughput("binary", "replay", "streaming"),
    {
      label: "latency at 10 k msg/s (binary): publish → leaving the dispatcher",
      module,
      params: { mode: "latency", format: "binary", rate: 10_000, warmupMs: 1_000, windowMs: 5_000 } satisfies Params,
      runs: 3,
      metrics: [
        { name: "mqtt/velox-latency-10k-p50-ms", key: "p50Ms", unit: "ms" },
        { name: "mqtt/velox-latency-10k-p99-ms", key: "p99Ms", unit: "ms" },
        // Informational: the bare mqtt.js client in the same conditions, publish → its message callback.
        { name: "mqtt/bare-client-latency-10k-p50-ms", key: "bareP50Ms", unit: "ms" },
        { name: "mqtt/bare-client-latency-10k-p99-ms", key: "bareP99Ms", unit: "ms" }
      ],
      details: ["maxMs", "received"],
      timeoutMs: 120_000
    }
  ],
  ratios: [
    { name: "mqtt/ratio-velox-vs-bare-client", numerator: "mqtt/velox-json-kmsg-per-s", denominator: "mqtt/bare-client-json-kmsg-per-s", target: { op: ">=", value: 0.9 } },
    { name: "mqtt/ratio-velox-vs-bare-client-binary", numerator: "mqtt/velox-binary-kmsg-per-s", denominator: "mqtt/bare-client-binary-kmsg-per-s", target: { op: ">=", value: 0.9 } },
    // The replay server instead of mosquitto: the subscriber sets the pace (mosquitto bounds the rows above on some VMs).
    { name: "mqtt/ratio-velox-vs-bare-client-replay", numerator: "mqtt/velox-json-kmsg-per-s-replay", denominator: "mqtt/bare-client-json-kmsg-per-s-replay", target: { op: ">=", value: 0.9 } },
    { name: "mqtt/ratio-velox-vs-bare-client-replay-binary", numerator: "mqtt/velox-binary-kmsg-per-s-replay", denominator: "mqtt/bare-client-binary-kmsg-per-s-replay", target: { op: ">=", value: 0.9 } },
    // The same, both sides in a process whose heap is tuned for streaming (as the MQTT example runs).
    {
      name: "mqtt/ratio-velox-vs-bare-client-replay-streaming-heap",
      numerator: "mqtt/velox-json-kmsg-per-s-replay-streaming-heap",
      denominator: "mqtt/bare-client-json-kmsg-per-s-replay-streaming-heap",
      target: { op: ">=", value: 0.9 }
    },
    {
      name: "mqtt/ratio-velox-vs-bare-client-replay-streaming-heap-binary",
      numerator: "mqtt/velox-binary-kmsg-per-s-replay-streaming-heap",
      denominator: "mqtt/bare-client-binary-kmsg-per-s-replay-streaming-heap",
      target: { op: ">=", value: 0.9 }
    }
  ],
  notes: [
    "Throughput: mosquitto first holds 200,000 QoS 0 messages (the simulator's quotes of 8 symbols, every price a whole number of ticks: ~150-byte JSON or 72-74-byte binary) for the subscriber's persistent session (queue_qos0_messages), published while it is offline; the timer runs from its connect to the 200,000th message counted (the peer: mqtt.js with a message handler that counts) or handed to the pipeline (velox: decoded into Quote records, feed health, the dispatcher, the pump into a backpressured source edge; the sink in a worker thread). Only mosquitto and the subscriber run while timed, after untimed warm-ups of both sides (20,000 messages into a bare client, then through a feed into a pipeline); velox's clock starts once its pipeline runs. Each run times each side twice, in the order peer, velox, velox, peer, and a side's rate is over both its passes (the pairs' own ratios are in the details). CPU time per message (process, main thread, the sink's thread, and mosquitto's, which shares the cores) in the details. Checked: exact counts, nothing dropped or dead-lettered, the feed's counts balanced.",
    "Replay (`-replay` rows): the same quotes, the same bare client and velox feed, the same passes and checks, from a tiny MQTT server in its own process (topology/mqttReplay.server.ts, mqtt-packet) that writes the backlog's pre-encoded QoS 0 PUBLISH packets in 64 KB writes as fast as the socket takes them: the subscriber, not the broker, sets the pace, so these rows show what the subscriber itself spends (mosquitto's CPU per message bounds the mosquitto rows on some VMs). Its CPU is reported as the broker's.",
    "Streaming heap (`-streaming-heap` rows): the replay rows again, in processes whose heap is tuned with `NodeHeap.tune(\"streaming\")` (V8's allocation-site pretenuring off, as `packages/examples/src/mqttFeed.ts` runs), both sides alike: V8 otherwise judges some of mqtt.js's per-message objects long-lived now and then, more often beside a pipeline, and allocates them in the old generation (see bench/README.md).",
    "Latency: the simulator publishes in the same process, stamping each quote with its publish time; p50/p99 over every quote of the run (warm-up included) from that stamp to the quote leaving the dispatcher (the feed's histogram, 2 significant digits); then the same simulator into the bare client, publish → its message callback (informational).",
    "Taken on a shared 2-vCPU machine: mosquitto, the subscriber and its sink thread share two cores with whatever else runs; read ratios within a run."
  ]
}
