/**
 * A thread's timer slack on Linux: how late the kernel may end the thread's timed waits (a futex wait
 * with a timeout, which is what `Atomics.wait` with a timeout is), so that it can batch wake-ups.
 * The default, 50 µs, is added to every park of a loop that sleeps until its next arrival; a stage
 * thread sets its own (`/proc/<tid>/timerslack_ns`, which a thread may write for itself unprivileged).
 */
import { readlinkSync, writeFileSync } from "node:fs"

/** `/proc/<tid>/timerslack_ns` of the calling thread, or undefined where there is no such file. */
const slackPath = (): string | undefined => {
  try {
    // "<pid>/task/<tid>": the thread's own entry; /proc/thread-self has no timerslack_ns of its own.
    const tid = readlinkSync("/proc/thread-self").split("/").pop()
    return tid === undefined ? undefined : `/proc/${tid}/timerslack_ns`
  } catch {
    return undefined
  }
}

/**
 * Sets the calling thread's timer slack to `ns`; returns whether it did (false off Linux, or where
 * /proc is not writable: the kernel's default stays, parks only end later).
 */
export const setThreadTimerSlack = (ns: number): boolean => {
  const path = slackPath()
  if (path === undefined) return false
  try {
    writeFileSync(path, String(ns))
    return true
  } catch {
    return false
  }
}
