/**
 * `@velox/market/unsafe`: the market kernels — the order flow generator, the exact order book, the
 * bundle and transaction checks — with no Effect around them, for code that must drive them directly
 * (benchmark peer loops that do the engine's work by hand). **Unstable**: names and signatures follow
 * the kernels and may change in any release; `OrderBook`, `Ingress`, `Bundle` and `Transaction` are the
 * stable face of the same code.
 *
 * @since 0.1.0
 */
export { validateFields as validateBundleFields } from "./internal/kernel/bundle.ts"
export * from "./internal/kernel/orderBook.ts"
export {
  ADD_SHARE,
  BAND_TICKS,
  CANCEL_SHARE,
  FIRST_MID,
  INVALID_VARIANTS,
  LADDER_TICKS,
  MAX_ADD_SIZE,
  MAX_SYMBOLS,
  MAX_TRADE_SIZE,
  MID_SPACING,
  OrderFlow,
  Sfc32,
  WALK_PROBABILITY
} from "./internal/kernel/orderFlow.ts"
export type { OrderFlowOptions } from "./internal/kernel/orderFlow.ts"
export { validateFields as validateTransactionFields } from "./internal/kernel/transaction.ts"
export * as L2BooksKernel from "./internal/kernel/l2Books.ts"
export { L2Flow as L2FlowKernel } from "./internal/kernel/l2Flow.ts"
export * as L2StatusKernel from "./internal/kernel/l2Status.ts"
/** The L2 book stage's logic, to drive it in-process (the stage itself is `L2BookStage` of `@velox/market`). */
export { makeLogic as makeL2BookLogic } from "./L2BookStage.ts"
/** The market-data stages' logic, to drive them in-process (the stages are `Throttle`, `TickStoreSink`, `TickStoreRelay`, `Bars`, `FeedHealth`, `QuoteGenerator`). */
export { makeLogic as makeThrottleLogic } from "./Throttle.ts"
export { makeLogic as makeTickStoreLogic } from "./TickStoreSink.ts"
export { makeLogic as makeTickStoreRelayLogic } from "./TickStoreRelay.ts"
export { makeLogic as makeBarsLogic } from "./Bars.ts"
export { makeLogic as makeFeedHealthLogic } from "./FeedHealth.ts"
export { makeLogic as makeQuoteGeneratorLogic } from "./QuoteGenerator.ts"
