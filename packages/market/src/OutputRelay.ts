/**
 * The engine's output as a 1:1 stage: the same validation, counting and checksums as the `Output`
 * sink (see its module), with every valid bundle forwarded unchanged to the next stage — a file sink,
 * a journal. Its stage name is `output`, like the sink's, so the ledger, the reconciliation and `OutputTotals.read` read the
 * same with and without a writer after it.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { OutputRelay } from "@velox/market"
 * import { NodeFileSink } from "@velox/node"
 * import { BundleFeed } from "./myStages.ts" // a Bundle source
 *
 * const pipeline = Pipeline.from(BundleFeed, {})
 *   .via(OutputRelay, {})
 *   .to(NodeFileSink.sink, { path: "-", labels: { reason: ["size", "timeout", "drain"] } }) // NDJSON on stdout
 * ```
 *
 * @since 0.1.0
 */
import { Stage } from "@velox/core"
import * as BundleModule from "./Bundle.ts"
import { Bundle } from "./Bundle.ts"
import { Config, makeRelayLogic } from "./Output.ts"
import { counters, gauges, NAME } from "./OutputTotals.ts"

/**
 * @category stages
 * @since 0.1.0
 */
export const OutputRelay = Stage.make({
  name: NAME,
  module: import.meta.url,
  input: Bundle,
  output: Bundle,
  config: Config,
  errors: BundleModule.reasons,
  counters,
  gauges,
  make: makeRelayLogic
})
