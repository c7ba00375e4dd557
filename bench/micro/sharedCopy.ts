/**
 * What a batch hand-off's copy costs, by kind of memory, below velox: 256 records of 32 bytes copied
 * over and over in one thread, timed per record.
 *
 * ```
 *   private-copywithin   copyWithin inside an ArrayBuffer             (velox's fused hand-off: the ScratchArena)
 *   shared-copywithin    copyWithin inside a SharedArrayBuffer        (what a hand-off through one shared arena would be)
 *   shared-set           Float64Array.set from a shared view           (native copy out of a ring; views made once)
 *   loop-from-shared     4 f64 loads and stores a record, shared → private  (velox's and the bare peer's ring copy out)
 *   loop-to-shared       the same, private → shared                         (… and into the ring)
 * ```
 *
 * V8 copies anything in a `SharedArrayBuffer` with relaxed atomic moves, so the native copies that make
 * a fused hand-off cheap do not help a ring: this is the floor under the two ring copies a split
 * pipeline pays (see bench/README.md, "The two-thread ceiling"). Every copy is checked: the destination
 * must hold the source's words after the run.
 */

export interface Params {
  /** Copies per kind (each of 256 records). */
  readonly reps: number
}

/** f64 words per 32-byte record, and records per batch (velox's default batch). */
const F64S = 4
const BATCH = 256
const WORDS = BATCH * F64S
/** Batches per buffer: copies rotate among them, so each one moves memory the last did not touch. */
const SLOTS = 8

const loop = (src: Float64Array, s: number, dst: Float64Array, d: number, n: number): void => {
  const end = s + n
  for (; s < end; s += 4, d += 4) {
    dst[d] = src[s]!
    dst[d + 1] = src[s + 1]!
    dst[d + 2] = src[s + 2]!
    dst[d + 3] = src[s + 3]!
  }
}

const filled = (shared: boolean): Float64Array => {
  const words = new Float64Array(shared ? new SharedArrayBuffer(SLOTS * WORDS * 8) : new ArrayBuffer(SLOTS * WORDS * 8))
  for (let i = 0; i < words.length; i++) words[i] = i * 1.5
  return words
}

/** ns per record of `copy(k)` (k: the rep), after a warm-up of a tenth as many. */
const time = (reps: number, copy: (k: number) => void): number => {
  for (let k = 0; k < reps / 10; k++) copy(k)
  const t0 = performance.now()
  for (let k = 0; k < reps; k++) copy(k)
  return ((performance.now() - t0) * 1e6) / reps / BATCH
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const reps = params.reps
  const half = SLOTS / 2
  // Copies go from the first half of the slots to the second: slot k % half → slot half + k % half.
  const from = (k: number) => (k % half) * WORDS
  const to = (k: number) => (half + (k % half)) * WORDS
  const privateWords = filled(false)
  const sharedWords = filled(true)
  const sharedSrc = filled(true)
  const privateDst = filled(false)
  const sharedViews = Array.from({ length: half }, (_, i) => sharedSrc.subarray(i * WORDS, (i + 1) * WORDS))
  const privateSrc = filled(false)
  const sharedDst = filled(true)
  const result = {
    privateCopyWithinNs: time(reps, (k) => privateWords.copyWithin(to(k), from(k), from(k) + WORDS)),
    sharedCopyWithinNs: time(reps, (k) => sharedWords.copyWithin(to(k), from(k), from(k) + WORDS)),
    sharedSetNs: time(reps, (k) => privateDst.set(sharedViews[k % half]!, to(k))),
    loopFromSharedNs: time(reps, (k) => loop(sharedSrc, from(k), privateDst, to(k), WORDS)),
    loopToSharedNs: time(reps, (k) => loop(privateSrc, from(k), sharedDst, to(k), WORDS))
  }
  for (const [name, dst, src] of [
    ["private copyWithin", privateWords, privateWords],
    ["shared copyWithin", sharedWords, sharedWords],
    ["set and loop from shared", privateDst, sharedSrc],
    ["loop to shared", sharedDst, privateSrc]
  ] as const) {
    for (let i = 0; i < half * WORDS; i++) {
      if (!Object.is(dst[half * WORDS + i], src[i])) throw new Error(`${name}: word ${i} was not copied`)
    }
  }
  return result
}
