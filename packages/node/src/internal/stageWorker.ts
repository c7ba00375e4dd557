/**
 * Entry point of a stage host thread: load the stage modules named in the spec, build the loop, run it
 * to its end, report how it ended. Loaded by `NodeStageHost` through `worker_threads`, with
 * `workerData` made by `stageWorkerData` (the marker tells `runMain` it is in a stage thread).
 */
import { parentPort, workerData } from "node:worker_threads"
import { runHost, timerSlackNsOf } from "@velox/core/platform"
import { specOf } from "./stageThread.ts"
import { setThreadTimerSlack } from "./timerSlack.ts"

const spec = specOf(workerData)
// Before the loop's first park: a loop that sleeps until its next arrival wakes within this of it.
const slack = timerSlackNsOf(spec)
if (slack !== undefined) setThreadTimerSlack(slack)
parentPort!.postMessage(await runHost(spec, (url) => import(url)))
