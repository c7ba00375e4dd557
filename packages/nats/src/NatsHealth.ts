/**
 * The bridge's health and metrics for the ops server: one `Extension` (the shape of
 * `NodePipelineServer.Extension`) over the connection and any egresses and ingresses.
 *
 * - `/ready` says 503 while the connection is not up (`nats reconnecting (…)`).
 * - `/metrics` gets `velox_nats_connected`, `velox_nats_connection_state{state}`,
 *   `velox_nats_disconnects_total`, `velox_nats_reconnects_total`, and each egress's and ingress's
 *   families: publishes in flight, acked, duplicates, failures; consumer lag, ack pending,
 *   redeliveries, duplicates, bad messages.
 * - `/stats` gets a `nats` field: the connection's status and every egress's and ingress's stats.
 *
 * @since 0.1.0
 */
import { MetricsText } from "@velox/core"
import type { ConnectionState, NatsClient, Status } from "./NatsClient.ts"
import type { Egress, Extension } from "./NatsEgress.ts"
import type { Ingress } from "./NatsIngress.ts"

/**
 * What the health covers.
 *
 * @category models
 * @since 0.1.0
 */
export interface Parts {
  readonly client: NatsClient["Service"]
  readonly egress?: ReadonlyArray<Egress<any>> | undefined
  readonly ingress?: ReadonlyArray<Ingress<any>> | undefined
}

/**
 * The bridge's health now.
 *
 * @category models
 * @since 0.1.0
 */
export interface Health {
  readonly ready: boolean
  readonly reasons: ReadonlyArray<string>
  readonly connection: Status
}

const STATES: ReadonlyArray<ConnectionState> = ["connecting", "connected", "reconnecting", "closed"]

/**
 * @category constructors
 * @since 0.1.0
 */
export const health = (parts: Parts): Health => {
  const connection = parts.client.status()
  const reasons: Array<string> = []
  if (!connection.connected) reasons.push(`nats ${connection.state}${connection.lastError === undefined ? "" : ` (${connection.lastError})`}`)
  return { ready: reasons.length === 0, reasons, connection }
}

/**
 * The ops extension: give it to `NodePipelineServer.layerWith` (or `make`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NodePipelineServer } from "@velox/node"
 * import { NatsClient, NatsHealth, type NatsIngress } from "@velox/nats"
 *
 * declare const ingress: NatsIngress.Ingress<any>
 * const program = Effect.gen(function*() {
 *   const client = yield* NatsClient.NatsClient
 *   const extension = NatsHealth.extension({ client, ingress: [ingress] })
 *   // NodePipelineServer.make(handle, extension)
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const extension = (parts: Parts): Extension => {
  const egress = parts.egress ?? []
  const ingress = parts.ingress ?? []
  return {
    readiness: [
      () => {
        const h = health(parts)
        return h.ready ? undefined : h.reasons.join("; ")
      },
      ...egress.flatMap((e) => e.extension.readiness),
      ...ingress.flatMap((i) => i.extension.readiness)
    ],
    metrics: () => {
      const c = parts.client.status()
      const one = (value: number) => [{ labels: {}, value }]
      return MetricsText.format(MetricsText.merge([
        { name: "velox_nats_connected", type: "gauge", help: "1 while connected to a NATS server", series: one(c.connected ? 1 : 0) },
        {
          name: "velox_nats_connection_state",
          type: "gauge",
          help: "the connection's state: 1 for the current one",
          series: STATES.map((state) => ({ labels: { state }, value: c.state === state ? 1 : 0 }))
        },
        { name: "velox_nats_disconnects_total", type: "counter", help: "connections lost", series: one(c.disconnects) },
        { name: "velox_nats_reconnects_total", type: "counter", help: "connections restored after a loss", series: one(c.reconnects) },
        { name: "velox_nats_server_errors_total", type: "counter", help: "errors the server sent", series: one(c.serverErrors) },
        ...egress.flatMap((e) => e.metricFamilies()),
        ...ingress.flatMap((i) => i.metricFamilies())
      ]))
    },
    stats: () => ({
      nats: {
        health: health(parts),
        ...Object.assign({}, ...egress.map((e) => e.extension.stats()), ...ingress.map((i) => i.extension.stats()))
      }
    })
  }
}
