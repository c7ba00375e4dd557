/**
 * `@velox/mqtt`: a market-data feed from an MQTT broker (mqtt.js) as a pipeline source: the client as
 * an Effect service (epochs, reconnect backoff as a Schedule, credentials from a token provider,
 * refreshed before they expire), quotes decoded from JSON or a compact binary format into `Quote`
 * records, a bounded drop-oldest dispatcher, dead letters with raw bytes, feed health; and the tools
 * around it: a publisher and simulator, and a local mosquitto for tests and demos.
 *
 * @since 0.1.0
 */
export * as MqttClient from "./MqttClient.ts"
export * as MqttConfig from "./MqttConfig.ts"
export * as MqttCredentials from "./MqttCredentials.ts"
export * as MqttError from "./MqttError.ts"
export * as MqttFeed from "./MqttFeed.ts"
export * as MqttPublisher from "./MqttPublisher.ts"
export * as Mosquitto from "./Mosquitto.ts"
export * as QuotePayload from "./QuotePayload.ts"
