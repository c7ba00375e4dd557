/**
 * The three pass-through stages of the `pipeline` suite: the shipped `PassThrough` logic (the same
 * `make`, so the same per-record code) under three names, `pass-through-1` … `-3`.
 *
 * ```
 *   counter ─► pass-through-1 ─► pass-through-2 ─► pass-through-3 ─► counting-sink
 * ```
 *
 * Why not `PassThrough` three times: a pipeline names each stage instance (and each worker host) by
 * its definition's name, so three `PassThrough`s placed in three workers become three hosts all named
 * "pass-through", and the ledger, which finds a link's producers and consumers by host name, then
 * counts the wrong stages on one link and reports the run UNBALANCED although every record arrived.
 * Distinct names keep every placement's ledger exact; the work per record is unchanged.
 *
 * A worker imports this module by URL (`module: import.meta.url`) and finds the stage by name.
 */
import { Stage } from "@velox/core"
import { PassThrough, Sequenced } from "@velox/core/stages"

type SequencedSpec = typeof Sequenced.spec

const passThrough = (name: string) =>
  Stage.make({
    name,
    module: import.meta.url,
    input: Sequenced,
    output: Sequenced,
    make: (config: unknown) => PassThrough.make(config) as Stage.StageLogic<SequencedSpec, SequencedSpec>
  })

export const PassThrough1 = passThrough("pass-through-1")
export const PassThrough2 = passThrough("pass-through-2")
export const PassThrough3 = passThrough("pass-through-3")
