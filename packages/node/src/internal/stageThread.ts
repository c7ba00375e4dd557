/**
 * What a stage host thread is given, and how code can tell it runs in one: `workerData` carries a
 * marker beside the host spec, so `runMain` refuses to start a second program in a stage thread (it
 * would, if the program's entry module were imported there).
 */
import { isMainThread, workerData } from "node:worker_threads"
import type { HostSpec } from "@velox/core/platform"

const MARKER = "@velox/node/stageThread"

interface StageWorkerData {
  readonly [MARKER]: true
  readonly spec: HostSpec
  /** The nice value the thread gives itself before its loop starts (0: it keeps its creator's). */
  readonly nice: number
}

export const stageWorkerData = (spec: HostSpec, nice: number): StageWorkerData => ({ [MARKER]: true, spec, nice })

export const specOf = (data: unknown): HostSpec => (data as StageWorkerData).spec

export const niceOf = (data: unknown): number => (data as StageWorkerData).nice

/** Runs this code in a stage host thread? */
export const inStageThread = (): boolean =>
  !isMainThread && typeof workerData === "object" && workerData !== null && (workerData as Record<string, unknown>)[MARKER] === true
