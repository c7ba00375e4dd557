import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { readFileSync, rmSync } from "node:fs"
import WebSocket from "ws"
import { toolPath } from "../../scripts/tools.ts"
import { describeRun, runProgram } from "../fixtures/runProgram.ts"

/**
 * velox-nats-cluster end to end: a local nats-server, the feed, two book processes and the gateway.
 * Nothing waits on a clock to decide: each step waits for what the processes print or serve, under
 * generous guards.
 */

const command = new URL("../../node_modules/.bin/velox-nats-cluster", import.meta.url).pathname

interface Cluster {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

const launch = (args: ReadonlyArray<string>): Cluster => {
  const child = spawn(command, ["--port", "0", "--symbols", "20", "--rate", "1000", ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (d: Buffer) => (output += d))
  child.stderr!.on("data", (d: Buffer) => (output += d))
  // "close": every byte read, and the children (which write on the same stderr) are gone too.
  const exited = new Promise<number | null>((done) => child.once("close", (code) => done(code)))
  return { child, output: () => output, exited }
}

/** Waits until `check` gives a value (polled every 100 ms), failing with the output after `guardMs`. */
const until = async <A>(cluster: Cluster, what: string, check: () => Promise<A | undefined> | A | undefined, guardMs = 120_000): Promise<A> => {
  const deadline = Date.now() + guardMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`no ${what} within ${guardMs} ms:\n${cluster.output().slice(-6000)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Running: not gone, and not a zombie its new parent has yet to reap (it has exited all the same). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

/** The pids the launcher printed: nats-server's and each child's. */
const pidsOf = (output: string): Record<string, number> => {
  const line = /^nats-server .*$/m.exec(output)?.[0] ?? ""
  const pids: Record<string, number> = {}
  for (const m of line.matchAll(/(nats-server|book-\d+|gateway)[^,;]*?pid (\d+)/g)) pids[m[1]!] = Number(m[2])
  return pids
}

/** The local server's directory, which a launcher killed with SIGKILL leaves behind. */
const storeOf = (output: string): string | undefined => /^nats-server .*\(pid \d+, store ([^)]+)\)/m.exec(output)?.[1]

const getJson = async (url: string): Promise<any> => (await fetch(url)).json()

describe("velox-nats-cluster", () => {
  it("answers --help with its flags", async () => {
    const help = await runProgram(command, ["--help"])
    assert.strictEqual(help.code, 0, describeRun(help))
    for (const flag of ["--books", "--partitions", "--symbols", "--rate", "--port", "--seconds", "--server", "--role"]) assert.include(help.stdout, flag)
  })

  it("the gateway serves the merged top of book (/bbo, /ws) and the cluster's view; SIGTERM to the launcher drains every process and reconciles", async () => {
    const cluster = launch(["--books", "2", "--partitions", "4"])
    try {
      const url = await until(cluster, "gateway URL", () => /gateway on (http:\/\/127\.0\.0\.1:\d+)/.exec(cluster.output())?.[1])
      // Every process reporting, and top of book through the gateway.
      const view = await until(cluster, "cluster view with records through every process", async () => {
        const s = await getJson(`${url}/cluster.json`)
        const names = s.processes.filter((p: any) => p.up).map((p: any) => p.process).join(",")
        return names === "book-0,book-1,feed,gateway" && s.totals.gatewayStored > 0 && s.processes.every((p: any) => p.role === "feed" || p.recordsIn > 0) ? s : undefined
      })
      assert.deepStrictEqual(view.processes.find((p: any) => p.process === "book-1").partitions, [1, 3])
      // Stored in the gateway's tick store: its symbols' last top of book.
      const bbo = await getJson(`${url}/bbo`)
      assert.isAbove(bbo.length, 0, JSON.stringify(view.totals))
      const quote = bbo[0]
      assert.isAbove(quote.ask, 0)
      assert.isAbove(quote.bid, 0)

      // A WebSocket client subscribed to a symbol gets its top of book as it changes.
      const ws = new WebSocket(`${url.replace("http", "ws")}/ws`)
      const frames: Array<any> = []
      ws.on("message", (d) => frames.push(JSON.parse(String(d))))
      await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject))
      ws.send(JSON.stringify({ type: "subscribe", symbols: bbo.map((q: any) => q.symbol), timeframes: [] }))
      const tick = await until(cluster, "a tick on /ws", () =>
        frames.filter((f) => f.type === "events").flatMap((f) => f.events).find((e: any) => e.type === "tick"))
      assert.isTrue(bbo.some((q: any) => q.symbol === tick.symbol))
      ws.close()

      const metrics = await (await fetch(`${url}/metrics`)).text()
      assert.match(metrics, /^velox_cluster_process_up\{process="book-0",role="book"\} 1$/m)
      assert.match(metrics, /^velox_nats_ingress_redeliveries_total/m)
      const check = spawnSync(toolPath("promtool"), ["check", "metrics"], { input: metrics, encoding: "utf8" })
      assert.strictEqual(check.status, 0, `promtool: ${check.stdout}${check.stderr}`)
      const page = await (await fetch(`${url}/cluster`)).text()
      assert.include(page, "<title>velox · NATS cluster</title>")

      cluster.child.kill("SIGTERM")
      const code = await cluster.exited
      const output = cluster.output()
      assert.strictEqual(code, 0, output.slice(-6000))
      assert.strictEqual(output.match(/^ {2}ok {2}/gm)?.length, 4, output.slice(-6000))
      assert.include(output, "reconciliation: balanced", output.slice(-6000))
      assert.match(output, /^book-0: in [1-9][\d,]*, out [1-9]/m, output.slice(-6000))
      assert.match(output, /^gateway: in [1-9][\d,]*, out [1-9]/m, output.slice(-6000))
    } finally {
      cluster.child.kill("SIGKILL")
    }
  }, 300_000)

  it("kill -9 of the launcher: the books, the gateway and the local nats-server end too", async () => {
    const cluster = launch(["--books", "2", "--partitions", "2"])
    let pids: Record<string, number> = {}
    try {
      // Every child has started (each watches its stdin before it starts its pipeline).
      await until(cluster, "every child running", () => {
        const out = cluster.output()
        return /^book-0: partitions/m.test(out) && /^book-1: partitions/m.test(out) && /^gateway on /m.test(out) ? true : undefined
      })
      pids = pidsOf(cluster.output())
      assert.deepStrictEqual(Object.keys(pids).sort(), ["book-0", "book-1", "gateway", "nats-server"], cluster.output())
      assert.isTrue(Object.values(pids).every(alive))
      cluster.child.kill("SIGKILL")
      await until(cluster, "every child gone", () => (Object.values(pids).some(alive) ? undefined : true))
      await cluster.exited
      const output = cluster.output()
      for (const name of ["book-0", "book-1", "gateway"]) assert.include(output, `${name}: the launcher is gone (stdin closed): draining`, output.slice(-6000))
    } finally {
      for (const pid of Object.values(pids)) if (alive(pid)) process.kill(pid, "SIGKILL")
      const store = storeOf(cluster.output())
      if (store !== undefined && store.includes("velox-nats-")) rmSync(store, { recursive: true, force: true })
    }
  }, 300_000)
})
