/**
 * `/ticks` latency while the tick server ingests a million quotes per second, beside a peer: a bare
 * `node:http` server (`tickServerPeer.ts`, its own process) answering the same bytes.
 *
 * ```
 *   velox-tick-server (child process)                          this process
 *   ┌──────────────────────────────────────────────┐
 *   │ generator (1 M quotes/s) ─► health ─► throttle ─► tick store ─► bars   (one stage thread)
 *   │ main thread: HTTP ◄── GET /ticks?symbol=EURUSD&limit=10 ◄─────────┬── one request at a time,
 *   └──────────────────────────────────────────────┘                    │   keep-alive, timed
 *   node:http peer (child process): a pre-built /ticks answer ◄────────┘   (alternating with velox)
 * ```
 *
 * A run: start the server (`--no-persist` unless `persist`), wait for /ready, take one `/ticks` answer
 * as the peer's body and start the peer, warm up (requests untimed), then for `windowMs` send
 * requests back to back, velox and the peer in turn (the order swapped every pair), and time each one
 * from the request to the body's last byte. Both get the same client code (`node:http` with a
 * keep-alive agent of one socket each: `fetch` added about 0.4 ms of its own at the p50, bench/README),
 * in the same minutes, so a tail both show is the machine's, not the server's. Returns p50, p99 and
 * max in ms for each, and the ingest the server achieved over the window (quotes its throttle saw per
 * second, from /stats). Checked: every velox answer is 200 with 10 EURUSD ticks, newest first; every
 * peer answer is 200 with the body it was given; the server drained cleanly after (exit 0).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { InconclusiveRun } from "../harness.ts"
import { startTickServer, waitFor } from "./tickServerProcess.ts"

export interface Params {
  readonly rate: number
  readonly warmupMs: number
  readonly windowMs: number
  readonly persist: boolean
  readonly startTimeoutMs: number
}

const PATH = "/ticks?symbol=EURUSD&limit=10"
const PEER = fileURLToPath(new URL("./tickServerPeer.ts", import.meta.url))

const quantile = (sorted: ReadonlyArray<number>, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/** GET over `agent`: the status and the whole body. */
const get = (agent: Agent, url: string): Promise<{ readonly status: number; readonly body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { agent }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
      response.on("error", reject)
    })
    req.on("error", reject)
    req.end()
  })

const checkVelox = ({ body, status }: { readonly status: number; readonly body: string }) => {
  const ticks = JSON.parse(body) as Array<{ symbol: string; seq: number }>
  if (status !== 200 || ticks.length !== 10 || ticks.some((t, i) => t.symbol !== "EURUSD" || (i > 0 && t.seq >= ticks[i - 1]!.seq))) {
    throw new Error(`a bad /ticks answer: ${status} ${body.slice(0, 300)}`)
  }
}

/** The peer, started on `body`; resolves once it listens. */
const startPeer = (body: string, timeoutMs: number, lifetimeS: number): Promise<{ readonly url: string; readonly child: ChildProcess; readonly dir: string }> => {
  const dir = mkdtempSync(join(tmpdir(), "bench-ticks-peer-"))
  writeFileSync(join(dir, "body.json"), body)
  const child = spawn(process.execPath, [PEER, join(dir, "body.json"), String(lifetimeS)], { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`the node:http peer did not listen within ${timeoutMs} ms: ${output}`))
    }, timeoutMs)
    child.stderr!.on("data", (d: Buffer) => (output += d))
    child.stdout!.on("data", (d: Buffer) => {
      output += d
      const m = /peer on (http:\S+)/.exec(output)
      if (m === null) return
      clearTimeout(timer)
      resolve({ url: m[1]!, child, dir })
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the node:http peer exited (${code}): ${output}`))
    })
  })
}

const summary = (latencies: Array<number>) => {
  latencies.sort((a, b) => a - b)
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies[latencies.length - 1]! }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const server = await startTickServer(
    ["--rate", String(params.rate), "--stats-seconds", "3600", ...(params.persist ? [] : ["--no-persist"])],
    params.startTimeoutMs
  )
  const agents = { velox: new Agent({ keepAlive: true, maxSockets: 1 }), peer: new Agent({ keepAlive: true, maxSockets: 1 }) }
  let peer: Awaited<ReturnType<typeof startPeer>> | undefined
  try {
    await waitFor(() => fetch(`${server.url}/ready`).then((r) => r.status), (s) => s === 200, params.startTimeoutMs, "/ready")
    // The peer's body: a real answer (its ten ticks fill in once the store holds them).
    const sample = await waitFor(() => get(agents.velox, server.url + PATH), (a) => a.status === 200 && JSON.parse(a.body).length === 10, params.startTimeoutMs, "ten EURUSD ticks")
    // Its lifetime: the tick server's (tickServerProcess.ts), so neither outlives a killed bench process.
    peer = await startPeer(sample.body, params.startTimeoutMs, Math.ceil(params.startTimeoutMs / 1000) + 120)
    const urls = { velox: server.url + PATH, peer: peer.url + PATH }
    const latencies = { velox: [] as Array<number>, peer: [] as Array<number> }
    const one = async (who: "velox" | "peer", timed: boolean) => {
      const start = performance.now()
      const answer = await get(agents[who], urls[who])
      if (timed) latencies[who].push(performance.now() - start)
      if (who === "velox") checkVelox(answer)
      else if (answer.status !== 200 || answer.body !== sample.body) throw new Error(`a bad peer answer: ${answer.status} ${answer.body.slice(0, 300)}`)
    }
    const warmupEnd = performance.now() + params.warmupMs
    while (performance.now() < warmupEnd) {
      await one("velox", false)
      await one("peer", false)
    }
    const received = async () => (await server.getJson("/stats")).tickServer.throttle.received as number
    const r0 = await received()
    const t0 = performance.now()
    for (let i = 0; performance.now() - t0 < params.windowMs; i++) {
      const [first, second] = i % 2 === 0 ? ["velox", "peer"] as const : ["peer", "velox"] as const
      await one(first, true)
      await one(second, true)
    }
    const seconds = (performance.now() - t0) / 1000
    const ingest = ((await received()) - r0) / seconds
    if (latencies.velox.length < 100) throw new InconclusiveRun(`only ${latencies.velox.length} requests in the window`)
    const velox = summary(latencies.velox)
    const node = summary(latencies.peer)
    return {
      p50Ms: velox.p50,
      p99Ms: velox.p99,
      maxMs: velox.max,
      peerP50Ms: node.p50,
      peerP99Ms: node.p99,
      peerMaxMs: node.max,
      requests: latencies.velox.length,
      ingestMquotesPerSecond: ingest / 1e6
    }
  } finally {
    agents.velox.destroy()
    agents.peer.destroy()
    if (peer !== undefined) {
      peer.child.kill("SIGTERM")
      rmSync(peer.dir, { recursive: true, force: true })
    }
    const { code, output } = await server.stop()
    if (code !== 0) throw new Error(`the tick server exited ${code}:\n${output.slice(-3000)}`)
  }
}
