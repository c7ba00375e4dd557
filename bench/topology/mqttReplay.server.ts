/**
 * The `mqtt` suite's replay server: a tiny MQTT server in its own process that writes pre-encoded QoS 0
 * PUBLISH packets of the simulator's quotes as fast as the socket takes them, so that the subscriber,
 * not the broker, sets the pace (on a VM where mosquitto's own CPU per message bounds both sides, the
 * mosquitto rows cannot see what the subscriber spends). A bench tool, not a broker: tests use mosquitto.
 *
 *   node mqttReplay.server.ts <json|binary> <messages>
 *
 * Prints `ready <port>` once it listens. On each connection: CONNECT gets a CONNACK, then at once (as
 * mosquitto delivers a persistent session's backlog right after its CONNACK) the first `count` packets
 * of the backlog, in writes of about 64 KB that each hold whole packets (so a SUBACK or PINGRESP written
 * between them falls on a packet boundary); `count` is the client id's `-n<count>` suffix, or all of
 * them. SUBSCRIBE gets a SUBACK with its message id (QoS 0 granted per filter), PINGREQ a PINGRESP,
 * DISCONNECT an end. The backlog is encoded once, before `ready`: per message the server does nothing.
 */
import { createServer, type Socket } from "node:net"
import mqttPacket from "mqtt-packet"
import { MqttPublisher, QuotePayload } from "@velox/mqtt"

const [format, messagesText] = process.argv.slice(2) as ["json" | "binary", string]
const messages = Number(messagesText)
const SYMBOLS = 8
const WRITE_BYTES = 64 * 1024

// The backlog as one buffer, and where each packet ends (ends[i]: the byte after packet i).
const next = MqttPublisher.quotes({ symbols: SYMBOLS })
const packets: Array<Buffer> = []
for (let i = 0; i < messages; i++) {
  const q = next(Date.now() * 1e6)
  const payload = format === "json" ? QuotePayload.encodeJson(q) : QuotePayload.encodeBinary(q)
  packets.push(mqttPacket.generate({ cmd: "publish", topic: `quotes/${q.symbol}`, payload: Buffer.from(payload), qos: 0, dup: false, retain: false }))
}
const backlog = Buffer.concat(packets)
const ends = new Float64Array(messages)
for (let i = 0, at = 0; i < messages; i++) ends[i] = at += packets[i]!.length
packets.length = 0

/** Writes of about WRITE_BYTES, each a run of whole packets, covering the first `count` packets. */
const writesOf = (count: number): Array<Buffer> => {
  const writes: Array<Buffer> = []
  let start = 0
  let i = 0
  while (i < count) {
    // The last packet ending within WRITE_BYTES of `start` (at least one packet).
    let j = i
    while (j + 1 < count && ends[j + 1]! - start <= WRITE_BYTES) j++
    writes.push(backlog.subarray(start, ends[j]!))
    start = ends[j]!
    i = j + 1
  }
  return writes
}

const countOf = (clientId: string) => {
  const m = /-n(\d+)$/.exec(clientId)
  return m === null ? messages : Math.min(messages, Number(m[1]))
}

/** Writes `writes` in order, waiting for `drain` whenever the socket's buffer is full. */
const stream = (socket: Socket, writes: ReadonlyArray<Buffer>) => {
  let i = 0
  const more = () => {
    while (i < writes.length && !socket.destroyed) {
      if (!socket.write(writes[i++]!)) {
        socket.once("drain", more)
        return
      }
    }
  }
  more()
}

const server = createServer((socket) => {
  socket.setNoDelay(true)
  socket.on("error", () => socket.destroy())
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on("error", () => socket.destroy())
  parser.on("packet", (packet) => {
    switch (packet.cmd) {
      case "connect":
        socket.write(mqttPacket.generate({ cmd: "connack", returnCode: 0, sessionPresent: false }))
        stream(socket, writesOf(countOf(packet.clientId)))
        break
      case "subscribe":
        socket.write(mqttPacket.generate({ cmd: "suback", messageId: packet.messageId!, granted: packet.subscriptions.map(() => 0) }))
        break
      case "pingreq":
        socket.write(mqttPacket.generate({ cmd: "pingresp" }))
        break
      case "disconnect":
        socket.end()
        break
    }
  })
  socket.on("data", (data) => parser.parse(data))
})
server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  process.stdout.write(`ready ${typeof address === "object" && address !== null ? address.port : 0}\n`)
})
// The suite ends it (SIGTERM); stdin closing (the parent gone) ends it too.
process.stdin.on("end", () => process.exit(0))
process.stdin.resume()
