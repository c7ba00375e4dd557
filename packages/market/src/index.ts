/**
 * `@velox/market`: the trading and market-data domain, built on `@velox/core`'s public API: the exact
 * order book, the engine's records (Transaction, BookUpdate, Bundle) and its stages (Ingress,
 * OrderBookStage, Bundler, Output), L2 market data (L2Update, Bbo, L2BookStage, L2Status, the synthetic L2Flow and its source L2Feed),
 * and the market-data toolkit (Quote, Bar, Timeframe, Symbols).
 *
 * @since 0.1.0
 */
export * as OrderBook from "./OrderBook.ts"
export { BookSnapshot, OrderBookStage, snapshot as bookSnapshot } from "./OrderBookStage.ts"
export * as Transaction from "./Transaction.ts"
export * as BookUpdate from "./BookUpdate.ts"
export * as Bundle from "./Bundle.ts"
export { Ingress } from "./Ingress.ts"
export { Bundler } from "./Bundler.ts"
export { Output } from "./Output.ts"
export { OutputRelay } from "./OutputRelay.ts"
export * as OutputTotals from "./OutputTotals.ts"
export * as OutputLatency from "./OutputLatency.ts"
export * as L2Update from "./L2Update.ts"
export * as Bbo from "./Bbo.ts"
export * as L2Status from "./L2Status.ts"
export { L2BookStage } from "./L2BookStage.ts"
export * as L2Depth from "./L2Depth.ts"
export * as L2Flow from "./L2Flow.ts"
export { L2Feed } from "./L2Feed.ts"
export * as Quote from "./Quote.ts"
export * as Bar from "./Bar.ts"
export * as Timeframe from "./Timeframe.ts"
export * as Symbols from "./Symbols.ts"
export * as ThrottleStats from "./ThrottleStats.ts"
export { Throttle } from "./Throttle.ts"
export * as TickStore from "./TickStore.ts"
export { TickStoreSink } from "./TickStoreSink.ts"
export { TickStoreRelay } from "./TickStoreRelay.ts"
export * as BarStore from "./BarStore.ts"
export * as BarStats from "./BarStats.ts"
export { Bars, type Rebuild as BarsRebuild, rebuild as rebuildBars } from "./Bars.ts"
export * as FeedStatus from "./FeedStatus.ts"
export { FeedHealth } from "./FeedHealth.ts"
export { QuoteGenerator } from "./QuoteGenerator.ts"
