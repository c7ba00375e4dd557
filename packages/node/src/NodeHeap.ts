/**
 * V8's heap tuned for a process that streams messages through a client library (mqtt.js, an HTTP
 * or WebSocket server), where each message allocates a few objects that die within a socket read.
 *
 * **Why.** V8 samples, for each allocation site, how many of its recent objects are still alive at a
 * young-generation collection; at 85% or more it *pretenures* the site: its objects are allocated in
 * the old generation from then on. A message client keeps a socket read's messages (hundreds of
 * packets, payload views, callbacks queued with `process.nextTick`) until they are all handled, so a
 * collection that lands inside a read finds the few objects V8 sampled there alive, and tenures sites
 * whose objects live for microseconds: every later message then allocates in the old generation, and
 * full collections clean up after them. It comes and goes with where collections land, so a process
 * runs at two speeds. `"streaming"` turns allocation-site pretenuring off for the process
 * (`--no-allocation-site-pretenuring`): the young generation's copying collector handles what dies
 * young, as it is built to.
 *
 * **Measured** (bench/README.md, the `mqtt` suite's "ninth round"): JSON quotes from a fast server through
 * `MqttFeed` into a pipeline took 2.7–2.8 µs of the main thread a message with V8's default and 2.0
 * with `"streaming"`, 30–40% more messages a second; the bare mqtt.js client beside it, 1.5–1.7 µs
 * either way.
 *
 * The setting is the process's (every worker thread included) and applies from the next collection;
 * make it early, before the work starts. `NodeCli.run(…, { heap: "streaming" })` does it for a
 * program.
 *
 * @since 0.1.0
 */
import * as v8 from "node:v8"

/**
 * `"default"`: V8's own heuristics. `"streaming"`: allocation-site pretenuring off (see the module
 * comment).
 *
 * @category models
 * @since 0.1.0
 */
export type Tuning = "default" | "streaming"

/**
 * Sets the process's heap tuning.
 *
 * @example
 * ```ts
 * import { NodeHeap } from "@velox/node"
 *
 * NodeHeap.tune("streaming") // first thing in a feed process
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const tune = (tuning: Tuning): void => {
  v8.setFlagsFromString(tuning === "streaming" ? "--no-allocation-site-pretenuring" : "--allocation-site-pretenuring")
}
