/**
 * The `/ticks` latency case's peer: a bare `node:http` server, in a process of its own as the tick
 * server is, answering every request with one pre-built body (a real `/ticks` answer, read from the
 * file named by its argument) and the tick server's headers. What it takes is what any Node HTTP
 * server on this machine takes: the same client, loopback and scheduler, no routing, no store read,
 * no JSON.
 *
 *   node tickServerPeer.ts <body.json> <lifetime-s>   → prints "peer on http://127.0.0.1:PORT"; SIGTERM stops it
 *
 * It exits by itself after its lifetime, as the tick server does with `--duration`: a bench process
 * killed by the harness's timeout leaves nothing running on a shared machine.
 */
import { readFileSync } from "node:fs"
import { createServer } from "node:http"

const body = readFileSync(process.argv[2]!)
const server = createServer((_request, response) => {
  response.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": body.length })
  response.end(body)
})
server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("the peer has no TCP address")
  console.log(`peer on http://127.0.0.1:${address.port}`)
})
process.once("SIGTERM", () => server.close(() => process.exit(0)))
setTimeout(() => process.exit(0), Number(process.argv[3]) * 1000).unref()
