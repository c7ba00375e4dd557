/**
 * The chaos run (`npm run chaos -- --runs N`, not in CI): N rounds, each of
 *
 * - signal:  `--signals` times (default 3), scripts/chaos/pipeline.ts under full load, SIGTERM at a
 *            random instant (0–1.5 s in);
 * - threads: the same pipeline with 2,000,000 records, three of its worker threads killed at random
 *            instants mid-stream (`terminateHost`), restarted by the supervisor;
 * - kill -9: every `--journal-every` rounds (default 2), `velox-journaled` writing a journal is killed
 *            with SIGKILL at a random instant, then run again on the same journal to the end.
 *
 * After each run it recomputes the outcome from the program's own output — every stage and link
 * equation from the ledger's numbers (not its verdict), records lost end to end, duplicates by
 * guarantee (none allowed across a drain; at-least-once across a killed thread), and for the journal,
 * the records it holds against what the program had reported durable and what the second run added —
 * and prints a table. The last line gives the totals; the exit code is 1 if anything was lost, did not
 * balance or failed.
 *
 * `--runs 18 --signals 12` makes the target: 216 SIGTERMs, 54 thread kills (the count of kills
 * that landed; a kill of a thread that already ended does not count) and 9 kill -9s.
 *
 *   npm run chaos -- --runs 20 [--seed 1] [--signals 3] [--journal-every 2]
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const root = new URL("../", import.meta.url).pathname
const program = new URL("./chaos/pipeline.ts", import.meta.url).pathname
const bin = (name: string) => join(root, "node_modules/.bin", name)

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command; `attack` (if given) gets the child once `ready` matches its output. */
const run = (command: string, args: ReadonlyArray<string>, ready?: RegExp, attack?: (kill: (s: NodeJS.Signals) => void, out: () => string) => Promise<void>) =>
  new Promise<Run>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], cwd: root })
    let stdout = ""
    let stderr = ""
    let attacked = false
    const check = () => {
      if (attack === undefined || attacked || !ready!.test(stdout + stderr)) return
      attacked = true
      void attack((s) => child.kill(s), () => stdout + stderr)
    }
    child.stdout.on("data", (d) => {
      stdout += d
      check()
    })
    child.stderr.on("data", (d) => {
      stderr += d
      check()
    })
    const guard = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${command} ${args.join(" ")}: no exit within 180 s\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`))
    }, 180_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(guard)
      resolve({ code, signal, stdout, stderr })
    })
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Tally {
  runs: number
  kills: number
  records: number
  lost: number
  redelivered: number
  dupExactlyOnce: number
  dupAtLeastOnce: number
  unbalanced: number
  failed: number
}
const tally = (): Tally => ({ runs: 0, kills: 0, records: 0, lost: 0, redelivered: 0, dupExactlyOnce: 0, dupAtLeastOnce: 0, unbalanced: 0, failed: 0 })

interface StageResult {
  readonly stage: string
  readonly in: number
  readonly emitted: number
  readonly written: number
  readonly dropped: number
  readonly deadLettered: number
  readonly retained: number
  readonly redelivered: number
  readonly duplicated: number
  readonly lost: number
}

/** Checks a pipeline run from its `chaos-result` line; adds to `t`; returns what was wrong, if anything. */
const account = (t: Tally, r: Run, duplicates: "exactlyOnce" | "atLeastOnce"): string | undefined => {
  t.runs++
  const line = r.stdout.split("\n").find((l) => l.startsWith("chaos-result "))
  if (r.code !== 0 || line === undefined) {
    t.failed++
    return `exit ${r.code ?? r.signal}${line === undefined ? ", no result line" : ""}\n${r.stderr.slice(-1500)}`
  }
  const result = JSON.parse(line.slice("chaos-result ".length)) as { killed: number; balanced: boolean; stages: ReadonlyArray<StageResult> }
  t.kills += result.killed
  const [source, pass, batcher, sink] = result.stages as [StageResult, StageResult, StageResult, StageResult]
  // Every stage: in − redelivered = emitted + dropped + dead-lettered + retained + lost.
  const stagesOff = result.stages.filter((s) => s.in - s.redelivered !== s.emitted + s.dropped + s.deadLettered + s.retained + s.lost)
  // Every link (a chain here): what the consumer took once = what the producer wrote, plus its dup.
  const linksOff = result.stages.slice(1).filter((s, i) => s.in - s.redelivered !== result.stages[i]!.written + result.stages[i]!.duplicated)
  const dup = result.stages.reduce((n, s) => n + s.duplicated, 0)
  // End to end: every generated record (and every duplicate published before the batcher) is in a batch,
  // and every batch (with its duplicates) reached the sink. Dropped, dead-lettered, lost or left
  // retained anywhere, a record is missing from one of the two.
  const lost = source.emitted + source.duplicated + pass.duplicated - batcher.emitted + (batcher.written + batcher.duplicated - sink.emitted)
  t.records += source.emitted
  // Below 0: records arrived more often than counted (duplicates no counter explains), a problem as well.
  t.lost += Math.max(0, lost)
  t.redelivered += result.stages.reduce((n, s) => n + s.redelivered, 0)
  if (duplicates === "exactlyOnce") t.dupExactlyOnce += dup
  else t.dupAtLeastOnce += dup
  const off = !result.balanced || stagesOff.length > 0 || linksOff.length > 0
  if (off) t.unbalanced++
  if (off || lost !== 0 || (duplicates === "exactlyOnce" && dup !== 0)) {
    return `balanced=${result.balanced} stages off: ${stagesOff.map((s) => s.stage).join(",")} links off: ${linksOff.map((s) => s.stage).join(",")} lost ${lost} dup ${dup}`
  }
  return undefined
}

/** `velox-journal info`: the records the journal holds. */
const journalRecords = async (dir: string): Promise<number> => {
  const r = await run(bin("velox-journal"), ["info", dir])
  const m = /^records\s+([\d,]+)/m.exec(r.stdout)
  if (r.code !== 0 || m === null) throw new Error(`velox-journal info ${dir}: exit ${r.code}\n${r.stdout}\n${r.stderr}`)
  return Number(m[1]!.replaceAll(",", ""))
}

const journalRound = async (t: Tally, random: () => number): Promise<string | undefined> => {
  const dir = mkdtempSync(join(tmpdir(), "velox-chaos-"))
  try {
    const args = ["--journal", dir, "--fsync", "batch", "--batch-records", "200", "--batch-ms", "20"]
    // 1. Killed with SIGKILL mid-write: the journal keeps at least what the program reported durable.
    const killed = await run(bin("velox-journaled"), [...args, "--count", "0"], /appended [1-9]/, async (kill) => {
      await sleep(Math.floor(random() * 1500))
      kill("SIGKILL")
    })
    t.runs++
    t.kills++
    const durable = Math.max(0, ...[...(killed.stdout + killed.stderr).matchAll(/durable (\d+)/g)].map((m) => Number(m[1])))
    const recovered = await journalRecords(dir)
    t.records += recovered
    if (recovered < durable) t.lost += durable - recovered
    // 2. Run again on the same journal to the end: it adds exactly its records, with a balanced ledger.
    const count = 5_000
    const again = await run(bin("velox-journaled"), [...args, "--count", String(count)])
    t.runs++
    const total = await journalRecords(dir)
    t.records += count
    if (total < recovered + count) t.lost += recovered + count - total
    if (total > recovered + count) t.dupExactlyOnce += total - recovered - count
    if (!again.stdout.includes("ledger: balanced")) t.unbalanced++
    if (killed.signal !== "SIGKILL" || again.code !== 0) t.failed++
    if (recovered < durable || total !== recovered + count || again.code !== 0 || killed.signal !== "SIGKILL") {
      return `durable ${durable}, recovered ${recovered}, after the second run ${total} (expected ${recovered + count}), exit ${again.code}`
    }
    return undefined
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const main = async () => {
  const args = process.argv.slice(2)
  if (args.includes("--help")) {
    process.stdout.write(
      "npm run chaos -- --runs N [--seed S] [--signals K] [--journal-every J]\n\nEach round: K SIGTERMs (default 3), a run with 3 killed worker threads, and every J rounds (default 2) a kill -9\n" +
        "and restart of a journaled program. See scripts/chaos.ts. Prints a table of what happened to every record.\n"
    )
    return
  }
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`)
    const value = i < 0 ? fallback : Number(args[i + 1])
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer: ${args[i + 1]}`)
    return value
  }
  const runs = flag("runs", 10)
  let seed = flag("seed", 1)
  const signals = flag("signals", 3)
  const journalEvery = flag("journal-every", 2)
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const node = process.execPath
  const signal = tally()
  const threads = tally()
  const journal = tally()
  const problems: Array<string> = []
  for (let round = 1; round <= runs; round++) {
    const signalProblems: Array<string> = []
    for (let i = 0; i < signals; i++) {
      const s = await run(node, ["--conditions=@velox/source", program, "signal", String(Math.floor(random() * 1e9))], /chaos: running/, async (kill) => {
        await sleep(Math.floor(random() * 1500))
        kill("SIGTERM")
      })
      const problem = account(signal, s, "exactlyOnce")
      signal.kills++
      if (problem !== undefined) signalProblems.push(problem)
    }
    const signalProblem = signalProblems.length === 0 ? undefined : signalProblems.join("; ")
    if (signalProblem !== undefined) problems.push(`round ${round} signal: ${signalProblem}`)
    const k = await run(node, ["--conditions=@velox/source", program, "threads", String(Math.floor(random() * 1e9)), "2000000", "3"])
    const threadProblem = account(threads, k, "atLeastOnce")
    if (threadProblem !== undefined) problems.push(`round ${round} threads: ${threadProblem}`)
    if (round % journalEvery === 0) {
      const journalProblem = await journalRound(journal, random)
      if (journalProblem !== undefined) problems.push(`round ${round} kill -9: ${journalProblem}`)
    }
    process.stderr.write(`round ${round}/${runs}: signal ${signalProblem ?? "ok"}, threads ${threadProblem ?? "ok"}\n`)
  }
  const row = (name: string, t: Tally) =>
    `${name.padEnd(16)}${String(t.runs).padStart(6)}${String(t.kills).padStart(7)}${String(t.records).padStart(14)}${String(t.lost).padStart(6)}${String(t.redelivered).padStart(13)}` +
    `${String(t.dupExactlyOnce).padStart(16)}${String(t.dupAtLeastOnce).padStart(16)}${String(t.unbalanced).padStart(12)}${String(t.failed).padStart(8)}`
  const all = [signal, threads, journal]
  const total = (k: keyof Tally) => all.reduce((n, t) => n + t[k], 0)
  process.stdout.write(
    `${"".padEnd(16)}${"runs".padStart(6)}${"kills".padStart(7)}${"records".padStart(14)}${"lost".padStart(6)}${"redelivered".padStart(13)}` +
      `${"dup exactly-1".padStart(16)}${"dup at-least-1".padStart(16)}${"unbalanced".padStart(12)}${"failed".padStart(8)}\n` +
      row("SIGTERM", signal) + "\n" + row("thread kills", threads) + "\n" + row("kill -9+restart", journal) + "\n" +
      problems.map((p) => `  ${p}\n`).join("") +
      `totals: runs ${total("runs")}  records ${total("records")}  signal kills ${signal.kills}  thread kills ${threads.kills}  ` +
      `kill -9 ${journal.kills}  lost ${total("lost")}  redelivered ${total("redelivered")}  duplicated exactly-once ${total("dupExactlyOnce")}  ` +
      `duplicated at-least-once ${total("dupAtLeastOnce")}  unbalanced ${total("unbalanced")}  failed ${total("failed")}\n`
  )
  if (problems.length > 0 || total("lost") > 0 || total("unbalanced") > 0 || total("failed") > 0 || total("dupExactlyOnce") > 0) process.exitCode = 1
}

await main()
