/**
 * `StageHost` on Node `worker_threads`: one thread per host, the spec handed over as `workerData`
 * (its SharedArrayBuffers are shared, not copied).
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { type HostOutcome, StageHost, StageHostError } from "@velox/core/StageHost"
import { realpathSync } from "node:fs"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { stageWorkerData } from "./internal/stageThread.ts"

// From sources Node runs the .ts directly; from dist/ the emitted .js (the compiler does not rewrite URLs).
const entry = new URL(`./internal/stageWorker.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url)

/**
 * Options of the worker-thread host.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * The nice value (0–19) each stage thread gives itself before its loop starts, below the main
   * thread's. On a machine with fewer cores than busy threads, the scheduler then runs the main thread
   * (HTTP, health, the ops surface) first when it has work, and the stage loops take what is left.
   * Default 0: the threads keep the process's priority. Linux only (elsewhere it does nothing).
   */
  readonly threadNice?: number
}

/**
 * Provides `StageHost` with worker threads, with `options`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (options: Options = {}): Layer.Layer<StageHost> => {
  const nice = options.threadNice ?? 0
  if (!(Number.isInteger(nice) && nice >= 0 && nice <= 19)) {
    throw new RangeError(`NodeStageHost: threadNice must be an integer from 0 to 19, got ${nice}`)
  }
  return Layer.sync(StageHost, () => make(nice))
}

/**
 * Provides `StageHost` with worker threads.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { NodeStageHost } from "@velox/node"
 *
 * declare const pipeline: Pipeline.Pipeline
 * Effect.runPromise(Effect.scoped(Pipeline.runToEnd(pipeline)).pipe(Effect.provide(NodeStageHost.layer)))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<StageHost> = layerWith()

const make = (nice: number): StageHost["Service"] => {
  const running = new Map<string, Worker>()
  return StageHost.of({
    entryModule: entryModule(),
    run: (spec) =>
      Effect.callback<HostOutcome, StageHostError>((resume) => {
        let worker: Worker
        try {
          worker = new Worker(entry, { workerData: stageWorkerData(spec, nice), name: `velox:${spec.name}` })
        } catch (e) {
          resume(Effect.fail(new StageHostError({ host: spec.name, message: String(e) })))
          return
        }
        running.set(spec.name, worker)
        let reported: HostOutcome | undefined
        let error: unknown
        worker.on("message", (m: HostOutcome) => {
          reported = m
        })
        worker.on("error", (e) => {
          error = e
        })
        worker.on("exit", (code) => {
          if (running.get(spec.name) === worker) running.delete(spec.name)
          resume(Effect.succeed(
            reported ?? {
              _tag: "Died",
              message: error instanceof Error
                ? (error.stack ?? error.message)
                : `thread exited with code ${code} before reporting`
            }
          ))
        })
        return Effect.promise(() => worker.terminate()).pipe(Effect.asVoid)
      }),
    terminate: (host) =>
      Effect.promise(async () => {
        const worker = running.get(host)
        if (worker === undefined) return false
        await worker.terminate()
        return true
      })
  })
}

/** The URL Node gave the program's entry module (`node program.ts`: its real path), if there is one. */
const entryModule = (): string | undefined => {
  const main = process.argv[1]
  if (main === undefined) return undefined
  try {
    return pathToFileURL(realpathSync(main)).href
  } catch {
    return undefined
  }
}
