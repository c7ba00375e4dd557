/**
 * CPU time of a bench process's velox loop threads, from Linux's per-thread scheduler stats: the
 * work's own CPU, without the main thread and Node's threads, however busy the machine is.
 */
import { readdirSync, readFileSync } from "node:fs"

/**
 * CPU time (ns) of this process's velox loop threads by kind, from Linux's per-thread scheduler stats
 * (`/proc/self/task/<tid>/schedstat`, ns on CPU; the thread name is the worker's, `velox:<host>`, cut to
 * 15 characters). `source`: the loops named `sourcePrefix…` (the ingress'); `others`: every other velox loop. Zeros
 * where /proc is not there. A peer's threads, named `<threadPrefix>…`, are read the same way.
 */
export const loopCpuNs = (
  sourcePrefix = "velox:ingress",
  threadPrefix = "velox:"
): { readonly source: number; readonly others: number } => {
  let source = 0
  let others = 0
  try {
    for (const tid of readdirSync("/proc/self/task")) {
      try {
        const name = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim()
        if (!name.startsWith(threadPrefix)) continue
        const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0])
        if (name.startsWith(sourcePrefix)) source += ns
        else others += ns
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    // No /proc.
  }
  return { source, others }
}

/**
 * CPU time (ns) of another process, every thread of it (`/proc/<pid>/task/<tid>/schedstat`): a broker
 * beside the bench process, which shares the machine's cores with it. 0 where /proc is not there.
 */
export const processCpuNs = (pid: number): number => {
  let ns = 0
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0])
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    // No /proc, or the process is gone.
  }
  return ns
}
