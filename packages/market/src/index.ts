/**
 * `@velox/market`: the trading and market-data domain, built on `@velox/core`'s public API: the exact
 * order book, the engine's records (Transaction, BookUpdate, Bundle) and its stages (Ingress,
 * OrderBookStage, Bundler, Output).
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
export * as OutputCounters from "./OutputCounters.ts"
export * as OutputLatency from "./OutputLatency.ts"
