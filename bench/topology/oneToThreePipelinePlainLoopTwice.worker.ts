/** One of `oneToThreePipelinePlainLoopTwice.ts`'s two threads: the plain loop, once the gate opens. */
import { parentPort, workerData } from "node:worker_threads"
import { run } from "../micro/oneToThreePipelinePlainLoop.ts"
import { waitGate } from "./common.ts"
import type { PlainLoopTwiceWorkerData } from "./oneToThreePipelinePlainLoopTwice.ts"

const data = workerData as PlainLoopTwiceWorkerData
parentPort!.postMessage("ready")
waitGate(data.gate)
parentPort!.postMessage(await run(data.params))
