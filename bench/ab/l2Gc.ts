/**
 * Does the sorted-map peer's garbage cost velox's passes in the suite's 10k case? The suite's loop
 * (fill, velox, peer, floor per pass) with the peer on or off, timing velox's passes in the main
 * thread's CPU time and the whole process's (GC helper threads included).
 *
 *   node --conditions=@velox/source bench/ab/l2Gc.ts <symbols> <peer: 0|1> [passes]
 */
import { RecordLayout } from "@velox/core"
import { Bbo, L2Update } from "@velox/market"
import { L2FlowKernel as L2Flow, makeL2BookLogic } from "@velox/market/unsafe"
import { SortedMapL2 } from "../micro/l2Peers.ts"
import { fill } from "../micro/l2Updates.ts"

const symbols = Number(process.argv[2] ?? 10_000)
const withPeer = process.argv[3] === "1"
const passes = Number(process.argv[4] ?? 5)
const PASS = 1_000_000
const BATCH = 256
const flow = new L2Flow({ symbols, seed: 1, zipf: 1, levels: 50 })
const view = RecordLayout.view(L2Update.L2Update, new ArrayBuffer(PASS * L2Update.L2Update.byteLength), 0, PASS)
const out = RecordLayout.view(Bbo.Bbo, new ArrayBuffer(BATCH * Bbo.Bbo.byteLength), 0, BATCH)
let pos = 0
// A scratch emitter: the records it is handed are overwritten batch after batch (nothing reads them).
const emitter = {
  view: out,
  emit: () => {
    if (pos === BATCH) pos = 0
    return pos++
  },
  forward: () => {},
  account: () => {},
  drop: () => {
    throw new Error("velox dropped an update")
  },
  deadLetter: () => {
    throw new Error("velox refused an update")
  }
} as never
const logic = makeL2BookLogic({ symbols, reserveLadders: true })
const peer = new SortedMapL2(symbols)
const f = view.fields
const warmup = Math.ceil(Math.max(1_000_000, 400 * symbols) / PASS)
const thread: Array<number> = []
const proc: Array<number> = []
const wall: Array<number> = []
for (let r = 0; r < warmup + passes; r++) {
  fill(flow, view, PASS)
  const t0 = process.threadCpuUsage()
  const p0 = process.cpuUsage()
  const w0 = process.hrtime.bigint()
  for (let i = 0; i < PASS; i += BATCH) logic.onBatch(view, i, Math.min(BATCH, PASS - i), emitter)
  const t1 = process.threadCpuUsage(t0)
  const p1 = process.cpuUsage(p0)
  const w1 = Number(process.hrtime.bigint() - w0)
  if (r >= warmup) {
    thread.push((t1.user + t1.system) * 1e3 / PASS)
    proc.push((p1.user + p1.system) * 1e3 / PASS)
    wall.push(w1 / PASS)
  }
  if (withPeer) for (let i = 0; i < PASS; i++) peer.apply(f.symbol.get(i), f.op.get(i), f.side.get(i), f.price.get(i), f.size.get(i), f.seq.get(i))
}
const med = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1)
console.log(`${symbols} symbols, peer ${withPeer ? "on" : "off"}: velox's passes, ns/update: main thread CPU ${med(thread)}, process CPU ${med(proc)}, wall ${med(wall)}`)
