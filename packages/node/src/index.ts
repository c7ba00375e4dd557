/**
 * @since 0.1.0
 */
export * as NodeStageHost from "./NodeStageHost.ts"
