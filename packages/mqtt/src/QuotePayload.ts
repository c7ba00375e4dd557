/**
 * The payloads the MQTT feed decodes into `Quote` records: JSON, and a compact binary format ("VQ1").
 *
 * **JSON**, one object per message (UTF-8); unknown keys are ignored:
 *
 * ```json
 * {"symbol":"EURUSD","seq":42,"exchangeTsNs":1764432000123456789,"bid":1.08121,"ask":1.08125,
 *  "bidSize":1000000,"askSize":2000000,"last":1.08123,"lastSize":0}
 * ```
 *
 * `symbol`, `bid` and `ask` are required; `seq`, `bidSize`, `askSize`, `last`, `lastSize` default to
 * 0, `exchangeTsNs` (ns since the Unix epoch) to the time the message arrived. Numbers must be finite;
 * `seq` and `exchangeTsNs` ≥ 0; `symbol` a name of 1–40 bytes without whitespace.
 *
 * **Binary** (VQ1), 68 bytes and the symbol's name, numbers little-endian IEEE 754 doubles:
 *
 * | byte | type | field |
 * |---|---|---|
 * | 0 | u8 | magic `0x51` (`Q`) |
 * | 1 | u8 | version `1` |
 * | 2 | u8 | n: the symbol name's length in bytes (1–40) |
 * | 3 | u8 | 0 (reserved) |
 * | 4 | f64 | `seq` |
 * | 12 | f64 | `exchangeTsNs` (0: the time it arrived) |
 * | 20 | f64 | `bid` |
 * | 28 | f64 | `ask` |
 * | 36 | f64 | `bidSize` |
 * | 44 | f64 | `askSize` |
 * | 52 | f64 | `last` |
 * | 60 | f64 | `lastSize` |
 * | 68 | n bytes | the symbol name, UTF-8 |
 *
 * With `format: "auto"` (the feed's default) a payload whose first byte is `0x51` is binary and any
 * other JSON: a JSON text never starts with `Q`.
 *
 * A payload that does not decode is refused with a reason — `NotJson`, `NotAnObject`, `MissingField`,
 * `BadField`, `BadLength`, `BadVersion`, `BadMagic` (binary-only feeds), `BadSymbol` — and the feed
 * dead-letters it with a sample of its bytes.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { RecordLayout } from "@velox/core"
import { Quote, Symbols } from "@velox/market"
import * as K from "./internal/kernel/quoteCodec.ts"

export {
  /** @category layout @since 0.1.0 */
  binaryLength,
  /** @category constructors @since 0.1.0 */
  encodeBinary,
  /** @category constructors @since 0.1.0 */
  encodeBinaryInto,
  /** @category constructors @since 0.1.0 */
  encodeJson,
  /** @category layout @since 0.1.0 */
  HEADER_BYTES,
  /** @category layout @since 0.1.0 */
  MAGIC,
  /** @category layout @since 0.1.0 */
  VERSION
} from "./internal/kernel/quoteCodec.ts"
export type {
  /** @category models @since 0.1.0 */
  PayloadFormat,
  /** @category models @since 0.1.0 */
  QuoteMessage
} from "./internal/kernel/quoteCodec.ts"

/**
 * Why a payload was refused.
 *
 * @category models
 * @since 0.1.0
 */
export const FailureReason = Schema.Literals([...K.DECODE_FAILURES, "BadSymbol"])

/**
 * @category models
 * @since 0.1.0
 */
export type FailureReason = typeof FailureReason.Type

/**
 * A payload that does not decode: the reason and what was wrong.
 *
 * @category errors
 * @since 0.1.0
 */
export class PayloadError extends Schema.TaggedError<PayloadError>()("PayloadError", {
  reason: FailureReason,
  message: Schema.String
}) {}

/**
 * The reason of a decoder's refusal code.
 *
 * @category models
 * @since 0.1.0
 */
export const reasonOf = (code: number): FailureReason => (code === K.SYMBOL_REFUSED ? "BadSymbol" : K.DECODE_FAILURES[-code - 1]!)

interface DecodeOptions {
  readonly format?: K.PayloadFormat
  readonly receiveTsNs?: number
  readonly epoch?: number
}

const decodeResult = (payload: Uint8Array, symbols: SharedArrayBuffer, options: DecodeOptions): Result.Result<Quote.Record, PayloadError> => {
  const view = RecordLayout.view(Quote.Quote, new ArrayBuffer(Quote.Quote.byteLength), 0, 1)
  const decoder = new K.QuoteDecoder(Symbols.view(symbols), options.format ?? "auto")
  const code = decoder.decode(payload, view, 0, options.receiveTsNs ?? 0, options.epoch ?? 0)
  return code === K.OK
    ? Result.succeed(RecordLayout.readUnsafe(view, 0))
    : Result.fail(new PayloadError({ reason: reasonOf(code), message: decoder.detail }))
}

/**
 * Decodes one payload into a `Quote` object, registering its symbol in `symbols`: for tests, tools
 * and publishers checking what they send (the feed decodes straight into its queue, without an
 * object). A symbol table that is full fails as `BadSymbol`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Symbols } from "@velox/market"
 * import { QuotePayload } from "@velox/mqtt"
 *
 * const symbols = Symbols.make(16)
 * const bytes = QuotePayload.encodeBinary({ symbol: "EURUSD", bid: 1.08121, ask: 1.08125 })
 * const quote = Effect.runSync(QuotePayload.decode(bytes, symbols)) // { symbol: 0, bid: 1.08121, … }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const decode = (payload: Uint8Array, symbols: SharedArrayBuffer, options: DecodeOptions = {}): Effect.Effect<Quote.Record, PayloadError> =>
  Effect.suspend(() => Effect.fromResult(decodeResult(payload, symbols, options)))

/**
 * `decode` without Effect: throws the `PayloadError`.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const decodeUnsafe = (payload: Uint8Array, symbols: SharedArrayBuffer, options: DecodeOptions = {}): Quote.Record => {
  const r = decodeResult(payload, symbols, options)
  if (Result.isFailure(r)) throw r.failure
  return r.success
}
