import { assert, describe, it } from "@effect/vitest"
import { Worker } from "node:worker_threads"
import { TickStore } from "@velox/market"
import { isWhole } from "../fixtures/tickQuotes.ts"

/**
 * A writer thread fills a small store flat out (it laps each ring thousands of times) while the main
 * thread reads it: snapshots (one-off and through a snapshotter) and a follower must never return a torn
 * quote, nor quotes out of order.
 */
describe("the tick store read from the main thread while another thread writes", () => {
  it("snapshots and followers see whole quotes, in order, with every miss counted", async () => {
    const keys = 3
    const depth = 64
    const store = TickStore.make({ symbols: keys, depth })
    const control = new SharedArrayBuffer(8)
    const flags = new Int32Array(control)
    // Followed from the very start: nothing is written yet.
    const follower = TickStore.follower(store)
    const cursors = Array.from({ length: keys }, (_, k) => follower.cursor(k))
    const worker = new Worker(new URL("../fixtures/tickStoreWriter.ts", import.meta.url), { workerData: { store, keys, control } })
    const finished = new Promise<Array<number>>((resolve, reject) => {
      worker.once("message", resolve)
      worker.once("error", reject)
    })
    while (Atomics.load(flags, 1) === 0) await new Promise((r) => setTimeout(r, 5))

    const lastSeq = new Array<number>(keys).fill(0)
    const followed = new Array<number>(keys).fill(0)
    const missed = new Array<number>(keys).fill(0)
    let snapshots = 0
    let returned = 0
    let shortReads = 0
    const newestSeen = new Array<number>(keys).fill(0)
    const newest = TickStore.snapshotter(store)
    let previous: { readonly ticks: ReadonlyArray<unknown>; readonly text: string } | undefined
    // Read until the writer has lapped every ring many times (or enough reads were made).
    for (let round = 0; round < 6_000; round++) {
      const key = round % keys
      const limit = 1 + (round % (depth - 1))
      // Every other read through one snapshotter (its buffer reused and grown): the same promises.
      const ticks = round % 2 === 0 ? TickStore.snapshot(store, key, limit) : newest(key, limit)
      if (previous !== undefined && JSON.stringify(previous.ticks) !== previous.text) assert.fail("a later read changed ticks an earlier one returned")
      previous = { ticks, text: JSON.stringify(ticks) }
      snapshots++
      returned += ticks.length
      if (ticks.length < limit) shortReads++
      ticks.forEach((t, i) => {
        // Plain checks first: an assert per tick would dominate the run.
        if (!isWhole(t, key)) assert.fail(`snapshot ${snapshots}: tick ${i} of symbol ${key} is torn: ${JSON.stringify(t)}`)
        if (i > 0 && t.seq !== ticks[i - 1]!.seq - 1) assert.fail(`snapshot ${snapshots}: not newest first and consecutive at ${i}`)
      })
      if (ticks.length > 0) {
        assert.isAtLeast(ticks[0]!.seq, newestSeen[key]!, "a later snapshot never goes back in time")
        newestSeen[key] = ticks[0]!.seq
      }
      const got = follower.since(key, cursors[key]!, 16)
      cursors[key] = got.cursor
      missed[key]! += got.missed
      got.ticks.forEach((t) => {
        if (!isWhole(t, key)) assert.fail(`follower: a torn tick of symbol ${key}: ${JSON.stringify(t)}`)
      })
      if (got.ticks.length > 0 || got.missed > 0) {
        // What the follower returns continues where it left off, after what it missed.
        const first = got.ticks[0]?.seq ?? lastSeq[key]! + got.missed
        assert.strictEqual(first, lastSeq[key]! + got.missed + (got.ticks.length > 0 ? 1 : 0), "follower: in order, misses counted")
        got.ticks.forEach((t, i) => {
          if (i > 0 && t.seq !== got.ticks[i - 1]!.seq + 1) assert.fail(`follower: out of order at ${i}`)
        })
        lastSeq[key] = got.ticks.length > 0 ? got.ticks[got.ticks.length - 1]!.seq : lastSeq[key]! + got.missed
        followed[key]! += got.ticks.length
      }
      if (round % 256 === 0) await new Promise((r) => setImmediate(r))
    }
    Atomics.store(flags, 0, 1)
    const written = await finished
    await worker.terminate()
    // The follower drains what is left: everything written was followed or counted as missed.
    for (let k = 0; k < keys; k++) {
      for (;;) {
        const got = follower.since(k, cursors[k]!, 1_000)
        cursors[k] = got.cursor
        missed[k]! += got.missed
        followed[k]! += got.ticks.length
        if (got.ticks.length === 0 && got.missed === 0) break
      }
      assert.strictEqual(followed[k]! + missed[k]!, written[k]!, `symbol ${k}: followed + missed = written`)
    }
    assert.isAbove(written.reduce((a, b) => a + b, 0), 100 * depth * keys, "the writer lapped the rings many times")
    assert.isAbove(returned, 0)
    // Informational: how often a snapshot came back short because the writer lapped it.
    console.log(`tick store threads: ${snapshots} snapshots, ${returned} ticks, ${shortReads} short; written ${written.join(", ")}; missed ${missed.join(", ")}`)
  })
})
