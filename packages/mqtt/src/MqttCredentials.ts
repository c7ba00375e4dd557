/**
 * Where the MQTT client gets its credentials: a token provider, an Effect asked for credentials
 * before a connection, again `tokenRefreshBeforeMs` before they expire (a planned reconnect with the
 * new ones), and again after the broker refused them. The password is `Redacted`: it prints as
 * `<redacted>` in logs, stats and errors, and is read only when handed to the connection.
 *
 * @since 0.1.0
 */
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { MqttError } from "./MqttError.ts"

/**
 * One set of credentials.
 *
 * @category models
 * @since 0.1.0
 */
export interface Credentials {
  readonly username: string
  readonly password: Redacted.Redacted<string>
  /** When they stop working (ms since the Unix epoch); undefined: they do not expire. */
  readonly expiresAtMs?: number | undefined
}

/**
 * The token provider: `get` gives the credentials to connect with (`None`: connect without), fresh
 * each time it is asked.
 *
 * @category services
 * @since 0.1.0
 */
export class MqttCredentials extends Context.Service<MqttCredentials, {
  readonly get: Effect.Effect<Option.Option<Credentials>, MqttError>
}>()("@velox/mqtt/MqttCredentials") {}

/**
 * No credentials (a broker that allows anonymous clients).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerNone: Layer.Layer<MqttCredentials> = Layer.succeed(MqttCredentials, MqttCredentials.of({ get: Effect.succeed(Option.none()) }))

/**
 * Fixed credentials that do not expire.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerStatic = (username: string, password: Redacted.Redacted<string>): Layer.Layer<MqttCredentials> =>
  Layer.succeed(MqttCredentials, MqttCredentials.of({ get: Effect.succeed(Option.some({ username, password })) }))

/**
 * Credentials from a token provider: an Effect run each time credentials are needed. Its failure
 * (of any type) becomes `MqttError` `CredentialsFailed`, retried on the reconnect backoff.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { MqttCredentials } from "@velox/mqtt"
 *
 * declare const fetchToken: Effect.Effect<{ token: string; expiresInSec: number }, Error>
 *
 * const credentials = MqttCredentials.layer(
 *   fetchToken.pipe(Effect.map(({ token, expiresInSec }) => ({
 *     username: "feed",
 *     password: Redacted.make(token),
 *     expiresAtMs: Date.now() + expiresInSec * 1000
 *   })))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <E, R>(provider: Effect.Effect<Credentials, E, R>): Layer.Layer<MqttCredentials, never, R> =>
  Layer.effect(
    MqttCredentials,
    Effect.gen(function*() {
      const context = yield* Effect.context<R>()
      return MqttCredentials.of({
        get: provider.pipe(
          Effect.map(Option.some),
          Effect.mapError((e) => new MqttError({ reason: "CredentialsFailed", message: `the token provider failed: ${describe(e)}` })),
          Effect.provideContext(context)
        )
      })
    })
  )

/**
 * Credentials from the current `ConfigProvider`: `VELOX_MQTT_USERNAME` and `VELOX_MQTT_PASSWORD`
 * (read as `Redacted`); none when `VELOX_MQTT_USERNAME` is not set.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<MqttCredentials, Config.ConfigError> = Layer.effect(
  MqttCredentials,
  Config.all({
    username: Config.String("USERNAME").pipe(Config.option),
    password: Config.Redacted("PASSWORD").pipe(Config.withDefault(Redacted.make("")))
  }).pipe(
    Config.nested("MQTT"),
    Config.nested("VELOX"),
    Config.map(({ password, username }) =>
      MqttCredentials.of({
        get: Effect.succeed(Option.map(username, (u) => ({ username: u, password })))
      })
    )
  )
)

/** A failure's message, never its fields (which may hold what the provider was given). */
const describe = (e: unknown): string => {
  if (e instanceof Error) return e.message
  if (typeof e === "object" && e !== null && typeof (e as { _tag?: unknown })._tag === "string") return (e as { _tag: string })._tag
  return String(e)
}
