/**
 * A JSON configuration file as a `ConfigProvider`, read strictly: a file that cannot be read, text
 * that is not JSON, and a key the program does not know (a misspelt `RATEE`) each fail with a
 * {@link ConfigFileError} that names the file, and the key. Values are validated afterwards, by the
 * `Config` that reads them, like values from the environment.
 *
 * ```json
 * { "VELOX": { "ENGINE": { "RATE": 200000, "SYMBOLS": 16 } } }
 * ```
 *
 * @since 0.1.0
 */
import { ConfigProvider, Effect, FileSystem, Schema } from "effect"

/**
 * A config file that could not be used. `reason`: `Unreadable` (missing, a directory, no
 * permission), `InvalidJson`, `UnknownKey` (a key outside the declared {@link Keys}), `NotAnObject`
 * (a section that is not a JSON object).
 *
 * @category errors
 * @since 0.1.0
 */
export class ConfigFileError extends Schema.TaggedError<ConfigFileError>()("ConfigFileError", {
  path: Schema.String,
  reason: Schema.Literals(["Unreadable", "InvalidJson", "UnknownKey", "NotAnObject"]),
  detail: Schema.String
}) {
  override get message(): string {
    return `config file ${this.path}: ${this.detail}`
  }
}

/**
 * The keys a file may hold: a section maps each of its keys to a nested section, or to `true` for a
 * value (any JSON; its `Config` validates it).
 *
 * @category models
 * @since 0.1.0
 */
export interface Keys {
  readonly [key: string]: Keys | true
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Levenshtein distance, to suggest the key a misspelt one was meant to be. */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = row
  }
  return previous[b.length]!
}

/** The first key of `value` outside `keys` (depth first), as a sentence; `undefined` when all are known. */
const checkKeys = (value: unknown, keys: Keys, at: ReadonlyArray<string>): { reason: "UnknownKey" | "NotAnObject"; detail: string } | undefined => {
  const where = at.length === 0 ? "the top level" : at.join(".")
  if (!isObject(value)) return { reason: "NotAnObject", detail: `${where} must be a JSON object, got ${JSON.stringify(value)}` }
  const known = Object.keys(keys)
  for (const [key, inner] of Object.entries(value)) {
    const spec = keys[key]
    if (spec === undefined) {
      const near = known.find((k) => distance(k.toUpperCase(), key.toUpperCase()) <= 2)
      return {
        reason: "UnknownKey",
        detail: `unknown key ${[...at, key].join(".")}${near === undefined ? "" : ` (did you mean ${near}?)`}; ` +
          `${where} may hold ${known.join(", ")}`
      }
    }
    if (spec !== true) {
      const problem = checkKeys(inner, spec, [...at, key])
      if (problem !== undefined) return problem
    }
  }
  return undefined
}

/**
 * Reads and checks a JSON config file, and gives a `ConfigProvider` over it. Layer it over the
 * environment for "file over environment": `ConfigProvider.orElse(ConfigProvider.fromEnv())`.
 *
 * @example
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 * import { Config, ConfigProvider, Effect } from "effect"
 * import { ConfigFile } from "@velox/core"
 *
 * const program = Effect.gen(function*() {
 *   const file = yield* ConfigFile.provider("engine.json", { VELOX: { ENGINE: { RATE: true, SYMBOLS: true } } })
 *   const rate = yield* Config.Number("RATE").pipe(Config.nested("ENGINE"), Config.nested("VELOX"))
 *     .parse(file.pipe(ConfigProvider.orElse(ConfigProvider.fromEnv())))
 *   console.log(rate)
 * })
 * // { "VELOX": { "ENGINE": { "RATEE": 5 } } } fails: config file engine.json: unknown key
 * // VELOX.ENGINE.RATEE (did you mean RATE?); VELOX.ENGINE may hold RATE, SYMBOLS
 * Effect.runPromise(program.pipe(Effect.provide(NodeServices.layer)))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const provider = (
  path: string,
  keys: Keys
): Effect.Effect<ConfigProvider.ConfigProvider, ConfigFileError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((e) =>
        new ConfigFileError({
          path,
          reason: "Unreadable",
          detail: `cannot read it: ${(e.reason as { cause?: { message?: string } }).cause?.message ?? e.message}`
        })
      )
    )
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new ConfigFileError({ path, reason: "InvalidJson", detail: `not valid JSON: ${(e as Error).message}` })
    })
    const problem = checkKeys(json, keys, [])
    if (problem !== undefined) return yield* new ConfigFileError({ path, ...problem })
    return ConfigProvider.fromUnknown(json)
  })
