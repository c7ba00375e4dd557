import { assert, describe, it } from "@effect/vitest"
import { MetricsText } from "@velox/core"

describe("MetricsText", () => {
  it("writes HELP, TYPE and each sample, escaping label values and help, spelling out non-finite values", () => {
    const text = MetricsText.format([
      { name: "a_total", type: "counter", help: "back\\slash\nnewline", series: [{ labels: {}, value: 3 }] },
      { name: "b", type: "gauge", help: "b", series: [{ labels: { k: "q\"uote\\\n" }, value: Infinity }, { labels: { k: "x" }, value: NaN }] }
    ])
    assert.strictEqual(
      text,
      [
        "# HELP a_total back\\\\slash\\nnewline",
        "# TYPE a_total counter",
        "a_total 3",
        "# HELP b b",
        "# TYPE b gauge",
        "b{k=\"q\\\"uote\\\\\\n\"} +Inf",
        "b{k=\"x\"} NaN",
        ""
      ].join("\n")
    )
    assert.strictEqual(MetricsText.format([]), "")
  })

  it("merges families of one name into one, in first-seen order", () => {
    const one = (name: string, value: number) => ({ name, type: "gauge" as const, help: name, series: [{ labels: { v: String(value) }, value }] })
    const merged = MetricsText.merge([one("x", 1), one("y", 2), one("x", 3)])
    assert.deepStrictEqual(merged.map((f) => [f.name, f.series.map((s) => s.value)]), [["x", [1, 3]], ["y", [2]]])
  })
})
