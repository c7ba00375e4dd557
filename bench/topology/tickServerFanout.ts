/**
 * WebSocket fan-out: 100 clients subscribed to every symbol while the tick server stores ~100,000
 * ticks per second — the server's CPU, and how many events it sent and dropped.
 *
 * ```
 *   velox-tick-server (child process)                                  this process
 *   ┌───────────────────────────────────────────────────┐
 *   │ generator ─► health ─► throttle ─┬─► tick-store ─► TickStore │
 *   │                                  └─► bars ──────► BarStore   │
 *   │ main thread: /ws hub follows both stores every 10 ms,       │ ──► 100 WebSocket clients (`ws`),
 *   │   one drop-oldest queue per client                          │     all symbols, counting bytes
 *   └───────────────────────────────────────────────────┘
 * ```
 *
 * A run: start the server (`--no-persist`), connect and subscribe the clients, warm up, then over
 * `windowMs` read the server's CPU time (/proc) and its hub counters (/stats): events sent and
 * dropped per second, and the ticks it stored per second. The clients do not parse the events (they
 * count bytes and frames), so that they read as fast as they can; on a small machine they share its
 * cores with the server. Checked: every client got its hello and at least one more frame (an answer,
 * events); every client is counted in the hub's; the server drained cleanly after.
 */
import WebSocket from "ws"
import { startTickServer, waitFor } from "./tickServerProcess.ts"

export interface Params {
  readonly rate: number
  readonly clients: number
  readonly warmupMs: number
  readonly windowMs: number
  readonly startTimeoutMs: number
}

const SYMBOLS = ["EURUSD", "AAPL", "GBPUSD", "MSFT", "USDJPY", "NVDA", "AUDUSD", "TSLA"]

export const run = async (params: Params): Promise<Record<string, number>> => {
  const server = await startTickServer(["--rate", String(params.rate), "--no-persist", "--stats-seconds", "3600"], params.startTimeoutMs)
  const sockets: Array<WebSocket> = []
  try {
    await waitFor(() => fetch(`${server.url}/ready`).then((r) => r.status), (s) => s === 200, params.startTimeoutMs, "/ready")
    const counts = Array.from({ length: params.clients }, () => ({ frames: 0, bytes: 0 }))
    // Each client subscribes as soon as it is open; the warm-up lets every subscription take hold
    // (waiting for each answer would wait behind the events flooding the clients already in).
    await Promise.all(counts.map((count) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(`${server.url.replace("http", "ws")}/ws`)
        sockets.push(ws)
        ws.on("message", (data: Buffer) => {
          count.frames++
          count.bytes += data.length
        })
        ws.once("open", () => {
          ws.send(JSON.stringify({ type: "subscribe", symbols: SYMBOLS }))
          resolve()
        })
        ws.once("error", reject)
      })
    ))
    await new Promise((r) => setTimeout(r, params.warmupMs))
    const stats = async () => (await server.getJson("/stats")).tickServer
    const s0 = await stats()
    const cpu0 = server.cpuMs()
    const t0 = performance.now()
    const bytes0 = counts.reduce((n, c) => n + c.bytes, 0)
    await new Promise((r) => setTimeout(r, params.windowMs))
    const seconds = (performance.now() - t0) / 1000
    const cpu = server.cpuMs() - cpu0
    const s1 = await stats()
    const bytes = counts.reduce((n, c) => n + c.bytes, 0) - bytes0
    if (counts.some((c) => c.frames < 2)) throw new Error("a client got no frame after its hello")
    if (s1.ws.clients !== params.clients) throw new Error(`the hub counts ${s1.ws.clients} clients, not ${params.clients}`)
    const sent = (s1.ws.sent - s0.ws.sent) / seconds
    const dropped = (s1.ws.dropped - s0.ws.dropped) / seconds
    return {
      ticksPerSecond: (s1.throttle.passed - s0.throttle.passed) / seconds,
      cpuPercent: (100 * cpu) / (seconds * 1000),
      sentMeventsPerSecond: sent / 1e6,
      droppedPercent: sent + dropped === 0 ? 0 : (100 * dropped) / (sent + dropped),
      clientMiBPerSecond: bytes / seconds / 2 ** 20
    }
  } finally {
    for (const ws of sockets) ws.terminate()
    const { code, output } = await server.stop()
    if (code !== 0) throw new Error(`the tick server exited ${code}:\n${output.slice(-3000)}`)
  }
}
