/**
 * The builder's compile-time promises, checked by `npm test` and not only by `npm run typecheck`:
 * `tsc` compiles test/fixtures/typecheck/layoutMismatch.ts, whose `@ts-expect-error` lines must each
 * meet an error (a link of mismatched layouts that compiled would leave one unused, failing the compile).
 */
import { assert, describe, it } from "@effect/vitest"
import { describeRun, runProgram } from "../fixtures/runProgram.ts"

const root = new URL("../../", import.meta.url).pathname
const tsc = `${root}node_modules/.bin/tsc`
const project = new URL("../fixtures/typecheck/tsconfig.json", import.meta.url).pathname

describe("type-level checks", () => {
  it("connecting stages whose layouts differ does not compile (via, to, partition), and matching ones do", async () => {
    const run = await runProgram(tsc, ["-p", project], { cwd: root })
    assert.strictEqual(run.code, 0, describeRun(run))
  })
})
