/**
 * Entry point of a stage host thread: load the stage modules named in the spec, build the loop, run it
 * to its end, report how it ended. Loaded by `NodeStageHost` through `worker_threads`, with
 * `workerData` made by `stageWorkerData` (the marker tells `runMain` it is in a stage thread).
 */
import { parentPort, workerData } from "node:worker_threads"
import { runHost } from "@velox/core/platform"
import { specOf } from "./stageThread.ts"

parentPort!.postMessage(await runHost(specOf(workerData), (url) => import(url)))
