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
 * A run: start the server (`--no-persist`), open every client (each waits for its hello), then
 * subscribe them all, warm up, then over `windowMs` read the server's CPU time (/proc) and its hub
 * counters (/stats): events sent and dropped per second, and the ticks it stored per second. The
 * clients do not parse the events (they count bytes and frames), so that they read as fast as they
 * can; on a small machine they share its cores with the server. Checked: every client got its hello
 * and at least one more frame (an answer, events); every client is counted in the hub's; the server
 * drained cleanly after.
 *
 * Bounded on a loaded machine: the run has one deadline (`budgetMs`, below the harness's timeout)
 * that every phase counts against — start, connect, each /stats request, the drain — and prints each
 * phase as it ends (stderr). Clients open before any subscribes: opening 100 sockets while the first
 * subscribers already flood the server's main thread could take minutes on two busy cores. A phase
 * that runs out of time fails the run naming itself, and the server is killed, not left running.
 */
import WebSocket from "ws"
import { startTickServer, type TickServer, waitFor } from "./tickServerProcess.ts"

export interface Params {
  readonly rate: number
  readonly clients: number
  readonly warmupMs: number
  readonly windowMs: number
  readonly startTimeoutMs: number
  /** The whole run, start to drain: keep it below the job's `timeoutMs`. */
  readonly budgetMs: number
}

const SYMBOLS = ["EURUSD", "AAPL", "GBPUSD", "MSFT", "USDJPY", "NVDA", "AUDUSD", "TSLA"]

/** Rejects with what was being waited for when `ms` runs out. */
const within = <A>(what: string, ms: number, promise: Promise<A>): Promise<A> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fan-out: ${what} took more than ${Math.round(ms / 1000)} s`)), Math.max(0, ms))
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Opens a client and resolves once its hello arrived; it counts every frame into `count`. */
const openClient = (url: string, count: { frames: number; bytes: number }, sockets: Array<WebSocket>) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url)
    sockets.push(ws)
    ws.on("message", (data: Buffer) => {
      count.frames++
      count.bytes += data.length
      if (count.frames === 1) resolve(ws)
    })
    // Before the hello: this attempt fails; after it, an error shows as a client with no frames.
    ws.on("error", reject)
  })

/** {@link openClient}, again after a refused or reset connection (a busy server), until `deadline`. */
const openClientRetrying = async (url: string, count: { frames: number; bytes: number }, sockets: Array<WebSocket>, deadline: number) => {
  for (;;) {
    try {
      return await openClient(url, count, sockets)
    } catch (e) {
      if (performance.now() > deadline) throw e
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const t0 = performance.now()
  const left = () => Math.max(1, Math.floor(params.budgetMs - (performance.now() - t0)))
  const progress = (what: string) => process.stderr.write(`  fan-out +${((performance.now() - t0) / 1000).toFixed(1)} s: ${what}\n`)
  const server: TickServer = await startTickServer(
    ["--rate", String(params.rate), "--no-persist", "--stats-seconds", "3600"],
    Math.min(params.startTimeoutMs, left())
  )
  const sockets: Array<WebSocket> = []
  let stopped = false
  try {
    progress(`server serving on ${server.url}`)
    // Each request is bounded, and tried again (within the budget) when a busy server resets it.
    const request = () => AbortSignal.timeout(Math.min(left(), 30_000))
    const getJson = (path: string) => waitFor(() => server.getJson(path, request()), () => true, left(), `GET ${path}`)
    await waitFor(() => fetch(`${server.url}/ready`, { signal: request() }).then((r) => r.status), (s) => s === 200, left(), "/ready")
    progress("ready")
    const counts = Array.from({ length: params.clients }, () => ({ frames: 0, bytes: 0 }))
    const url = `${server.url.replace("http", "ws")}/ws`
    const deadline = performance.now() + left()
    const opened = await within(
      `opening ${params.clients} clients`,
      left(),
      Promise.all(counts.map((count) => openClientRetrying(url, count, sockets, deadline)))
    )
    progress(`${params.clients} clients open`)
    // Subscribed all at once; the warm-up lets every subscription take hold (waiting for each answer
    // would wait behind the events flooding the clients already in).
    for (const ws of opened) ws.send(JSON.stringify({ type: "subscribe", symbols: SYMBOLS }))
    await new Promise((r) => setTimeout(r, params.warmupMs))
    const stats = async () => (await getJson("/stats")).tickServer
    const s0 = await stats()
    // The counters' rates are over the time between the two answers (a busy server may take seconds
    // to answer); the CPU share is over the window.
    const a0 = performance.now()
    progress(`warmed up (${s0.ws.clients} clients in the hub); measuring ${params.windowMs} ms`)
    const cpu0 = server.cpuMs()
    const w0 = performance.now()
    const bytes0 = counts.reduce((n, c) => n + c.bytes, 0)
    await new Promise((r) => setTimeout(r, params.windowMs))
    const seconds = (performance.now() - w0) / 1000
    const cpu = server.cpuMs() - cpu0
    const bytes = counts.reduce((n, c) => n + c.bytes, 0) - bytes0
    const s1 = await stats()
    const counted = (performance.now() - a0) / 1000
    progress(`measured over ${seconds.toFixed(1)} s (counters over ${counted.toFixed(1)} s)`)
    if (counts.some((c) => c.frames < 2)) throw new Error("a client got no frame after its hello")
    if (s1.ws.clients !== params.clients) throw new Error(`the hub counts ${s1.ws.clients} clients, not ${params.clients}`)
    const sent = (s1.ws.sent - s0.ws.sent) / counted
    const dropped = (s1.ws.dropped - s0.ws.dropped) / counted
    for (const ws of sockets) ws.terminate()
    const { code, output } = await within("the drain", Math.max(left(), 10_000), server.stop())
    stopped = true
    progress(`server drained (exit ${code})`)
    if (code !== 0) throw new Error(`the tick server exited ${code}:\n${output.slice(-3000)}`)
    return {
      ticksPerSecond: (s1.throttle.passed - s0.throttle.passed) / counted,
      cpuPercent: (100 * cpu) / (seconds * 1000),
      sentMeventsPerSecond: sent / 1e6,
      droppedPercent: sent + dropped === 0 ? 0 : (100 * dropped) / (sent + dropped),
      clientMiBPerSecond: bytes / seconds / 2 ** 20
    }
  } finally {
    if (!stopped) {
      for (const ws of sockets) ws.terminate()
      // A failed run: the server may be what is stuck; give its drain a little time, then kill it.
      await within("the drain after a failure", 10_000, server.stop()).catch(() => server.kill())
    }
  }
}
