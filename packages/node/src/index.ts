/**
 * @since 0.1.0
 */
export * as NodeStageHost from "./NodeStageHost.ts"
export * as NodeFileSink from "./NodeFileSink.ts"
export * as NodePipelineRuntime from "./NodePipelineRuntime.ts"
export * as NodePipelineServer from "./NodePipelineServer.ts"
export * as NodeLogger from "./NodeLogger.ts"
export * as NodeCli from "./NodeCli.ts"
export * as NodeJournal from "./NodeJournal.ts"
export * as NodeJournalUnsafe from "./NodeJournalUnsafe.ts"
export * as NodeJournalSink from "./NodeJournalSink.ts"
export * as NodeJournalSource from "./NodeJournalSource.ts"
export * as NodeServerProcess from "./NodeServerProcess.ts"
export * as NodeHeap from "./NodeHeap.ts"
