/** The `nats` suite's record: 32 bytes (a sequence, a publish stamp in CLOCK_MONOTONIC ns, a price, a symbol). */
import { RecordLayout } from "@velox/core"

export const BenchRecord = RecordLayout.make("BenchRecord", { seq: "f64", stampNs: "f64", price: "f64", symbol: "u32", flags: "u32" })
