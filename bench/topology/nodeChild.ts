/**
 * A bench's helper process: a Node script run with this process's flags (`--conditions`, …), its stdout
 * collected, killed when the scope closes. A case waits for the lines it prints (`ready …`, a result).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { basename } from "node:path"
import { Effect, type Scope } from "effect"

export interface NodeChild {
  readonly child: ChildProcess
  /** Everything it printed on stdout so far. */
  readonly output: () => string
  /** Until its output matches `pattern`: the match; a defect if it exits first (`what`: what it did not print). */
  readonly waitFor: (pattern: RegExp, what: string) => Effect.Effect<RegExpExecArray>
}

export const spawnNodeChild = (
  script: string,
  args: ReadonlyArray<string>,
  /** `stdin: "pipe"` for a child that ends itself when its parent goes (its stdin closes). */
  options: { readonly stdin: "ignore" | "pipe"; readonly killSignal: NodeJS.Signals }
): Effect.Effect<NodeChild, never, Scope.Scope> =>
  Effect.gen(function*() {
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: [options.stdin, "pipe", "inherit"] })),
      (c) => Effect.sync(() => c.kill(options.killSignal))
    )
    let out = ""
    child.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s))
    const waitFor = (pattern: RegExp, what: string) =>
      Effect.gen(function*() {
        for (;;) {
          const match = pattern.exec(out)
          if (match !== null) return match
          if (child.exitCode !== null) return yield* Effect.die(new Error(`${basename(script)} exited ${child.exitCode} ${what}`))
          yield* Effect.sleep("1 millis")
        }
      })
    return { child, output: () => out, waitFor }
  })
