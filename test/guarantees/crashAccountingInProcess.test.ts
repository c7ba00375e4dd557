/**
 * The throw cases of crashCases.ts with every loop in a fiber on the main thread: the same stage runner
 * as in a worker thread, run in the test process, where a mutant of its crash accounting is seen
 * (`npm run mutation -- --module crash-accounting`).
 */
import { describe } from "@effect/vitest"
import { crashCases } from "./crashCases.ts"

describe("crash accounting, loops in fibers", () => {
  crashCases("fiber")
})
