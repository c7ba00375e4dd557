/**
 * Health from a snapshot: ready only while running with nothing to report, and the reasons otherwise.
 */
import { assert, describe, it } from "@effect/vitest"
import { healthOf } from "../src/internal/health.ts"
import type { Snapshot } from "../src/PipelineSnapshot.ts"
import { type Counts, stageSnapshot } from "./fixtures/snapshots.ts"

const snapshot = (...stages: ReadonlyArray<[string, Counts]>): Snapshot => ({
  stages: stages.map(([name, counts]) => stageSnapshot(name, counts)),
  rings: [],
  links: []
})
const running = snapshot(["a", { state: "Running" }], ["b", { state: "Running" }])

describe("health", () => {
  it("is ready while every stage runs, and reports each stage's state, restarts, crashes and lost state", () => {
    const h = healthOf(snapshot(["a", { state: "Running", restarts: 2, crashes: 3 }], ["b", { state: "Done" }]), "running", [])
    assert.strictEqual(h.status, "running")
    assert.isTrue(h.ready)
    assert.deepStrictEqual(h.reasons, [])
    assert.deepStrictEqual(h.stages, [
      { stage: "a", state: "Running", restarts: 2, crashes: 3, stateLost: 0 },
      { stage: "b", state: "Done", restarts: 0, crashes: 0, stateLost: 0 }
    ])
  })

  it("is not ready with a stopped stage, nor with one crashed and waiting for its restart, and says which", () => {
    const stopped = healthOf(snapshot(["a", { state: "Running" }], ["b", { state: "Stopped" }]), "running", [])
    assert.strictEqual(stopped.status, "running")
    assert.isFalse(stopped.ready)
    assert.deepStrictEqual(stopped.reasons, ["stage b is stopped"])
    const crashed = healthOf(snapshot(["a", { state: "Crashed" }], ["b", { state: "Running" }]), "running", [])
    assert.strictEqual(crashed.status, "running")
    assert.isFalse(crashed.ready)
    assert.deepStrictEqual(crashed.reasons, ["stage a crashed (restarting)"])
  })

  it("is never ready again after a stage lost its state in a restart", () => {
    const one = healthOf(snapshot(["a", { state: "Running", stateLost: 1 }]), "running", [])
    assert.isFalse(one.ready)
    assert.deepStrictEqual(one.reasons, ["stage a lost its state in a restart (it keeps state and had no snapshot to restore)"])
    assert.include(healthOf(snapshot(["a", { state: "Running", stateLost: 3 }]), "running", []).reasons[0]!, "in 3 restarts")
  })

  it("is starting while a stage has not started, naming it", () => {
    const h = healthOf(snapshot(["a", { state: "Running" }], ["b", { state: "Idle" }], ["c", { state: "Idle" }]), "running", [])
    assert.strictEqual(h.status, "starting")
    assert.isFalse(h.ready)
    assert.deepStrictEqual(h.reasons, ["stages still starting: b, c"])
  })

  it("is draining, then done, and not ready in either; a stopped stage during the drain is no news", () => {
    const draining = healthOf(snapshot(["a", { state: "Running" }], ["b", { state: "Stopped" }]), "draining", [])
    assert.strictEqual(draining.status, "draining")
    assert.isFalse(draining.ready)
    assert.deepStrictEqual(draining.reasons, ["draining"])
    const done = healthOf(running, "done", [])
    assert.strictEqual(done.status, "done")
    assert.isFalse(done.ready)
    assert.deepStrictEqual(done.reasons, ["the run has ended"])
    // A finite source ran out and every stage finished: done, though the scope is still open.
    const finished = healthOf(snapshot(["a", { state: "Done" }], ["b", { state: "Done" }]), "running", [])
    assert.strictEqual(finished.status, "done")
    assert.isFalse(finished.ready)
  })

  it("is failed once a stage was given up on, whatever the phase, with the failure first", () => {
    for (const phase of ["running", "draining", "done"] as const) {
      const h = healthOf(snapshot(["a", { state: "Done" }], ["b", { state: "Crashed" }]), phase, ["stage b failed: boom"])
      assert.strictEqual(h.status, "failed")
      assert.isFalse(h.ready)
      assert.strictEqual(h.reasons[0], "stage b failed: boom")
    }
  })
})
