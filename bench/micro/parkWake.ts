/**
 * What one timed park costs on this machine, below velox: `Atomics.wait` with a timeout of `waitUs`
 * (a futex wait), over and over on one thread for `durationMs`, with the thread's timer slack set to
 * `slackNs` first (Linux: `/proc/<tid>/timerslack_ns`, as the Node host sets a stage thread's).
 *
 * - `cpuUsPerWake`: the thread's CPU time (`process.threadCpuUsage()`) per wait: the syscall, the
 *   timer, the scheduler's switch out and back. A loop that parks between arrivals pays this per
 *   wake-up, whatever it then finds to do.
 * - `oversleepP50Us` / `oversleepP99Us`: how much longer than asked each wait slept: timer slack plus
 *   the wake-up (an idle vCPU's exit from halt, the scheduler). A paced record waits this long.
 *
 * Together they bound a paced loop: waking every T µs costs `cpuUsPerWake / T` of a core, and a record
 * that arrives just after a wake-up waits up to T plus the oversleep.
 */
import { readlinkSync, writeFileSync } from "node:fs"
import { InconclusiveRun } from "../harness.ts"

export interface Params {
  readonly slackNs: number
  readonly waitUs: number
  readonly durationMs: number
}

/** Sets the calling thread's timer slack, or ends the run as inconclusive where it cannot (not Linux). */
export const setTimerSlack = (slackNs: number): void => {
  try {
    const tid = readlinkSync("/proc/thread-self").split("/").pop()
    writeFileSync(`/proc/${tid}/timerslack_ns`, String(slackNs))
  } catch (e) {
    throw new InconclusiveRun(`cannot set this thread's timer slack here (Linux only): ${String(e)}`)
  }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  setTimerSlack(params.slackNs)
  const word = new Int32Array(new SharedArrayBuffer(4))
  const oversleepNs = new Float64Array(Math.ceil((params.durationMs * 1e3) / params.waitUs) + 1)
  let waits = 0
  const timeoutMs = params.waitUs / 1e3
  // Warm-up: JIT and the first page faults, untimed.
  for (let i = 0; i < 1_000; i++) Atomics.wait(word, 0, 0, timeoutMs)
  const t0 = performance.now()
  const cpu0 = process.threadCpuUsage()
  const end = t0 + params.durationMs
  let now = t0
  while (now < end && waits < oversleepNs.length) {
    const before = now
    if (Atomics.wait(word, 0, 0, timeoutMs) !== "timed-out") throw new Error("nothing notifies this word: every wait must time out")
    now = performance.now()
    oversleepNs[waits++] = (now - before) * 1e6 - params.waitUs * 1e3
  }
  const cpu = process.threadCpuUsage(cpu0)
  if (waits < 100) throw new Error(`only ${waits} waits in ${params.durationMs} ms`)
  const sorted = oversleepNs.subarray(0, waits).sort()
  const at = (q: number) => sorted[Math.min(waits - 1, Math.floor(q * waits))]! / 1e3
  return {
    cpuUsPerWake: (cpu.user + cpu.system) / waits,
    oversleepP50Us: at(0.5),
    oversleepP99Us: at(0.99),
    wakesPerSecond: (waits / (now - t0)) * 1e3,
    cpuPercent: ((cpu.user + cpu.system) / 1e3 / (now - t0)) * 100
  }
}
