/**
 * Runs a program under `npm run` so that signals behave as they do without npm:
 *
 *   "start": "exec node scripts/launch.ts velox-engine"        (npm start -- --rate 5000)
 *
 * Without it, npm's shell (`sh -c`, which does not exec its command) sits between npm and the
 * program: SIGTERM sent to npm kills the shell and leaves the program running, orphaned; Ctrl-C
 * reaches the program from the terminal while npm relays its own copy to the shell, which dies of it,
 * so npm exits 130 whatever the program did.
 *
 * The script's `exec` makes this launcher npm's child. It starts the program in a session of its own,
 * out of the terminal's reach, and is the one that signals it: SIGINT and SIGTERM are relayed, except
 * a copy of the same signal within {@link SAME_SIGNAL_MS} of the last one relayed (Ctrl-C reaches
 * the launcher twice: from the terminal, and from npm); SIGHUP (the terminal closed) becomes SIGTERM.
 * It exits as the program exited: its code, or its signal.
 */
import { spawn } from "node:child_process"

/** Copies of one press of Ctrl-C arrive within milliseconds; a second press to abandon a drain comes later. */
const SAME_SIGNAL_MS = 1000

const [command, ...args] = process.argv.slice(2)
if (command === undefined) {
  process.stderr.write("usage: node scripts/launch.ts <program> [args…]\n")
  process.exit(2)
}

const child = spawn(command, args, { stdio: "inherit", detached: true })
let last: { signal: NodeJS.Signals; at: number } | undefined

const relay = (received: NodeJS.Signals) => {
  const signal = received === "SIGHUP" ? "SIGTERM" : received
  const now = performance.now()
  if (last !== undefined && last.signal === signal && now - last.at < SAME_SIGNAL_MS) return
  last = { signal, at: now }
  child.kill(signal)
}
const signals: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM", "SIGHUP"]
for (const s of signals) process.on(s, relay)

child.on("error", (e) => {
  process.stderr.write(`launch: cannot run ${command}: ${e.message}\n`)
  process.exit(127)
})
child.on("exit", (code, signal) => {
  for (const s of signals) process.off(s, relay)
  if (signal !== null) process.kill(process.pid, signal)
  else process.exit(code ?? 1)
})
