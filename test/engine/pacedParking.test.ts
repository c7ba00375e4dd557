import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Bundler, Ingress, OrderBookStage, Output, OutputTotals } from "@velox/market"
import { NodeStageHost } from "@velox/node"

describe("a loop with a paced source and a deadline timer", () => {
  it.live("parks between arrivals instead of spinning, and still flushes bundles on their timeout", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      // 200 transactions/s: 5 ms apart, far more than a spin phase; bundles of 16 close by their 1 ms timeout.
      const handle = yield* Pipeline.run(
        Pipeline.from(Ingress, { rate: 200, symbols: 2, count: 60 })
          .via(OrderBookStage, { symbols: 2 })
          .via(Bundler, { maxSize: 16, timeoutNs: 1_000_000 })
          .to(Output, {})
      ).pipe(Scope.provide(scope))
      yield* handle.done.pipe(Effect.timeout("20 seconds"))
      const parks = handle.stats().stages[0]!.parks
      yield* Scope.close(scope, Exit.void)
      const { ledger } = yield* handle.drainReport
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const out = OutputTotals.read(handle.stats())
      assert.strictEqual(out.transactions, 60)
      // Most bundles closed by timeout: arrivals are 5 ms apart, the timeout is 1 ms.
      assert.isAbove(out.timeoutFlushes, out.sizeFlushes)
      // ~300 ms of mostly waiting: the loop parked (a spinning loop would show 0 parks).
      assert.isAbove(parks, 30)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})
