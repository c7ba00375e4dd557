/**
 * What a platform needs to run stage hosts in threads of its own: the plain-data `HostSpec` a
 * `StageHost` receives (structured-cloneable: post it to the thread), and `runHost`, which loads the
 * spec's stage modules, builds its loop and runs it on the calling thread to its end. A thread's entry
 * takes the spec its platform handed it and posts the outcome back (`@velox/node`'s is
 * `packages/node/src/internal/stageWorker.ts`):
 *
 * @example
 * ```ts
 * import { type HostOutcome, type HostSpec, runHost } from "@velox/core/platform"
 *
 * declare const spec: HostSpec // what the platform gave the thread
 * declare const reply: (outcome: HostOutcome) => void // how the thread answers its parent
 *
 * reply(await runHost(spec, (url) => import(url)))
 * ```
 *
 * A platform that can set a thread's timer slack (how late the OS may end a timed park) gives the
 * thread `timerSlackNsOf(spec)` first; Node does, on Linux.
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
  runHost,
  /** @category constructors @since 0.1.0 */
  timerSlackNsOf
} from "./internal/kernel/host.ts"
