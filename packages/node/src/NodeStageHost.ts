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
export const layer: Layer.Layer<StageHost> = Layer.sync(StageHost, () => {
  const running = new Map<string, Worker>()
  return StageHost.of({
    entryModule: entryModule(),
    run: (spec) =>
      Effect.callback<HostOutcome, StageHostError>((resume) => {
        let worker: Worker
        try {
          worker = new Worker(entry, { workerData: stageWorkerData(spec), name: `velox:${spec.name}` })
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
})

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
