/**
 * Entry point of a stage host thread: load the stage modules named in the spec, build the loop, run it
 * to its end, report how it ended. Loaded by `NodeStageHost` through `worker_threads`, with
 * `workerData` made by `stageWorkerData` (the marker tells `runMain` it is in a stage thread).
 */
import { setPriority } from "node:os"
import { parentPort, workerData } from "node:worker_threads"
import { runHost, timerSlackNsOf } from "@velox/core/platform"
import { niceOf, specOf } from "./stageThread.ts"
import { setThreadTimerSlack } from "./timerSlack.ts"

const spec = specOf(workerData)
// Before the loop's first park: a loop that sleeps until its next arrival wakes within this of it.
const slack = timerSlackNsOf(spec)
if (slack !== undefined) setThreadTimerSlack(slack)
// Linux keeps a nice value per thread, and `setPriority(0, …)` sets the calling thread's: this loop
// yields to the main thread (and its HTTP answers) when the cores are short. Lowering one's own
// priority needs no privilege; where it fails, the thread keeps its creator's.
const nice = niceOf(workerData)
if (nice !== 0) {
  try {
    setPriority(0, nice)
  } catch {
    // not supported here: the thread runs at its creator's priority
  }
}
parentPort!.postMessage(await runHost(spec, (url) => import(url)))
