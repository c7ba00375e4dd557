/**
 * The errors of the NATS bridge: one family with a `reason`. None carries a secret: credentials are
 * `Redacted` in the config, and a server URL with credentials in it is refused.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Why a connection, a stream or consumer check, a publish or a message failed:
 *
 * - `ConnectFailed`: no server could be reached (after the connect retries);
 * - `AuthRefused`: the server refused the credentials;
 * - `Closed`: the connection closed for good (the reconnect policy ran out);
 * - `StreamMissing`: a stream the config names does not exist and `streams: "check"` forbids creating it;
 * - `StreamMismatch`: a stream exists with other subjects or another duplicate window than configured;
 * - `ConsumerMismatch`: a durable consumer exists with another filter or ack policy than configured;
 * - `JetStreamFailed`: a JetStream API request failed (no JetStream, timeout, permission);
 * - `PublishFailed`: a publish got no ack, or a negative one, after its retries;
 * - `BadMessage`: a message that is not a velox batch of the expected layout (dead-lettered, then termed).
 *
 * @category errors
 * @since 0.1.0
 */
export class NatsError extends Schema.TaggedError<NatsError>()("NatsError", {
  reason: Schema.Literals([
    "ConnectFailed",
    "AuthRefused",
    "Closed",
    "StreamMissing",
    "StreamMismatch",
    "ConsumerMismatch",
    "JetStreamFailed",
    "PublishFailed",
    "BadMessage"
  ]),
  message: Schema.String
}) {}

/**
 * @category errors
 * @since 0.1.0
 */
export type Reason = NatsError["reason"]

/** What the client library threw, as text (its message, never its options). */
export const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * The error for a failed connect: `AuthRefused` when the server refused the credentials.
 *
 * @category errors
 * @since 0.1.0
 */
export const fromConnectError = (e: unknown): NatsError => {
  const text = describe(e)
  const name = e instanceof Error ? e.name : ""
  return /authori[sz]ation|authentication/i.test(text) || name === "AuthorizationError"
    ? new NatsError({ reason: "AuthRefused", message: text })
    : new NatsError({ reason: "ConnectFailed", message: text })
}
