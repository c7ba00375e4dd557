/**
 * In-process A/B of L2 book implementations in the thread's own CPU time (a shared machine's wall clock
 * measures its time slicing, not the book): the same `L2Flow` passes go through each contender in
 * alternating order, `process.threadCpuUsage()` around each pass; every pass checks that all of them
 * published the same tops (count and checksum). Prints per-contender medians and each one ÷ the first.
 *
 * ```
 *   node --conditions=@velox/source bench/ab/l2Ab.ts <symbols> <contender,…> [rounds]
 *   contenders: velox (the stage's logic, defaults), velox-reserved (reserveLadders), plain (the floor),
 *               plain-aK, plain-gK (the floor with an early touch K records ahead, or in groups of K: EarlyTouch),
 *               old, old-w128, old-reserved (the stage's logic from bench/ab/old, a copy of packages/market/src at an
 *               older commit: git archive <commit> packages/market/src | tar -x --strip-components=3 -C bench/ab/old);
 *               a velox or old contender with -wN runs a window of N ticks (velox-reserved-w256)
 * ```
 */
import { RecordLayout } from "@velox/core"
import { L2Update } from "@velox/market"
import { L2FlowKernel as L2Flow } from "@velox/market/unsafe"
import { fill } from "../micro/l2Updates.ts"

const symbols = Number(process.argv[2] ?? 10_000)
const names = (process.argv[3] ?? "velox,plain").split(",")
const rounds = Number(process.argv[4] ?? 8)
const PASS = 1_000_000
const BATCH = 256
const flow = new L2Flow({ symbols, seed: 1, zipf: 1, levels: 50 })
const view = RecordLayout.view(L2Update.L2Update, new ArrayBuffer(PASS * L2Update.L2Update.byteLength), 0, PASS)
// Each contender is its own module instance (the query), so V8 keeps separate feedback for each.
const contenders = await Promise.all(names.map(async (name) => {
  const m = await import(`./l2AbContender.ts?${name}`)
  return m.make(name, symbols, view, BATCH) as { pass(n: number): void; written(): number; checksum(): number }
}))
const cpuNs = (): number => {
  const u = process.threadCpuUsage()
  return (u.user + u.system) * 1e3
}
const warmup = Math.ceil(Math.max(1_000_000, 400 * symbols) / PASS)
const ns: Array<Array<number>> = names.map(() => [])
for (let r = 0; r < warmup + rounds; r++) {
  fill(flow, view, PASS)
  const order = contenders.map((_, i) => (r % 2 === 0 ? i : contenders.length - 1 - i))
  for (const k of order) {
    const t0 = cpuNs()
    contenders[k]!.pass(PASS)
    if (r >= warmup) ns[k]!.push((cpuNs() - t0) / PASS)
  }
  const w = contenders.map((c) => c.written())
  const h = contenders.map((c) => c.checksum())
  if (w.some((x) => x !== w[0]) || h.some((x) => x !== h[0])) throw new Error(`the contenders disagree: tops ${w}, checksums ${h}`)
}
const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
for (let k = 0; k < names.length; k++) {
  console.log(`${names[k]!.padEnd(15)} median ${median(ns[k]!).toFixed(1)} ns/update  [${ns[k]!.map((x) => x.toFixed(0)).join(" ")}]`)
}
for (let k = 1; k < names.length; k++) {
  console.log(`${names[k]} ÷ ${names[0]}: median ${median(ns[k]!.map((x, i) => x / ns[0]![i]!)).toFixed(3)} (paired passes)`)
}
