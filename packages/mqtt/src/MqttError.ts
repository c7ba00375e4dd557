/**
 * The errors of the MQTT feed: one family with a `reason`. None of them carries a secret: a
 * credential never appears in a message, and a URL with credentials in it is refused by the config.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Why a connection attempt, a subscription or the feed failed:
 *
 * - `ConnectFailed`: the broker could not be reached (refused, unreachable, reset before CONNACK);
 * - `Timeout`: no CONNACK (or SUBACK) within `connectTimeoutMs`;
 * - `ConnectRefused`: the broker answered CONNACK with an error other than authentication (`code`);
 * - `AuthRefused`: the broker refused the credentials (bad user name or password, not authorised);
 *   the next attempt asks the token provider for fresh ones;
 * - `SubscribeRefused`: the broker refused a topic filter (SUBACK 0x80);
 * - `CredentialsFailed`: the token provider failed;
 * - `GaveUp`: the retry policy ran out (`maxAuthFailures` refusals in a row); `message` says after what.
 *
 * @category errors
 * @since 0.1.0
 */
export class MqttError extends Schema.TaggedError<MqttError>()("MqttError", {
  reason: Schema.Literals(["ConnectFailed", "Timeout", "ConnectRefused", "AuthRefused", "SubscribeRefused", "CredentialsFailed", "GaveUp"]),
  message: Schema.String,
  /** The broker's return or reason code, when it gave one. */
  code: Schema.optional(Schema.Number)
}) {}

/**
 * @category errors
 * @since 0.1.0
 */
export type Reason = MqttError["reason"]

/** CONNACK codes that mean the credentials were refused: 4 and 5 (MQTT 3.1.1), 134 and 135 (MQTT 5). */
const AUTH_CODES = new Set([4, 5, 134, 135])

/**
 * The error for what mqtt.js reported when a connection attempt ended before CONNACK.
 *
 * @category errors
 * @since 0.1.0
 */
export const fromConnectError = (error: unknown): MqttError => {
  const code = typeof (error as { code?: unknown })?.code === "number" ? (error as { code: number }).code : undefined
  const text = error instanceof Error ? error.message : error === undefined ? "the connection closed before CONNACK" : String(error)
  if (code !== undefined) {
    return new MqttError({ reason: AUTH_CODES.has(code) ? "AuthRefused" : "ConnectRefused", message: text, code })
  }
  if (/connack timeout/i.test(text)) return new MqttError({ reason: "Timeout", message: text })
  return new MqttError({ reason: "ConnectFailed", message: text })
}
