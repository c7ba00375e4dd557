/**
 * Health from a snapshot: liveness and readiness in one, with the reasons a pipeline is not ready.
 */
import type { Health, Snapshot } from "../PipelineSnapshot.ts"

/** Where the pipeline is in its life, as the control plane knows it. */
export type Phase = "running" | "draining" | "done"

/**
 * `failed` once a stage was given up on; `done` once every stage finished (a finite source ran out) or
 * the drain ended; `draining` during the drain; `starting` while a stage has not started; else `running`.
 * Ready only while running with nothing to report: a stage that lost its state in a restart keeps
 * it from being ready for the rest of the run.
 */
export const healthOf = (snap: Snapshot, phase: Phase, failures: ReadonlyArray<string>): Health => {
  const reasons: Array<string> = [...failures]
  for (const st of snap.stages) {
    if (st.state === "Stopped" && phase === "running") reasons.push(`stage ${st.stage} is stopped`)
    if (st.state === "Crashed") reasons.push(`stage ${st.stage} crashed (restarting)`)
    // Its output since is built on fresh state (an empty book): never ready again in this run.
    if (st.stateLost > 0) {
      reasons.push(`stage ${st.stage} lost its state in ${st.stateLost === 1 ? "a restart" : `${st.stateLost} restarts`} (it keeps state and had no snapshot to restore)`)
    }
  }
  const starting = snap.stages.some((st) => st.state === "Idle")
  // A finite source ran out and every stage finished: the run has ended, scope closed or not.
  const finished = phase === "running" && snap.stages.every((st) => st.state === "Done")
  const status = failures.length > 0
    ? "failed"
    : finished
    ? "done"
    : phase !== "running"
    ? phase
    : starting
    ? "starting"
    : "running"
  if (status === "starting") {
    reasons.push("stages still starting: " + snap.stages.filter((st) => st.state === "Idle").map((st) => st.stage).join(", "))
  }
  if (status === "draining") reasons.push("draining")
  if (status === "done") reasons.push("the run has ended")
  return {
    status,
    ready: status === "running" && reasons.length === 0,
    reasons,
    stages: snap.stages.map((st) => ({ stage: st.stage, state: st.state, restarts: st.restarts, crashes: st.crashes, stateLost: st.stateLost }))
  }
}
