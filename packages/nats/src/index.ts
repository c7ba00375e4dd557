/**
 * `@velox/nats`: a NATS JetStream bridge between pipelines in other processes or on other machines:
 * the connection as an Effect service (servers, `Redacted` credentials, reconnect policy, streams
 * created or checked at start), record batches published from a sink edge (partitioned subjects,
 * dedup ids, bounded acks in flight) and consumed into a source edge (durable consumers, acks once
 * the records were released downstream, duplicates dropped), health and metrics for the ops server,
 * and a local nats-server for tests and demos.
 *
 * @since 0.1.0
 */
export * as NatsClient from "./NatsClient.ts"
export * as NatsConfig from "./NatsConfig.ts"
export * as NatsEgress from "./NatsEgress.ts"
export * as NatsError from "./NatsError.ts"
export * as NatsHealth from "./NatsHealth.ts"
export * as NatsIngress from "./NatsIngress.ts"
export * as NatsServer from "./NatsServer.ts"
