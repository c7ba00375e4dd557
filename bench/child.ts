/**
 * One bench run in a fresh process: receives `{ module, params }` from the harness over IPC, imports the
 * case module, awaits `run(params)` (which starts its own workers and checks its own result) and sends
 * back the numbers, or the error if a check failed. Then exits, taking every worker with it.
 */
import type { CaseModule, ChildReply, ChildRequest } from "./harness.ts"

/** By name, not instanceof: the case module may see its own copy of the harness module. */
const isInconclusive = (e: unknown): boolean => e instanceof Error && e.name === "InconclusiveRun"

const reply = (message: ChildReply): void => {
  process.send!(message, () => process.exit(message.ok ? 0 : 1))
}

process.once("message", (request: ChildRequest) => {
  void (async () => {
    try {
      const mod = (await import(request.module)) as CaseModule<unknown>
      const values = await mod.run(request.params)
      const cpu = process.cpuUsage()
      reply({ ok: true, values, cpuMs: (cpu.user + cpu.system) / 1e3 })
    } catch (e) {
      // The stack of a failed check goes to stderr for whoever debugs; the message goes into the report.
      if (!isInconclusive(e) && e instanceof Error && e.stack !== undefined) process.stderr.write(`${e.stack}\n`)
      reply({ ok: false, error: e instanceof Error ? e.message : String(e), inconclusive: isInconclusive(e) })
    }
  })()
})
