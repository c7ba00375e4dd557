/**
 * `@velox/core/testing`: the stage contract test kit. `StageContract.check` checks a stage against
 * the five laws of the stage contract by property; `ReplaySource` and `CaptureSink` are the source and
 * sink it runs real pipelines with, usable in your own pipeline tests.
 *
 * @since 0.1.0
 */
export * as CaptureSink from "./CaptureSink.ts"
export * as ReplaySource from "./ReplaySource.ts"
export * as StageContract from "./StageContract.ts"
