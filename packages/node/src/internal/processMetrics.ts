/**
 * The process's own figures for the operations surface: CPU time, memory, and the main thread's
 * event-loop delay (Node's `monitorEventLoopDelay`, a histogram sampled by a libuv timer: no cost to
 * the stage loops, which run in their own threads).
 */
import { monitorEventLoopDelay } from "node:perf_hooks"

/** Event-loop delay over one window, in seconds. */
export interface LoopDelay {
  readonly p50Seconds: number
  readonly p99Seconds: number
  readonly maxSeconds: number
  readonly meanSeconds: number
}

export interface ProcessSample {
  readonly cpuUserSeconds: number
  readonly cpuSystemSeconds: number
  readonly residentBytes: number
  readonly heapUsedBytes: number
  readonly startTimeSeconds: number
  readonly uptimeSeconds: number
  /** The last completed window (see `ProcessMonitor.roll`). */
  readonly eventLoopDelay: LoopDelay
}

const NS_PER_SECOND = 1e9
const EMPTY_DELAY: LoopDelay = { p50Seconds: 0, p99Seconds: 0, maxSeconds: 0, meanSeconds: 0 }

/** A started event-loop delay monitor; `close` stops its timer. */
export class ProcessMonitor {
  private readonly histogram: ReturnType<typeof monitorEventLoopDelay>
  private window: LoopDelay = EMPTY_DELAY
  private readonly startTimeSeconds = (Date.now() - performance.now()) / 1e3
  private readonly resolutionNs: number

  constructor(resolutionMs = 20) {
    this.resolutionNs = resolutionMs * 1e6
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs })
    this.histogram.enable()
  }

  /** Ends the current delay window: its figures become what `sample` reports, and a new one starts. */
  roll(): void {
    const h = this.histogram
    // A window with no timer tick yet (count 0) keeps the previous figures rather than reporting zeros.
    if (h.count > 0) {
      // The histogram records the time between the monitor's timer ticks: the delay is what exceeds
      // the resolution (an idle loop reads ~resolution, not ~0).
      const delay = (ns: number) => Math.max(0, ns - this.resolutionNs) / NS_PER_SECOND
      this.window = {
        p50Seconds: delay(h.percentile(50)),
        p99Seconds: delay(h.percentile(99)),
        maxSeconds: delay(h.max),
        meanSeconds: delay(h.mean)
      }
    }
    h.reset()
  }

  sample(): ProcessSample {
    const cpu = process.cpuUsage()
    const memory = process.memoryUsage()
    return {
      cpuUserSeconds: cpu.user / 1e6,
      cpuSystemSeconds: cpu.system / 1e6,
      residentBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      startTimeSeconds: this.startTimeSeconds,
      uptimeSeconds: process.uptime(),
      eventLoopDelay: this.window
    }
  }

  close(): void {
    this.histogram.disable()
  }
}
