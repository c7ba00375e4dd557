/**
 * The quote payloads of an MQTT feed (kernel tier): a message's bytes decoded straight into a `Quote`
 * slot, and quotes encoded for publishers. No Effect, no throw for bad input (a negative code, and
 * `detail` says what was wrong), and nothing allocated for a well-formed message: its numbers are read
 * from the payload's bytes (binary: at fixed offsets; JSON: by a byte scanner for the format below,
 * which hands anything it does not expect — escapes, nesting, a refusal — to `JSON.parse`, so the
 * result and every refusal are exactly `JSON.parse`'s), and its symbol's id comes from a cache keyed
 * by the name's bytes (no string once a name is known).
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
  /** JSON messages decoded by the byte scanner (the others went through `JSON.parse`). */
  scanned = 0
  private readonly format: PayloadFormat
  private readonly symbols: SymbolRegistry
  private readonly text = new TextDecoder("utf-8", { fatal: false })
  private readonly names = new NameCache()
  private readonly json = new JsonQuoteScanner()
  /** The view last decoded into, its memory as words, and where each field sits in a record. */
  private bound: QuoteView | undefined
  private f64: Float64Array<ArrayBufferLike> = new Float64Array(0)
  private u32: Uint32Array<ArrayBufferLike> = new Uint32Array(0)
  private at = noSlots
  /** A DataView of the last payload's memory: mqtt.js hands out slices of one read's buffer. */
  private memory: ArrayBufferLike | undefined
  private data: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0))

  constructor(symbols: SymbolRegistry, format: PayloadFormat) {
    this.symbols = symbols
    this.format = format
  }

  /** Numbers the byte scanner read through `Number` on their text (past its exact paths). */
  get numbersViaText(): number {
    return this.json.viaText
  }

  /**
   * Decodes `payload` into `slot` of `view`, stamping `receiveTsNs` and `epoch`; `OK` or a negative
   * code (the slot's content is then undefined).
   */
  decode(payload: Uint8Array, view: QuoteView, slot: number, receiveTsNs: number, epoch: number): DecodeCode {
    if (view !== this.bound) this.bind(view)
    const binary = this.format === "binary" || (this.format === "auto" && payload.length > 0 && payload[0] === MAGIC)
    if (binary) return this.decodeBinary(payload, slot, receiveTsNs, epoch)
    if (this.json.scan(payload)) {
      const code = this.fromScan(payload, slot, receiveTsNs, epoch)
      if (code !== NOT_SCANNED) return code
    }
    return this.decodeJson(payload, view, slot, receiveTsNs, epoch)
  }

  private bind(view: QuoteView): void {
    const byteOffset = view.byteOffset
    const buffer = view.words64.buffer
    const length = view.slotCount * view.layout.byteLength
    this.f64 = new Float64Array(buffer, byteOffset, length / 8)
    this.u32 = new Uint32Array(buffer, byteOffset, length / 4)
    const offsetOf = (name: string) => view.layout.fields.find((f) => f.name === name)!.offset
    this.at = {
      stride64: view.layout.byteLength / 8,
      stride32: view.layout.byteLength / 4,
      seq: offsetOf("seq") / 8,
      exchangeTsNs: offsetOf("exchangeTsNs") / 8,
      receiveTsNs: offsetOf("receiveTsNs") / 8,
      bid: offsetOf("bid") / 8,
      ask: offsetOf("ask") / 8,
      optional: OPTIONAL_NUMBERS.map((name) => offsetOf(name) / 8),
      symbol: offsetOf("symbol") / 4,
      epoch: offsetOf("epoch") / 4
    }
    this.bound = view
  }

  /** The id of the name in `bytes[start, end)`: from the cache, else registered (and cached); negative when refused. */
  private symbolId(bytes: Uint8Array, start: number, end: number): number {
    const cached = this.names.get(bytes, start, end)
    if (cached >= 0) return cached
    const name = asciiOrUtf8(bytes, start, end, this.text)
    const id = this.symbols.register(name)
    if (id < 0) return this.refuseSymbol(id, name)
    this.names.set(bytes, start, end, id)
    return id
  }

  /** Writes what the scanner found, if it is a quote; `NOT_SCANNED` for anything `fromObject` should judge. */
  private fromScan(payload: Uint8Array, slot: number, receiveTsNs: number, epoch: number): DecodeCode | typeof NOT_SCANNED {
    const j = this.json
    const v = j.values
    // Every refusal, and its exact words, is `fromObject`'s: only a complete, valid quote is written here.
    if (j.symbolStart < 0 || (j.present & REQUIRED) !== REQUIRED) return NOT_SCANNED
    const seq = (j.present & (1 << SEQ)) !== 0 ? v[SEQ]! : 0
    const ts = (j.present & (1 << TS)) !== 0 ? v[TS]! : receiveTsNs
    if (!(seq >= 0 && ts >= 0)) return NOT_SCANNED
    const id = this.symbolId(payload, j.symbolStart, j.symbolEnd)
    if (id < 0) return SYMBOL_REFUSED
    const a = this.at
    const f = this.f64
    const base = slot * a.stride64
    f[base + a.seq] = seq
    f[base + a.exchangeTsNs] = ts
    f[base + a.receiveTsNs] = receiveTsNs
    f[base + a.bid] = v[BID]!
    f[base + a.ask] = v[ASK]!
    for (let k = 0; k < OPTIONAL_NUMBERS.length; k++) f[base + a.optional[k]!] = (j.present & (1 << (FIRST_OPTIONAL + k))) !== 0 ? v[FIRST_OPTIONAL + k]! : 0
    const u = this.u32
    u[slot * a.stride32 + a.symbol] = id
    u[slot * a.stride32 + a.epoch] = epoch
    this.scanned++
    return OK
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

  private decodeBinary(payload: Uint8Array, slot: number, receiveTsNs: number, epoch: number): DecodeCode {
    const length = payload.length
    if (length < HEADER_BYTES) return this.fail(BAD_LENGTH, `binary quote of ${length} bytes: its header alone is ${HEADER_BYTES}`)
    if (payload[0] !== MAGIC) return this.fail(BAD_MAGIC, `first byte 0x${hex2(payload[0]!)}: not a binary quote (magic 0x51)`)
    if (payload[1] !== VERSION) return this.fail(BAD_VERSION, `binary quote version ${payload[1]}: this decoder reads version ${VERSION}`)
    const n = payload[NAME_LENGTH_OFFSET]!
    if (length !== HEADER_BYTES + n || n === 0 || n > MAX_NAME_BYTES) {
      return this.fail(BAD_LENGTH, `binary quote of ${length} bytes with a ${n}-byte name: expected ${HEADER_BYTES} + n bytes, n in 1..${MAX_NAME_BYTES}`)
    }
    // The numbers straight from the payload's memory (at any offset: DataView reads unaligned).
    if (payload.buffer !== this.memory) {
      this.memory = payload.buffer
      this.data = new DataView(payload.buffer)
    }
    const d = this.data
    const o = payload.byteOffset
    const seq = d.getFloat64(o + 4, true)
    const ts = d.getFloat64(o + 12, true)
    if (!(seq >= 0 && Number.isFinite(seq))) return this.fail(BAD_FIELD, `seq must be a number ≥ 0, got ${seq}`)
    if (!(ts >= 0 && Number.isFinite(ts))) return this.fail(BAD_FIELD, `exchangeTsNs must be a number ≥ 0, got ${ts}`)
    const bid = d.getFloat64(o + 20, true)
    const ask = d.getFloat64(o + 28, true)
    if (!Number.isFinite(bid)) return this.fail(BAD_FIELD, `bid must be a finite number, got ${bid}`)
    if (!Number.isFinite(ask)) return this.fail(BAD_FIELD, `ask must be a finite number, got ${ask}`)
    const a = this.at
    const f = this.f64
    const base = slot * a.stride64
    for (let k = 0; k < OPTIONAL_NUMBERS.length; k++) {
      const v = d.getFloat64(o + 36 + 8 * k, true)
      if (!Number.isFinite(v)) return this.fail(BAD_FIELD, `${OPTIONAL_NUMBERS[k]} must be a finite number, got ${v}`)
      f[base + a.optional[k]!] = v
    }
    const id = this.symbolId(payload, HEADER_BYTES, length)
    if (id < 0) return SYMBOL_REFUSED
    f[base + a.seq] = seq
    f[base + a.exchangeTsNs] = ts === 0 ? receiveTsNs : ts
    f[base + a.receiveTsNs] = receiveTsNs
    f[base + a.bid] = bid
    f[base + a.ask] = ask
    const u = this.u32
    u[slot * a.stride32 + a.symbol] = id
    u[slot * a.stride32 + a.epoch] = epoch
    return OK
  }

  private refuseSymbol(code: number, name: string): typeof SYMBOL_REFUSED {
    this.symbolCode = code
    this.detail = `symbol ${JSON.stringify(name.length > 60 ? name.slice(0, 60) + "…" : name)} refused by the symbol table (code ${code})`
    return SYMBOL_REFUSED
  }

  private fail(code: DecodeCode, detail: string): DecodeCode {
    this.detail = detail
    return code
  }
}

/** Where each field sits in a record of the view being written (in its f64 or its u32 words). */
interface Slots {
  readonly stride64: number
  readonly stride32: number
  readonly seq: number
  readonly exchangeTsNs: number
  readonly receiveTsNs: number
  readonly bid: number
  readonly ask: number
  readonly optional: ReadonlyArray<number>
  readonly symbol: number
  readonly epoch: number
}

const noSlots: Slots = { stride64: 0, stride32: 0, seq: 0, exchangeTsNs: 0, receiveTsNs: 0, bid: 0, ask: 0, optional: [], symbol: 0, epoch: 0 }

/** `fromScan`: the scanner's result is not for it to judge (`JSON.parse` and `fromObject` decide). */
const NOT_SCANNED = 1

/**
 * Names' ids by their bytes, so that a known name costs a hash and a compare, not a string: open
 * addressing over `SLOTS` slots, filled to half at most (past that, names go through the table as
 * strings). Ids never change once handed out (the symbol table never reuses one), so an entry never
 * goes stale; a name the table refused is never cached.
 */
class NameCache {
  private static readonly SLOTS = 4096
  private readonly ids = new Int32Array(NameCache.SLOTS).fill(-1)
  private readonly hashes = new Int32Array(NameCache.SLOTS)
  private readonly lengths = new Uint8Array(NameCache.SLOTS)
  private readonly bytes = new Uint8Array(NameCache.SLOTS * MAX_NAME_BYTES)
  private size = 0

  /** The id of the name in `b[start, end)`, or -1 when it is not cached. */
  get(b: Uint8Array, start: number, end: number): number {
    const n = end - start
    if (n < 1 || n > MAX_NAME_BYTES) return -1
    const h = hashBytes(b, start, end)
    const mask = NameCache.SLOTS - 1
    for (let slot = h & mask;; slot = (slot + 1) & mask) {
      const id = this.ids[slot]!
      if (id < 0) return -1
      if (this.hashes[slot] === h && this.lengths[slot] === n && this.same(slot, b, start, n)) return id
    }
  }

  set(b: Uint8Array, start: number, end: number, id: number): void {
    const n = end - start
    if (n < 1 || n > MAX_NAME_BYTES || this.size >= NameCache.SLOTS / 2) return
    const h = hashBytes(b, start, end)
    const mask = NameCache.SLOTS - 1
    let slot = h & mask
    while (this.ids[slot]! >= 0) slot = (slot + 1) & mask
    this.ids[slot] = id
    this.hashes[slot] = h
    this.lengths[slot] = n
    for (let i = 0; i < n; i++) this.bytes[slot * MAX_NAME_BYTES + i] = b[start + i]!
    this.size++
  }

  private same(slot: number, b: Uint8Array, start: number, n: number): boolean {
    const at = slot * MAX_NAME_BYTES
    for (let i = 0; i < n; i++) if (this.bytes[at + i] !== b[start + i]) return false
    return true
  }
}

/** FNV-1a over `b[start, end)`. */
const hashBytes = (b: Uint8Array, start: number, end: number): number => {
  let h = 0x811c9dc5 | 0
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
  return h
}

// The scanner's number slots (and bits of `present`).
const BID = 0
const ASK = 1
const SEQ = 2
const TS = 3
/** `bidSize`, `askSize`, `last`, `lastSize`: 4 … 7, in `OPTIONAL_NUMBERS` order. */
const FIRST_OPTIONAL = 4
const UNKNOWN_NUMBER = 8
const REQUIRED = (1 << BID) | (1 << ASK)
/** The number keys, by slot; `symbol` is the string key. */
const NUMBER_KEYS = ["bid", "ask", "seq", "exchangeTsNs", ...OPTIONAL_NUMBERS].map((k) => new TextEncoder().encode(k))
const SYMBOL_KEY = new TextEncoder().encode("symbol")
const UNKNOWN_KEY = -1
const SYMBOL = -2

/** 10^0 … 10^22: every one exact in a double. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`))
const TWO_53 = 2 ** 53
const TWO_26 = 2 ** 26
/**
 * m × scale + low, rounded once (as JSON.parse rounds the integer): with m below 2^53 split as
 * hi × 2^26 + lo, scale ≤ 10^5 and low < 10^5, both hi × scale (times 2^26) and lo × scale + low are
 * integers below 2^44, exact, so their sum is the only rounding.
 */
const exactSum = (m: number, scale: number, low: number): number => {
  const hi = Math.floor(m / TWO_26)
  return hi * scale * TWO_26 + ((m - hi * TWO_26) * scale + low)
}

/** Digits read past 2^53 into an integer's low part: m × 10^4 + low stays below 2^67, split exactly in `number`. */
const LOW_DIGITS = 4

const [QUOTE, BACKSLASH, COMMA, COLON, OPEN, CLOSE, MINUS, PLUS, DOT, ZERO, NINE] = [0x22, 0x5c, 0x2c, 0x3a, 0x7b, 0x7d, 0x2d, 0x2b, 0x2e, 0x30, 0x39]
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/**
 * Reads the documented JSON quote straight from its bytes: one flat object whose known keys hold
 * numbers (`symbol` a string of printable ASCII without escapes) and whose other keys hold a number, a
 * string, `true`, `false` or `null`. `scan` is true when the payload is exactly that, in JSON's strict
 * grammar, and the numbers are then in `values` (with their bits in `present`), each the double
 * `JSON.parse` would give: exact for up to 15–16 significant digits (Clinger's fast path: the digits
 * as an integer below 2^53 times or over an exact power of ten) and for integers of up to 20 digits
 * (times in ns), else the digits through `Number`, which rounds as `JSON.parse` does. Anything else (an escape, nesting, a syntax error, a
 * non-ASCII symbol, a number that is not finite) is false: `JSON.parse` reads it instead.
 */
class JsonQuoteScanner {
  /** The numbers by slot; one more slot for the numbers of unknown keys (read, then forgotten). */
  readonly values = new Float64Array(9)
  present = 0
  symbolStart = -1
  symbolEnd = -1
  /** Numbers read through `Number` on their text (past the exact paths), since the scanner was made. */
  viaText = 0
  private end = 0
  /** The scanner slots of the last payload's keys, in order (`UNKNOWN_KEY` for others): tried first. */
  private readonly order = new Int8Array(16).fill(UNKNOWN_KEY)
  /** A DataView of the last payload's memory (keys are compared 4 bytes at a time). */
  private memory: ArrayBufferLike | undefined
  private data: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0))

  scan(b: Uint8Array): boolean {
    this.present = 0
    this.symbolStart = -1
    const end = b.length
    this.end = end
    if (b.buffer !== this.memory) {
      this.memory = b.buffer
      this.data = new DataView(b.buffer)
    }
    let i = this.skip(b, 0)
    if (i >= end || b[i] !== OPEN) return false
    i = this.skip(b, i + 1)
    if (i < end && b[i] === CLOSE) return this.skip(b, i + 1) === end
    const order = this.order
    for (let k = 0;; k++) {
      // A key: plain ASCII without escapes (anything else is a key we would not know anyway, but check it).
      if (i >= end || b[i] !== QUOTE) return false
      const keyStart = i + 1
      // A feed's messages keep their keys in one order: the previous message's k-th key first.
      let key = k < order.length ? order[k]! : UNKNOWN_KEY
      if (key === UNKNOWN_KEY || !keyAt(b, this.data, keyStart, key)) {
        key = knownKeyAt(b, this.data, keyStart)
        if (k < order.length) order[k] = key
      }
      if (key !== UNKNOWN_KEY) i = keyStart + KEY_LENGTHS[key - SYMBOL]! + 1
      else {
        i = this.string(b, keyStart)
        if (i < 0) return false
      }
      // The separators without spaces around them (as JSON.stringify writes them) need no skipping.
      if (i < end && b[i] === COLON) {
        i++
        if (i < end && isSpace(b[i]!)) i = this.skip(b, i)
      } else {
        i = this.skip(b, i)
        if (i >= end || b[i] !== COLON) return false
        i = this.skip(b, i + 1)
      }
      if (i >= end) return false
      const c = b[i]!
      if (key === SYMBOL) {
        if (c !== QUOTE) return false
        const start = i + 1
        let j = start
        // Printable ASCII, no quote or backslash, no space: any other name is for `register` to judge as a string.
        for (; j < end; j++) {
          const x = b[j]!
          if (x === QUOTE || x === BACKSLASH || x <= 0x20 || x >= 0x7f) break
        }
        if (j >= end || b[j] !== QUOTE) return false
        this.symbolStart = start
        this.symbolEnd = j
        i = j + 1
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        // Straight into its slot (a double in a field would be boxed: an allocation per number).
        i = this.number(b, i, key >= 0 ? key : UNKNOWN_NUMBER)
        if (i < 0) return false
        if (key >= 0) this.present |= 1 << key
      } else if (key !== UNKNOWN_KEY) {
        return false
      } else if (c === QUOTE) {
        i = this.string(b, i + 1)
        if (i < 0) return false
      } else {
        i = literal(b, i)
        if (i < 0) return false
      }
      if (i < end && b[i] === COMMA) {
        i++
        if (i < end && isSpace(b[i]!)) i = this.skip(b, i)
        continue
      }
      i = this.skip(b, i)
      if (i >= end) return false
      if (b[i] === CLOSE) return this.skip(b, i + 1) === end
      if (b[i] !== COMMA) return false
      i = this.skip(b, i + 1)
    }
  }

  private skip(b: Uint8Array, i: number): number {
    while (i < this.end && isSpace(b[i]!)) i++
    return i
  }

  /** From just after an opening quote: the index after the closing one, or -1 (an escape, a control character, no end). */
  private string(b: Uint8Array, i: number): number {
    for (; i < this.end; i++) {
      const x = b[i]!
      if (x === QUOTE) return i + 1
      if (x === BACKSLASH || x < 0x20) return -1
    }
    return -1
  }

  /** A JSON number from `i` into `values[slot]`: the index after it, or -1 (not JSON's grammar, or not finite). */
  private number(b: Uint8Array, i: number, slot: number): number {
    // Most prices and sizes: at most 15 digits in all and no exponent. Their digits are an integer
    // below 10^15, exact, and one division by an exact power of ten rounds it as JSON.parse does.
    const end = this.end
    const start = i
    const negative = b[i] === MINUS
    if (negative) i++
    const first = i
    let m = 0
    let c = 0
    const stop = end < first + 15 ? end : first + 15
    for (; i < stop && (c = b[i]!) >= ZERO && c <= NINE; i++) m = m * 10 + (c - ZERO)
    const integerDigits = i - first
    // JSON has no leading zeros: "0" alone, or "0." / "0e".
    if (integerDigits === 0 || (integerDigits > 1 && b[first] === ZERO)) return -1
    if (integerDigits === 15 && i < end && (c = b[i]!) >= ZERO && c <= NINE) {
      // An integer of 16–20 digits (a time in ns): m × 10^r + low, m its first 15 digits (r ≤ 5).
      const lowStart = i
      let low = 0
      for (; i < end && (c = b[i]!) >= ZERO && c <= NINE; i++) low = low * 10 + (c - ZERO)
      const r = i - lowStart
      if (r > 5 || (i < end && (b[i] === DOT || b[i] === 0x65 || b[i] === 0x45))) return this.longNumber(b, start, slot)
      const v = exactSum(m, POW10[r]!, low)
      this.values[slot] = negative ? -v : v
      return i
    }
    let fractionDigits = 0
    if (i < end && b[i] === DOT) {
      const fractionStart = ++i
      for (; i < end && (c = b[i]!) >= ZERO && c <= NINE; i++) m = m * 10 + (c - ZERO)
      fractionDigits = i - fractionStart
      if (fractionDigits === 0) return -1
    }
    if (integerDigits + fractionDigits > 15 || (i < end && (b[i] === 0x65 || b[i] === 0x45))) return this.longNumber(b, start, slot)
    const v = fractionDigits === 0 ? m : m / POW10[fractionDigits]!
    this.values[slot] = negative ? -v : v
    return i
  }

  /** `number` past 15 digits, or with an exponent. */
  private longNumber(b: Uint8Array, i: number, slot: number): number {
    const end = this.end
    const start = i
    const negative = b[i] === MINUS
    if (negative) i++
    if (i >= end) return -1
    // The digits as an integer `m` with trailing zeros held back in `zeros`, times 10^`k`. Past 2^53 the
    // next (up to LOW_DIGITS) digits go into `low`: the integer is then m × 10^`lowDigits` + low.
    let m = 0
    let zeros = 0
    let k = 0
    let low = 0
    let lowDigits = -1
    let exact = true
    let c = b[i]!
    // JSON has no leading zeros: "0" alone, or "0." / "0e".
    if (c === ZERO) {
      if (i + 1 < end && b[i + 1]! >= ZERO && b[i + 1]! <= NINE) return -1
    } else if (!(c > ZERO && c <= NINE)) return -1
    // The integer part's digits, then the fraction's (each one lowers `k`), as one run of digits.
    for (let fraction = false;;) {
      const runStart = i
      for (; i < end && (c = b[i]!) >= ZERO && c <= NINE; i++) {
        if (c === ZERO) zeros++
        else if (!exact) continue
        else if (lowDigits < 0) {
          const next = zeros < 22 ? m * POW10[zeros + 1]! + (c - ZERO) : TWO_53
          if (next < TWO_53) {
            m = next
            zeros = 0
          } else {
            // m takes what zeros still fit below 2^53 (the longest prefix), `low` the rest.
            while (zeros > 0 && m > 0 && m * 10 < TWO_53) {
              m *= 10
              zeros--
            }
            if (zeros < LOW_DIGITS) {
              low = c - ZERO
              lowDigits = zeros + 1
              zeros = 0
            } else exact = false
          }
        } else if (lowDigits + zeros < LOW_DIGITS) {
          low = low * POW10[zeros + 1]! + (c - ZERO)
          lowDigits += zeros + 1
          zeros = 0
        } else exact = false
      }
      if (fraction) {
        if (i === runStart) return -1
        k -= i - runStart
        break
      }
      if (!(i < end && b[i] === DOT)) break
      i++
      fraction = true
    }
    if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
      i++
      let sign = 1
      if (i < end && (b[i] === PLUS || b[i] === MINUS)) {
        if (b[i] === MINUS) sign = -1
        i++
      }
      const exponentStart = i
      let e = 0
      for (; i < end && (c = b[i]!) >= ZERO && c <= NINE; i++) if (e < 100_000) e = e * 10 + (c - ZERO)
      if (i === exponentStart) return -1
      k += sign * e
    }
    const e = k + zeros
    let v: number
    if (exact && m === 0) v = 0
    else if (exact && lowDigits < 0 && e >= 0 && e <= 22) v = m * POW10[e]!
    else if (exact && lowDigits < 0 && e < 0 && e >= -22) v = m / POW10[-e]!
    else if (exact && e >= 0 && lowDigits + e <= LOW_DIGITS) {
      // An integer of 17–20 digits written with an exponent or a fraction of zeros: m × 10^(lowDigits + e) + low × 10^e.
      v = exactSum(m, POW10[lowDigits + e]!, low * POW10[e]!)
    } else {
      // Past the exact paths: the digits as text, rounded as JSON.parse rounds them.
      this.viaText++
      let text = ""
      for (let j = negative ? start + 1 : start; j < i; j++) text += String.fromCharCode(b[j]!)
      v = Number(text)
      if (!Number.isFinite(v)) return -1
    }
    this.values[slot] = negative ? -v : v
    return i
  }
}

/** The keys by scanner slot − `SYMBOL`: the symbol key, none for `UNKNOWN_KEY`, then the number keys. */
const KEY_BYTES = [SYMBOL_KEY, new Uint8Array(0), ...NUMBER_KEYS]
/** The known keys by their first byte, as scanner slots. */
const KEYS_BY_FIRST_BYTE: ReadonlyArray<ReadonlyArray<number>> = Array.from({ length: 128 }, (_, c) =>
  KEY_BYTES.flatMap((key, k) => (key[0] === c ? [k + SYMBOL] : [])))

/**
 * Each known key with its closing quote (4–13 bytes) as little-endian 32-bit words, compared 4 bytes
 * at a time: `KEY_WORDS` words at `KEY_WORD_OFFSETS` (the last one overlapping the one before), 4 a
 * key (a shorter key repeats its last word), by scanner slot − `SYMBOL`.
 */
const KEY_WORDS = new Int32Array(KEY_BYTES.length * 4)
const KEY_LENGTHS = Int32Array.from(KEY_BYTES, (key) => key.length)
const KEY_WORD_OFFSETS = new Int32Array(KEY_BYTES.length * 4)
KEY_BYTES.forEach((key, k) => {
  if (key.length === 0) return
  const bytes = [...key, QUOTE]
  const offsets: Array<number> = []
  for (let o = 0; o + 4 < bytes.length; o += 4) offsets.push(o)
  offsets.push(bytes.length - 4)
  for (let w = 0; w < 4; w++) {
    const o = offsets[Math.min(w, offsets.length - 1)]!
    KEY_WORD_OFFSETS[k * 4 + w] = o
    KEY_WORDS[k * 4 + w] = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)
  }
})

/**
 * The known key at `start` of `b` (just after its opening quote), with its closing quote: its scanner
 * slot, or `UNKNOWN_KEY`. `d` views `b`'s memory.
 */
const knownKeyAt = (b: Uint8Array, d: DataView<ArrayBufferLike>, start: number): number => {
  const first = b[start]!
  if (!(first < 128)) return UNKNOWN_KEY
  const candidates = KEYS_BY_FIRST_BYTE[first]!
  for (let c = 0; c < candidates.length; c++) {
    if (keyAt(b, d, start, candidates[c]!)) return candidates[c]!
  }
  return UNKNOWN_KEY
}

/** Whether the known key of scanner slot `slot`, with its closing quote, is at `start` of `b` (`d` views `b`'s memory). */
const keyAt = (b: Uint8Array, d: DataView<ArrayBufferLike>, start: number, slot: number): boolean => {
  const k = (slot - SYMBOL) * 4
  if (start + KEY_LENGTHS[k >> 2]! >= b.length) return false
  const at = b.byteOffset + start
  return d.getInt32(at + KEY_WORD_OFFSETS[k]!, true) === KEY_WORDS[k] &&
    d.getInt32(at + KEY_WORD_OFFSETS[k + 1]!, true) === KEY_WORDS[k + 1] &&
    d.getInt32(at + KEY_WORD_OFFSETS[k + 2]!, true) === KEY_WORDS[k + 2] &&
    d.getInt32(at + KEY_WORD_OFFSETS[k + 3]!, true) === KEY_WORDS[k + 3]
}

const sameBytes = (key: Uint8Array, b: Uint8Array, start: number): boolean => {
  for (let i = 0; i < key.length; i++) if (b[start + i] !== key[i]) return false
  return true
}

const LITERALS = ["true", "false", "null"].map((k) => new TextEncoder().encode(k))

/** `true`, `false` or `null` at `i`: the index after it, or -1. */
const literal = (b: Uint8Array, i: number): number => {
  for (const word of LITERALS) {
    if (i + word.length <= b.length && sameBytes(word, b, i)) return i + word.length
  }
  return -1
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
