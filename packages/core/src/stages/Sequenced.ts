/**
 * The record the shipped example stages pass around: 32 bytes, a sequence number plus a payload.
 *
 * @category layout
 * @since 0.1.0
 */
import * as RecordLayout from "../RecordLayout.ts"

export const Sequenced = RecordLayout.make("Sequenced", {
  seq: "f64",
  key: "u32",
  flags: "u32",
  value: "f64",
  check: "f64"
})

/** The `check` field a record with this `seq` carries: lets sinks detect torn or corrupted records. */
export const checkOf = (seq: number): number => seq * 2654435761 % 4294967291
