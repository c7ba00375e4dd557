/**
 * What a platform needs to run stage hosts in threads of its own: the plain-data `HostSpec` a
 * `StageHost` receives (structured-cloneable: post it to the thread), and `runHost`, which loads the
 * spec's stage modules, builds its loop and runs it on the calling thread to its end. `@velox/node`'s
 * worker entry is these two lines:
 *
 * @example
 * ```ts
 * // stageWorker.ts, run by new Worker(url, { workerData: spec })
 * import { parentPort, workerData } from "node:worker_threads"
 * import { type HostSpec, runHost } from "@velox/core/platform"
 *
 * parentPort!.postMessage(await runHost(workerData as HostSpec, (url) => import(url)))
 * ```
 *
 * For platform authors; stages and pipelines never need it. No `effect` import, so a thread starts
 * light.
 *
 * @since 0.1.0
 */
export type {
  /** @category models @since 0.1.0 */
  HostMemberSpec,
  /** @category models @since 0.1.0 */
  HostOutcome,
  /** @category models @since 0.1.0 */
  HostOutput,
  /** @category models @since 0.1.0 */
  HostPort,
  /** @category models @since 0.1.0 */
  HostSpec,
  /** @category models @since 0.1.0 */
  LayoutSpec
} from "./internal/kernel/host.ts"
export type {
  /** @category models @since 0.1.0 */
  LinkStatsRef
} from "./internal/kernel/linkStatsDescriptor.ts"
export {
  /** @category constructors @since 0.1.0 */
  runHost
} from "./internal/kernel/host.ts"
