/**
 * Thread 1 of `pipeline/velox-workers-3` (counter + pt-1, writing the ring) against the bare peer's W1
 * (`topology/oneToThreePipelinePlainThreads.worker.ts`: generate, copy into the ring, publish), in one
 * thread and one process, round after round in alternation, each in the thread's own CPU time: a load
 * that slows one slows the other in the same round, so the per-round ratio is what the loop costs.
 * velox's loop is the real one (`buildRunner`, as a worker builds it: run defaults, batch 256); its ring
 * is emptied in the same thread after each pass, so it never waits (a consumer's `poll` and `release`
 * per pass, a few ns a batch, are in its figure). Prints ns per record, medians over the rounds, and
 * each round's figure (velox's moved between two levels within one process until the Counter kept its loop
 * counter in a register: see bench/README.md, "Thread 1's two speeds, found").
 *
 * ```
 *   node_modules/.bin/node --conditions=@velox/source packages/core/test/perf/pipelineW1.ts [rounds]
 * ```
 */
import { buildRunner, type HostedDefinition } from "../../src/internal/kernel/host.ts"
import { makeRing, RingConsumer } from "../../src/internal/kernel/oneToOneRing.ts"
import { Counter, PassThrough, Sequenced } from "../../src/stages/index.ts"
import { copy, F64S, generate } from "../../../../bench/micro/oneToThreePipelinePlainLoop.ts"
import { chainSpec } from "../fixtures/chainSpec.ts"

const rounds = Number(process.argv[2] ?? 30)
const BATCH = 256
const CAPACITY = 16384
const PASSES = 10_000
const WARMUP_ROUNDS = 6

const ring = makeRing({ capacity: CAPACITY, slotBytes: Sequenced.byteLength })
const stages = [Counter, PassThrough]
const definitions = stages as unknown as ReadonlyArray<HostedDefinition>
const spec = chainSpec({
  name: "w1",
  stages,
  configs: [{ count: Infinity }, {}],
  instanceOf: (name) => name,
  inputs: [],
  output: { _tag: "Ring", handle: ring },
  // Larger than a batch, as a pipeline's: a pass takes no more than the dead-letter ring could hold.
  deadLetterCapacity: 1024,
  batchSize: BATCH
})
const runner = buildRunner(spec, definitions)
const consumer = new RingConsumer(ring)
let veloxRecords = 0
/** One pass of velox's thread-1 loop, then the ring emptied. */
const velox = (): void => {
  runner.runSlice(1)
  const n = consumer.poll(CAPACITY)
  if (n > 0) consumer.release(n)
  veloxRecords += n
}

// The peer's W1 as its worker runs it, hand-off included (a TAIL store, a bell load); HEAD released at once.
const TAIL = 0
const HEAD = 32
const BELL = 64
const words = new Int32Array(new SharedArrayBuffer(512))
const slots = new SharedArrayBuffer(CAPACITY * F64S * 8)
const ringBatches = Array.from({ length: CAPACITY / BATCH }, (_, k) => new Float64Array(slots, k * BATCH * F64S * 8, BATCH * F64S))
const scratch = new ArrayBuffer(BATCH * F64S * 8)
const f64 = new Float64Array(scratch)
const u32 = new Uint32Array(scratch)
let tail = 0
let seq = 0
const peer = (): void => {
  generate(f64, u32, seq, BATCH)
  copy(f64, ringBatches[(tail & (CAPACITY - 1)) / BATCH]!, BATCH)
  tail += BATCH
  seq += BATCH
  Atomics.store(words, TAIL, tail)
  if (Atomics.load(words, BELL) !== 0) Atomics.notify(words, BELL)
  Atomics.store(words, HEAD, tail)
}

// The rounds' loops are functions, as a worker's loop is (`run` calls `runSlice`), not loops at the
// module's top level (compiled by on-stack replacement, the whole pass inlined into them).
const runVelox = (): void => {
  for (let p = 0; p < PASSES; p++) velox()
}
const runPeer = (): void => {
  for (let p = 0; p < PASSES; p++) peer()
}
const cpuNs = (): number => {
  const u = process.threadCpuUsage()
  return (u.user + u.system) * 1e3
}
const median = (xs: Array<number>): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const veloxNs: Array<number> = []
const peerNs: Array<number> = []
const ratios: Array<number> = []
for (let r = 0; r < WARMUP_ROUNDS + rounds; r++) {
  const before = veloxRecords
  let t0 = cpuNs()
  runVelox()
  const v = (cpuNs() - t0) / (veloxRecords - before)
  t0 = cpuNs()
  runPeer()
  const q = (cpuNs() - t0) / (PASSES * BATCH)
  if (r < WARMUP_ROUNDS) continue
  veloxNs.push(v)
  peerNs.push(q)
  ratios.push(v / q)
}
if (veloxRecords !== (WARMUP_ROUNDS + rounds) * PASSES * BATCH) throw new Error(`velox passes took ${veloxRecords} records, not full batches`)
console.log(
  `velox W1 ${median(veloxNs).toFixed(2)} ns/record (min ${Math.min(...veloxNs).toFixed(2)}), peer W1 ${median(peerNs).toFixed(2)} (min ${
    Math.min(...peerNs).toFixed(2)
  }), velox ÷ peer ${median(ratios).toFixed(3)} (${rounds} rounds of ${PASSES} passes)`
)
console.log(`velox per round: ${veloxNs.map((x) => x.toFixed(0)).join(" ")}`)
console.log(`peer per round:  ${peerNs.map((x) => x.toFixed(0)).join(" ")}`)
