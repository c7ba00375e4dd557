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
}

export const stageWorkerData = (spec: HostSpec): StageWorkerData => ({ [MARKER]: true, spec })

export const specOf = (data: unknown): HostSpec => (data as StageWorkerData).spec

/** Runs this code in a stage host thread? */
export const inStageThread = (): boolean =>
  !isMainThread && typeof workerData === "object" && workerData !== null && (workerData as Record<string, unknown>)[MARKER] === true
