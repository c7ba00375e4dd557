/**
 * @since 0.1.0
 */
export * as Doorbell from "./Doorbell.ts"
export * as FanIn from "./FanIn.ts"
export * as IdleStrategy from "./IdleStrategy.ts"
export * as JournalDescriptor from "./JournalDescriptor.ts"
export * as NanoClock from "./NanoClock.ts"
export * as OneToOneRing from "./OneToOneRing.ts"
export * as RecordLayout from "./RecordLayout.ts"
export * as RingDescriptor from "./RingDescriptor.ts"
export * as Ledger from "./Ledger.ts"
export * as Pipeline from "./Pipeline.ts"
export * as Stage from "./Stage.ts"
export * as StageHost from "./StageHost.ts"
export * as PipelineConfig from "./PipelineConfig.ts"
export * as PipelineMetrics from "./PipelineMetrics.ts"
