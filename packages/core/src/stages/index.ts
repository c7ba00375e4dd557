/**
 * Example stages shipped with velox, over the `Sequenced` record.
 *
 * @since 0.1.0
 */
export { Batcher } from "./Batcher.ts"
export { CountingSink } from "./CountingSink.ts"
export { Counter } from "./Counter.ts"
export { Filter } from "./Filter.ts"
export { PassThrough } from "./PassThrough.ts"
export { checkOf, Sequenced } from "./Sequenced.ts"
