import { assert, describe, it } from "@effect/vitest"
import { Worker } from "node:worker_threads"
import { Symbols } from "@velox/market"

const run = (table: SharedArrayBuffer, names: ReadonlyArray<string>, start: SharedArrayBuffer) =>
  new Promise<Array<number>>((resolve, reject) => {
    const worker = new Worker(new URL("../fixtures/symbolRegistrar.ts", import.meta.url), { workerData: { table, names, start } })
    worker.once("message", (ids: Array<number>) => {
      resolve(ids)
      void worker.terminate()
    })
    worker.once("error", reject)
  })

describe("Symbols across threads", () => {
  it("four threads registering the same names at once, each in its own order: one id per name, ids dense", async () => {
    const table = Symbols.make(20_000)
    const start = new SharedArrayBuffer(8)
    // Every thread registers the same 10,000 names, shuffled differently.
    const namesOf = (t: number) => {
      const names = Array.from({ length: 10_000 }, (_, i) => `N${i}`)
      for (let i = names.length - 1; i > 0; i--) {
        const j = (i * 7919 + t * 104729) % (i + 1)
        ;[names[i], names[j]] = [names[j]!, names[i]!]
      }
      return names
    }
    const lists = [0, 1, 2, 3].map(namesOf)
    const pending = lists.map((names) => run(table, names, start))
    // Once every worker is ready and waiting, release them together.
    const gun = new Int32Array(start)
    while (Atomics.load(gun, 1) < lists.length) await new Promise((r) => setTimeout(r, 10))
    Atomics.store(gun, 0, 1)
    Atomics.notify(gun, 0)
    const results = await Promise.all(pending)
    const idOf = new Map<string, number>()
    results.forEach((ids, t) =>
      ids.forEach((id, i) => {
        const name = lists[t]![i]!
        assert.isAtLeast(id, 0, `${name} registered`)
        const seen = idOf.get(name)
        if (seen !== undefined) assert.strictEqual(id, seen, `${name} has one id`)
        idOf.set(name, id)
      })
    )
    // 4 × 10,000 registrations of 10,000 distinct names: ids 0..9999, each naming its name.
    assert.strictEqual(idOf.size, 10_000)
    assert.strictEqual(Symbols.count(table), 10_000)
    assert.deepStrictEqual([...idOf.values()].sort((a, b) => a - b), Array.from({ length: 10_000 }, (_, i) => i))
    for (const [name, id] of idOf) assert.strictEqual(Symbols.nameOf(table, id), name)
  })
})
