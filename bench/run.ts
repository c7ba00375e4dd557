/**
 * `npm run bench -- <suite> [--runs N] [--filter TEXT]`: runs one suite, prints its table and writes
 * `bench/results/<suite>.json`. See bench/README.md.
 *
 * A suite is a module under `suites/` exporting `suite: Suite`; register it here with one line.
 */
import { parseArgs } from "node:util"
import { runSuite, type Suite } from "./harness.ts"

const suites: Record<string, () => Promise<{ readonly suite: Suite }>> = {
  ring: () => import("./suites/ring.ts"),
  orderbook: () => import("./suites/orderbook.ts"),
  pipeline: () => import("./suites/pipeline.ts"),
  engine: () => import("./suites/engine.ts"),
  journal: () => import("./suites/journal.ts"),
  l2: () => import("./suites/l2.ts"),
  market: () => import("./suites/market.ts"),
  mqtt: () => import("./suites/mqtt.ts"),
  nats: () => import("./suites/nats.ts"),
  edges: () => import("./suites/edges.ts")
}

const usage = `usage: npm run bench -- <suite> [--runs N] [--filter TEXT]
  suites: ${Object.keys(suites).join(", ")}
  --runs N       runs per case (default: each case's own, usually 5)
  --filter TEXT  only the jobs with a case name containing TEXT (a,b: containing a or b)`

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: "string" }, filter: { type: "string" }, help: { type: "boolean", short: "h" } }
})

const name = positionals[0]
const load = name === undefined ? undefined : suites[name]
if (values.help === true || load === undefined || positionals.length !== 1) {
  process.stderr.write(`${name !== undefined && load === undefined ? `unknown suite: ${name}\n` : ""}${usage}\n`)
  process.exit(values.help === true ? 0 : 2)
}
const runs = values.runs === undefined ? undefined : Number(values.runs)
if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1)) {
  process.stderr.write(`--runs must be a positive integer: --runs=${values.runs}\n`)
  process.exit(2)
}

const { suite } = await load()
const { failures } = await runSuite(suite, {
  resultsDir: new URL("./results/", import.meta.url),
  ...(runs === undefined ? {} : { runs }),
  ...(values.filter === undefined ? {} : { filter: values.filter })
})
process.exitCode = failures.length > 0 ? 1 : 0
