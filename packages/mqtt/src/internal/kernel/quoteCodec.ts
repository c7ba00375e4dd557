/**
 * The quote payloads of an MQTT feed (kernel tier): a message's bytes decoded straight into a `Quote`
 * slot, and quotes encoded for publishers. No Effect, no throw for bad input (a negative code, and
 * `detail` says what was wrong), nothing allocated per message beyond what `JSON.parse` and the symbol
 * name's string take.
 *
 * **JSON** (UTF-8), one object per message; unknown keys are ignored:
 *
 * ```json
 * {"symbol":"EURUSD","seq":42,"exchangeTsNs":1764432000123456789,"bid":1.08121,"ask":1.08125,
 *  "bidSize":1000000,"askSize":2000000,"last":1.08123,"lastSize":0}
 * ```
 *
 * `symbol` (a name, 1–40 bytes of UTF-8 without whitespace), `bid` and `ask` are required; `seq`,
 * `bidSize`, `askSize`, `last`, `lastSize` default to 0, `exchangeTsNs` (ns since the Unix epoch) to
 * the time the message was received. Every number present must be finite; `seq` and `exchangeTsNs`
 * must be ≥ 0. The binary format holds every field; an `exchangeTsNs` of 0 there also means "the
 * time it was received".
 *
 * **Binary** ("VQ1"), 68 bytes plus the symbol's name, numbers little-endian:
 *
 * ```
 *  byte  0  u8   magic 0x51 ('Q')
 *  byte  1  u8   version 1
 *  byte  2  u8   n, the symbol name's length in bytes (1..40)
 *  byte  3  u8   0 (reserved)
 *  byte  4  f64  seq
 *  byte 12  f64  exchangeTsNs
 *  byte 20  f64  bid
 *  byte 28  f64  ask
 *  byte 36  f64  bidSize
 *  byte 44  f64  askSize
 *  byte 52  f64  last
 *  byte 60  f64  lastSize
 *  byte 68  n bytes: the symbol name, UTF-8
 * ```
 *
 * With `format: "auto"` a message whose first byte is the magic is binary, any other JSON (a JSON text
 * never starts with `Q`).
 */
import type { RecordLayout } from "@velox/core"
import type { Quote } from "@velox/market"

type QuoteView = RecordLayout.RecordView<typeof Quote.Quote.spec>

/** Decoded into the slot. */
export const OK = 0 as const
/** Not UTF-8 JSON (`JSON.parse` failed). */
export const NOT_JSON = -1 as const
/** JSON, but not an object. */
export const NOT_AN_OBJECT = -2 as const
/** A required field is missing (`detail` names it). */
export const MISSING_FIELD = -3 as const
/** A field is not a finite number (or `symbol` not a string; `detail` names it). */
export const BAD_FIELD = -4 as const
/** Binary: shorter than its header, or its length disagrees with the name's. */
export const BAD_LENGTH = -5 as const
/** Binary: a version this decoder does not know. */
export const BAD_VERSION = -6 as const
/** Binary only (`format: "binary"`): the first byte is not the magic. */
export const BAD_MAGIC = -7 as const
/** The symbol table refused the name: `symbolCode` holds what `register` returned. */
export const SYMBOL_REFUSED = -8 as const

export type DecodeCode =
  | typeof OK
  | typeof NOT_JSON
  | typeof NOT_AN_OBJECT
  | typeof MISSING_FIELD
  | typeof BAD_FIELD
  | typeof BAD_LENGTH
  | typeof BAD_VERSION
  | typeof BAD_MAGIC
  | typeof SYMBOL_REFUSED

/** The names of the decode failures, by `-code - 1`. */
export const DECODE_FAILURES = ["NotJson", "NotAnObject", "MissingField", "BadField", "BadLength", "BadVersion", "BadMagic"] as const

export const MAGIC = 0x51
export const VERSION = 1
export const HEADER_BYTES = 68
export const MAX_NAME_BYTES = 40
const NAME_LENGTH_OFFSET = 2

export type PayloadFormat = "auto" | "json" | "binary"

/** A quote as publishers give it and JSON carries it: the symbol by name. */
export interface QuoteMessage {
  readonly symbol: string
  readonly seq?: number
  readonly exchangeTsNs?: number
  readonly bid: number
  readonly ask: number
  readonly bidSize?: number
  readonly askSize?: number
  readonly last?: number
  readonly lastSize?: number
}

/** What the decoder asks of a symbol table: an id for a name (negative when refused). */
export interface SymbolRegistry {
  register(name: string): number
}

/** The number fields of a message besides `bid` and `ask`, in the order the binary format holds them. */
const OPTIONAL_NUMBERS = ["bidSize", "askSize", "last", "lastSize"] as const

/** Decodes messages into `Quote` slots; one per feed (it keeps scratch buffers and the last failure). */
export class QuoteDecoder {
  /** What was wrong with the last message refused. */
  detail = ""
  /** What the symbol table returned for the last `SYMBOL_REFUSED`. */
  symbolCode = 0
  private readonly format: PayloadFormat
  private readonly symbols: SymbolRegistry
  private readonly text = new TextDecoder("utf-8", { fatal: false })
  // The binary numbers are copied here first: a payload's bytes may sit at any offset of a shared pool.
  private readonly scratch = new ArrayBuffer(HEADER_BYTES)
  private readonly scratchBytes = new Uint8Array(this.scratch)
  private readonly scratchView = new DataView(this.scratch)

  constructor(symbols: SymbolRegistry, format: PayloadFormat) {
    this.symbols = symbols
    this.format = format
  }

  /**
   * Decodes `payload` into `slot` of `view`, stamping `receiveTsNs` and `epoch`; `OK` or a negative
   * code (the slot's content is then undefined).
   */
  decode(payload: Uint8Array, view: QuoteView, slot: number, receiveTsNs: number, epoch: number): DecodeCode {
    const binary = this.format === "binary" || (this.format === "auto" && payload.length > 0 && payload[0] === MAGIC)
    return binary ? this.decodeBinary(payload, view, slot, receiveTsNs, epoch) : this.decodeJson(payload, view, slot, receiveTsNs, epoch)
  }

  /** Writes a parsed object (JSON, or what a custom decoder returned) into `slot`: `OK` or a code. */
  fromObject(u: unknown, view: QuoteView, slot: number, receiveTsNs: number, epoch: number): DecodeCode {
    if (typeof u !== "object" || u === null || Array.isArray(u)) return this.fail(NOT_AN_OBJECT, `expected an object, got ${kindOf(u)}`)
    const o = u as Record<string, unknown>
    const symbol = o["symbol"]
    if (symbol === undefined) return this.fail(MISSING_FIELD, "missing field: symbol")
    if (typeof symbol !== "string") return this.fail(BAD_FIELD, `symbol must be a string, got ${kindOf(symbol)}`)
    const bid = o["bid"]
    const ask = o["ask"]
    if (bid === undefined) return this.fail(MISSING_FIELD, "missing field: bid")
    if (ask === undefined) return this.fail(MISSING_FIELD, "missing field: ask")
    if (!isFiniteNumber(bid)) return this.fail(BAD_FIELD, `bid must be a finite number, got ${kindOf(bid)}`)
    if (!isFiniteNumber(ask)) return this.fail(BAD_FIELD, `ask must be a finite number, got ${kindOf(ask)}`)
    const seq = orDefault(o["seq"], 0)
    if (!(isFiniteNumber(seq) && seq >= 0)) return this.fail(BAD_FIELD, `seq must be a number ≥ 0, got ${kindOf(seq)}`)
    const ts = orDefault(o["exchangeTsNs"], receiveTsNs)
    if (!(isFiniteNumber(ts) && ts >= 0)) return this.fail(BAD_FIELD, `exchangeTsNs must be a number ≥ 0, got ${kindOf(ts)}`)
    const f = view.fields
    for (const name of OPTIONAL_NUMBERS) {
      const v = orDefault(o[name], 0)
      if (!isFiniteNumber(v)) return this.fail(BAD_FIELD, `${name} must be a finite number, got ${kindOf(v)}`)
      f[name].set(slot, v)
    }
    const id = this.symbols.register(symbol)
    if (id < 0) return this.refuseSymbol(id, symbol)
    f.seq.set(slot, seq)
    f.exchangeTsNs.set(slot, ts)
    f.receiveTsNs.set(slot, receiveTsNs)
    f.bid.set(slot, bid)
    f.ask.set(slot, ask)
    f.symbol.set(slot, id)
    f.epoch.set(slot, epoch)
    return OK
  }

  private decodeJson(payload: Uint8Array, view: QuoteView, slot: number, receiveTsNs: number, epoch: number): DecodeCode {
    let parsed: unknown
    try {
      parsed = JSON.parse(this.text.decode(payload))
    } catch (e) {
      return this.fail(NOT_JSON, `not JSON: ${(e as Error).message}`)
    }
    return this.fromObject(parsed, view, slot, receiveTsNs, epoch)
  }

  private decodeBinary(payload: Uint8Array, view: QuoteView, slot: number, receiveTsNs: number, epoch: number): DecodeCode {
    const length = payload.length
    if (length < HEADER_BYTES) return this.fail(BAD_LENGTH, `binary quote of ${length} bytes: its header alone is ${HEADER_BYTES}`)
    if (payload[0] !== MAGIC) return this.fail(BAD_MAGIC, `first byte 0x${hex2(payload[0]!)}: not a binary quote (magic 0x51)`)
    if (payload[1] !== VERSION) return this.fail(BAD_VERSION, `binary quote version ${payload[1]}: this decoder reads version ${VERSION}`)
    const n = payload[NAME_LENGTH_OFFSET]!
    if (length !== HEADER_BYTES + n || n === 0 || n > MAX_NAME_BYTES) {
      return this.fail(BAD_LENGTH, `binary quote of ${length} bytes with a ${n}-byte name: expected ${HEADER_BYTES} + n bytes, n in 1..${MAX_NAME_BYTES}`)
    }
    const bytes = this.scratchBytes
    for (let i = 4; i < HEADER_BYTES; i++) bytes[i] = payload[i]!
    const d = this.scratchView
    const seq = d.getFloat64(4, true)
    const ts = d.getFloat64(12, true)
    if (!(seq >= 0 && Number.isFinite(seq))) return this.fail(BAD_FIELD, `seq must be a number ≥ 0, got ${seq}`)
    if (!(ts >= 0 && Number.isFinite(ts))) return this.fail(BAD_FIELD, `exchangeTsNs must be a number ≥ 0, got ${ts}`)
    const f = view.fields
    const bid = d.getFloat64(20, true)
    const ask = d.getFloat64(28, true)
    if (!Number.isFinite(bid)) return this.fail(BAD_FIELD, `bid must be a finite number, got ${bid}`)
    if (!Number.isFinite(ask)) return this.fail(BAD_FIELD, `ask must be a finite number, got ${ask}`)
    for (let k = 0; k < OPTIONAL_NUMBERS.length; k++) {
      const v = d.getFloat64(36 + 8 * k, true)
      if (!Number.isFinite(v)) return this.fail(BAD_FIELD, `${OPTIONAL_NUMBERS[k]} must be a finite number, got ${v}`)
      f[OPTIONAL_NUMBERS[k]!].set(slot, v)
    }
    const name = asciiOrUtf8(payload, HEADER_BYTES, length, this.text)
    const id = this.symbols.register(name)
    if (id < 0) return this.refuseSymbol(id, name)
    f.seq.set(slot, seq)
    f.exchangeTsNs.set(slot, ts === 0 ? receiveTsNs : ts)
    f.receiveTsNs.set(slot, receiveTsNs)
    f.bid.set(slot, bid)
    f.ask.set(slot, ask)
    f.symbol.set(slot, id)
    f.epoch.set(slot, epoch)
    return OK
  }

  private refuseSymbol(code: number, name: string): DecodeCode {
    this.symbolCode = code
    this.detail = `symbol ${JSON.stringify(name.length > 60 ? name.slice(0, 60) + "…" : name)} refused by the symbol table (code ${code})`
    return SYMBOL_REFUSED
  }

  private fail(code: DecodeCode, detail: string): DecodeCode {
    this.detail = detail
    return code
  }
}

/** An absent field's default (a `null` is present, and wrong). */
const orDefault = (u: unknown, absent: number): unknown => (u === undefined ? absent : u)

const isFiniteNumber = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)

const kindOf = (u: unknown): string =>
  u === null ? "null" : Array.isArray(u) ? "an array" : typeof u === "number" ? String(u) : typeof u === "string" ? `a string` : typeof u

const hex2 = (b: number): string => b.toString(16).padStart(2, "0")

/** The name's string: a plain loop for ASCII (most symbols), the UTF-8 decoder otherwise. */
const asciiOrUtf8 = (bytes: Uint8Array, start: number, end: number, text: { decode(input: Uint8Array): string }): string => {
  let s = ""
  for (let i = start; i < end; i++) {
    const b = bytes[i]!
    if (b >= 0x80) return text.decode(bytes.subarray(start, end))
    s += String.fromCharCode(b)
  }
  return s
}

const encoder = new TextEncoder()

/** The binary size of a quote whose name is `nameBytes` long. */
export const binaryLength = (nameBytes: number): number => HEADER_BYTES + nameBytes

/**
 * Encodes `q` in the binary format into `out` at `offset` (it must have room: {@link binaryLength});
 * returns the bytes written. Throws `RangeError` for a name of 0 or more than 40 bytes.
 */
export const encodeBinaryInto = (q: QuoteMessage, out: Uint8Array, offset = 0): number => {
  const name = encoder.encode(q.symbol)
  if (name.length === 0 || name.length > MAX_NAME_BYTES) {
    throw new RangeError(`symbol name must be 1..${MAX_NAME_BYTES} bytes of UTF-8: symbol=${JSON.stringify(q.symbol)}`)
  }
  const d = new DataView(out.buffer, out.byteOffset + offset, HEADER_BYTES + name.length)
  d.setUint8(0, MAGIC)
  d.setUint8(1, VERSION)
  d.setUint8(NAME_LENGTH_OFFSET, name.length)
  d.setUint8(3, 0)
  d.setFloat64(4, q.seq ?? 0, true)
  d.setFloat64(12, q.exchangeTsNs ?? 0, true)
  d.setFloat64(20, q.bid, true)
  d.setFloat64(28, q.ask, true)
  d.setFloat64(36, q.bidSize ?? 0, true)
  d.setFloat64(44, q.askSize ?? 0, true)
  d.setFloat64(52, q.last ?? 0, true)
  d.setFloat64(60, q.lastSize ?? 0, true)
  out.set(name, offset + HEADER_BYTES)
  return HEADER_BYTES + name.length
}

/** `q` in the binary format, in a new buffer. */
export const encodeBinary = (q: QuoteMessage): Uint8Array => {
  const out = new Uint8Array(binaryLength(encoder.encode(q.symbol).length))
  encodeBinaryInto(q, out)
  return out
}

/** `q` as its JSON text. */
export const encodeJson = (q: QuoteMessage): string => JSON.stringify(q)
