/**
 * The pipeline's errors, one family per concern: a pipeline that cannot start as given
 * (`PipelineConfigError`), a stage the supervisor gave up on (`StageCrashed`), a drain cut short
 * (`DrainTimeout`), and a record a stage could not handle (`RecordFailed`, a dead letter). Each is a
 * `Schema.TaggedError`: serialisable, matched with `Effect.catchTag`, and, where it helps, carrying a
 * `reason` that says which rule was broken.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"

/**
 * Why a pipeline cannot start as given:
 * - `Option`: a run option is out of range (e.g. a ring capacity that is not a power of two);
 * - `StageConfig`: a stage's config fails its schema, or its `maxRetained` does not fit a ring;
 * - `Shape`: the steps are not a source, stages, then a sink;
 * - `Layout`: a stage's input layout is not the previous stage's output (fields, their order, types,
 *   byte length), or a partition key is not a field;
 * - `Placement`: a stage cannot run where it is placed (defined in the program's entry module and
 *   placed in a worker, which would run the program again);
 * - `StageSection`: a per-stage config section names no stage of the pipeline.
 *
 * @category models
 * @since 0.1.0
 */
export const ConfigErrorReason = Schema.Literals(["Option", "StageConfig", "Shape", "Layout", "Placement", "StageSection"])

/**
 * @category models
 * @since 0.1.0
 */
export type ConfigErrorReason = typeof ConfigErrorReason.Type

/**
 * The pipeline's shape or options are unusable; nothing was started. `key` names the option or stage,
 * `value` what was given, `rule` what it must be.
 *
 * @category errors
 * @since 0.1.0
 */
export class PipelineConfigError extends Schema.TaggedError<PipelineConfigError>()("PipelineConfigError", {
  reason: ConfigErrorReason.pipe(Schema.withConstructorDefault(Effect.succeed("StageConfig" as const))),
  key: Schema.String,
  value: Schema.String,
  rule: Schema.String
}) {
  override get message(): string {
    return `${this.key}=${this.value}: ${this.rule}`
  }
}

/**
 * Why the supervisor gave up on a stage:
 * - `Escalated`: its policy is `Supervision.escalate`;
 * - `RestartBudget`: more crashes within the window than `maxRestarts` allows;
 * - `BackoffEnded`: the restart schedule ended;
 * - `StartFailed`: it could not start at all (its module did not load, or `make` threw, e.g. a file
 *   that cannot be opened): restarting would fail the same way;
 * - `EdgeFailed`: the Stream feeding a source edge failed (what it offered before flows on; the edge
 *   then ends).
 *
 * @category models
 * @since 0.1.0
 */
export const CrashReason = Schema.Literals(["Escalated", "RestartBudget", "BackoffEnded", "StartFailed", "EdgeFailed"])

/**
 * @category models
 * @since 0.1.0
 */
export type CrashReason = typeof CrashReason.Type

/**
 * A stage crashed and the pipeline gave up on it (see `reason`); `message` is the stage's error.
 *
 * @category errors
 * @since 0.1.0
 */
export class StageCrashed extends Schema.TaggedError<StageCrashed>()("StageCrashed", {
  reason: CrashReason.pipe(Schema.withConstructorDefault(Effect.succeed("RestartBudget" as const))),
  stage: Schema.String,
  host: Schema.String,
  message: Schema.String
}) {}

/**
 * The drain did not finish within its deadline; `abandoned` says what was left, by stage and ring.
 *
 * @category errors
 * @since 0.1.0
 */
export class DrainTimeout extends Schema.TaggedError<DrainTimeout>()("DrainTimeout", {
  deadlineMs: Schema.Number,
  abandoned: Schema.Array(Schema.Struct({ where: Schema.String, records: Schema.Number }))
}) {}

/**
 * One record a stage could not handle, decoded from the dead-letter ring: `error` is the tag the stage
 * declared for the code (`errors[code]`), or `StageThrew` for a record that crashed the stage again
 * and again. At an edge: `InvalidRecord` for an object a source edge refused (`record` holds its
 * fields that are numbers, `detail` what the layout's Schema said), or the tag of the typed failure of
 * a sink edge's Effect (`detail`: its message). Serialisable, so it can be logged, sent or stored as is.
 *
 * @category errors
 * @since 0.1.0
 */
export class RecordFailed extends Schema.TaggedError<RecordFailed>()("RecordFailed", {
  stage: Schema.String,
  error: Schema.String,
  code: Schema.Number,
  record: Schema.Record(Schema.String, Schema.Number),
  /** Wall-clock time (ms since the epoch, from Effect's `Clock`) the control plane decoded it. */
  seenAtMs: Schema.Number,
  /** What was wrong, where more is known than the tag (an edge's validation or Effect failure). */
  detail: Schema.optional(Schema.String)
}) {}

/**
 * Why an edge refused a request:
 * - `Closed`: the source edge has ended (the pipeline stopped, or its writer ended it);
 * - `NotInPipeline`: the edge is not part of the pipeline this handle runs;
 * - `StreamTaken`: a sink edge's stream is already being read (one reader at a time).
 *
 * @category models
 * @since 0.1.0
 */
export const EdgeErrorReason = Schema.Literals(["Closed", "NotInPipeline", "StreamTaken"])

/**
 * An edge between Effect code and the data plane refused a request (see `reason`).
 *
 * @category errors
 * @since 0.1.0
 */
export class EdgeError extends Schema.TaggedError<EdgeError>()("EdgeError", {
  edge: Schema.String,
  reason: EdgeErrorReason,
  message: Schema.String
}) {}
