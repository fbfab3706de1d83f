/**
 * Request and response schemas (TypeBox): the single source of validation, types and the
 * OpenAPI document served at /docs.
 */
import { Type, type Static } from 'typebox';
import { AudienceDefinitionsSchema } from '../audiences/definition.js';
import { allKinds, kindNames } from '../models/kinds.js';
import { paramsOf } from '../models/params.js';
import { JOB_STATUSES } from './jobs/store.js';
import { ScoreOptionsSchema } from '../scoring/score-options.js';
import { MAX_CHANGES_PER_POLL, MAX_CHANGES_WAIT_SECONDS, MAX_EVENTS_PER_POST, MAX_ROW_FIELDS, MAX_SCORE_MODELS, MAX_SCORE_ROWS } from './limits.js';

/** A string from a fixed list: one `enum`, so a bad value's error lists the allowed ones. */
function OneOf<T extends string>(values: readonly T[], description?: string) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description && { description }) });
}

const Path = Type.String({ minLength: 1, maxLength: 4096, description: 'a path inside the data roots (relative paths start at the first root)' });
const ModelName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'model name' });
export const ModelRef = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(@([0-9]+|latest))?$', description: 'name, name@version or name@latest' });

/**
 * A train job's request, built from the kinds registered when it is called (the app calls it
 * when its routes are built): `model` is one of them, and `params` lists each kind's options.
 */
export function trainJobSchema() {
  return Type.Object(
  {
    type: Type.Literal('train'),
    model: OneOf(kindNames(), 'the kind of model to train'),
    name: ModelName,
    input: Type.Array(Path, { minItems: 1, maxItems: 100, description: 'Parquet, CSV or Arrow files, or glob patterns (at most 100 entries, matching at most 10,000 files)' }),
    params: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-z][a-z0-9-]*$' }), Type.Union([Type.String({ maxLength: 4096 }), Type.Number(), Type.Boolean(), Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 1000 })]), {
        description: `the options of \`audience train KIND\` without the dashes, checked against the kind's schema (types, ranges, allowed values) before the job is queued. ${allKinds()
          .map((kind) => `${kind.kind}: ${Object.keys(paramsOf(kind)).join(', ')}`)
          .join('. ')}`,
      }),
    ),
  },
  { additionalProperties: false },
  );
}

export const ScoreJob = Type.Object(
  {
    type: Type.Literal('score'),
    input: Type.Array(Path, { minItems: 1, maxItems: 100, description: 'Parquet, CSV or Arrow files, or glob patterns (at most 100 entries, matching at most 10,000 files)' }),
    models: Type.Array(ModelRef, { minItems: 1, maxItems: 16 }),
    output: Path,
    audiences: Type.Optional(AudienceDefinitionsSchema),
    // The same options as `audience score`'s flags (scoring/score-options.ts).
    options: Type.Optional(ScoreOptionsSchema),
  },
  { additionalProperties: false },
);

type TrainJob = ReturnType<typeof trainJobSchema>;

/** One of the two job kinds, told apart by `type` (Ajv's discriminator gives errors for that kind only); the train kinds as registered when called. */
export function jobRequestSchema() {
  return { type: 'object', oneOf: [trainJobSchema(), ScoreJob], discriminator: { propertyName: 'type' } } as unknown as ReturnType<typeof Type.Union<[TrainJob, typeof ScoreJob]>>;
}

export type TrainJobBody = Static<TrainJob>;
export type ScoreJobBody = Static<typeof ScoreJob>;

export const JobId = Type.Object({ id: Type.String({ pattern: '^job_[A-Za-z0-9_-]{1,64}$' }) });

export const ListQuery = Type.Object(
  {
    status: Type.Optional(OneOf(JOB_STATUSES)),
    // Query strings are text and nothing is coerced: the number is checked as digits here, range in the route.
    limit: Type.Optional(Type.String({ pattern: '^(500|[1-4][0-9]{2}|[1-9][0-9]?)$', description: 'jobs per page, 1 to 500 (default 50)' })),
    after: Type.Optional(Type.String({ pattern: '^job_[A-Za-z0-9_-]{1,64}$', description: 'the last id of the previous page' })),
  },
  { additionalProperties: false },
);

export const ModelNameParams = Type.Object({ name: ModelName });

export const ErrorReply = Type.Object({ statusCode: Type.Integer(), error: Type.String(), code: Type.Optional(Type.String({ description: 'the stable error code (util/errors.ts ERROR_CODES), e.g. AE_BAD_INPUT' })), message: Type.String() });

export const Accepted = Type.Object({
  id: Type.String(),
  status: Type.String(),
  links: Type.Object({ self: Type.String(), cancel: Type.String() }),
});

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** A job as GET /v1/jobs/:id answers it (the OpenAPI document shows every field). */
export const JobView = Type.Object({
  id: Type.String(),
  type: Type.String({ description: 'train or score' }),
  status: Type.String({ description: JOB_STATUSES.join(', ') }),
  stage: Nullable(
    Type.String({
      description:
        'planning, scoring, finalizing, resuming, or "retrying in Ns ..." after a runner died; a train job\'s progress, e.g. "training: mlp 288.0k of at most 6.50M samples, 57.6k samples/s, eta 12.0s to 1m50s (early stopping)" (its rows fields stay 0)',
    }),
  ),
  request: Type.Object({}, { additionalProperties: true, description: "what was asked: inputs, models and output, or model kind, name and params (as checked: numbers as numbers, paths resolved)" }),
  progress: Type.Object({
    rowsDone: Type.Number(),
    rowsTotal: Nullable(Type.Number()),
    shardsDone: Type.Number(),
    shardsTotal: Nullable(Type.Number()),
    rowsPerSecond: Nullable(Type.Number()),
    etaSeconds: Nullable(Type.Number()),
  }),
  timings: Type.Object({
    createdAt: Type.String(),
    startedAt: Nullable(Type.String()),
    finishedAt: Nullable(Type.String()),
    queuedSeconds: Type.Number(),
    runSeconds: Nullable(Type.Number()),
  }),
  backend: Nullable(Type.Object({ name: Type.String(), device: Nullable(Type.String()) })),
  attempts: Type.Integer({ description: 'runs started (a runner that died is retried)' }),
  result: Type.Unknown({ description: "a score job's manifest (files, rows, audiences...), a train job's model and metrics; null until it succeeds" }),
  error: Nullable(Type.String()),
  log: Nullable(Type.String({ description: "the runner's last output lines (a train job's report)" })),
  links: Type.Object({ self: Type.String(), cancel: Type.String() }),
});

/** A job in a list: its view without `result` and `log` (each up to a manifest or a report long; GET /v1/jobs/:id has them). */
export const JobSummary = Type.Omit(JobView, ['result', 'log']);

/** A page of jobs, newest first; `next` is the `after` of the next page. */
export const JobList = Type.Object({ jobs: Type.Array(JobSummary, { description: 'each job as GET /v1/jobs/:id shows it, without result and log' }), next: Nullable(Type.String()) });

/** GET /v1/models: every model in the store with its versions and the promoted one. */
export const ModelList = Type.Object({
  models: Type.Array(Type.Object({ name: Type.String(), versions: Type.Array(Type.Integer()), promoted: Nullable(Type.Integer({ description: 'the version scoring uses by name; null: the latest' })) })),
});

/** GET /v1/models/:name: each version's kind, provenance, params and metrics (each kind's report: docs/models.md). */
export const ModelDetail = Type.Object({
  name: Type.String(),
  promoted: Nullable(Type.Integer()),
  versions: Type.Array(
    Type.Object({
      version: Type.Integer(),
      kind: Type.String(),
      createdAt: Type.String(),
      backend: Type.Object({ name: Type.String(), device: Type.String() }),
      data: Type.Object({ inputs: Type.Array(Type.String()), rows: Type.Number(), fingerprint: Type.String() }, { additionalProperties: true }),
      params: Type.Record(Type.String(), Type.Unknown()),
      metrics: Type.Record(Type.String(), Type.Unknown(), { description: "the kind's report: held-out metrics beside baselines, data checks, curves" }),
    }),
  ),
});

/** POST /v1/models/:name/rollback: the promoted version before and after (null: none, the latest is used). */
export const Rollback = Type.Object({ name: Type.String(), from: Nullable(Type.Integer()), to: Nullable(Type.Integer()) });

const Version = Type.Object({ name: Type.String(), version: Type.Integer(), kind: Type.String(), createdAt: Type.String() });
const Scalar = Type.Union([Type.String(), Type.Number()]);

/** GET /v1/models/:name/diff: two versions compared (models/diff.ts). */
export const ModelDiffView = Type.Object({
  a: Version,
  b: Version,
  metrics: Type.Array(Type.Object({ metric: Type.String(), a: Nullable(Type.Number()), b: Nullable(Type.Number()), delta: Nullable(Type.Number()) })),
  params: Type.Array(Type.Object({ param: Type.String(), a: Type.Unknown(), b: Type.Unknown() })),
  data: Type.Array(Type.Object({ field: Type.String(), a: Scalar, b: Scalar, same: Type.Boolean() })),
  sample: Type.Optional(Type.Object({ rows: Type.Integer(), changed: Type.Array(Type.Object({ output: Type.String(), share: Type.Number() })) })),
});

/** GET /healthz: alive, the tensor backend chosen (and what was tried), job counts by status. */
export const Health = Type.Object({
  status: Type.Literal('ok'),
  backend: Type.Object({ name: Type.String(), device: Type.String() }),
  jobs: Type.Record(Type.String(), Type.Integer()),
  running: Type.Integer(),
  uptimeSeconds: Type.Number(),
});

/** GET /readyz: 200 when jobs can be taken; 503 while starting or stopping, or when Redis (REDIS_URL) does not answer. */
export const Ready = Type.Object({ ready: Type.Boolean(), redis: Type.Optional(Type.String()), store: Type.Optional(Type.String()) });

/** A field name of a posted row (a feature, an event field). */
const FieldName = Type.String({ minLength: 1, maxLength: 256 });
/** A cell of a posted row: a number, text, a boolean or null (missing). */
const Cell = Type.Union([Type.Number(), Type.String({ maxLength: 4096 }), Type.Boolean(), Type.Null()]);
/** A posted row: field name to value. */
export const JsonRow = Type.Record(FieldName, Cell, { maxProperties: MAX_ROW_FIELDS });

/** POST /v1/score: models and the rows of features to score with them. */
export const ScoreRequest = Type.Object(
  {
    models: Type.Array(ModelRef, { minItems: 1, maxItems: MAX_SCORE_MODELS, description: `models to score with (name, name@version, name@latest; at most ${MAX_SCORE_MODELS})` }),
    rows: Type.Array(JsonRow, {
      minItems: 1,
      maxItems: MAX_SCORE_ROWS,
      description: `at most ${MAX_SCORE_ROWS} rows; each names every feature the models read (null for a missing value, imputed as in batch scoring), and may carry the models' id column`,
    }),
  },
  { additionalProperties: false },
);

/** POST /v1/score's answer: the pinned versions that scored, and each row's outputs (`<model>_<output>`). */
export const ScoreReply = Type.Object({
  models: Type.Array(Type.Object({ ref: Type.String({ description: 'name@version' }), kind: Type.String(), engine: Type.String({ description: 'onnx or tfjs' }) })),
  rows: Type.Array(Type.Record(Type.String(), Cell)),
  imputed: Type.Integer({ description: 'missing or invalid feature values filled with the training value, over all rows and models' }),
});

/** POST /v1/events: rows of the events table, named as the online view's `events` maps them. */
export const EventsRequest = Type.Object(
  // Each event's values are checked one by one (server/online/engine.ts), so one bad value (1e400 reads as Infinity) refuses its event only.
  { events: Type.Array(Type.Record(FieldName, Type.Unknown(), { maxProperties: MAX_ROW_FIELDS }), { minItems: 1, maxItems: MAX_EVENTS_PER_POST, description: `at most ${MAX_EVENTS_PER_POST} events, each with the fields the online view names (id, time; amount, category, session)` }) },
  { additionalProperties: false },
);

/** POST /v1/events' answer: the events stored (durable before this answer) and those refused, with why. */
export const EventsReply = Type.Object({
  accepted: Type.Integer(),
  refused: Type.Array(Type.Object({ index: Type.Integer({ description: 'place in the posted list, from 0' }), reason: Type.String() })),
});

export const VisitorParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });
export const VisitorQuery = Type.Object(
  { asOf: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'YYYY-MM-DD, as audience events --as-of (default: today, UTC)' })) },
  { additionalProperties: false },
);

/** GET /v1/visitors/{id}: features as audience events computes them, every model's outputs, the audiences. */
export const VisitorReply = Type.Object({
  id: Type.String(),
  asOf: Type.String(),
  features: Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()])),
  scores: Type.Record(Type.String(), Cell),
  audiences: Type.Array(Type.String(), { description: 'the audiences the visitor is a member of' }),
  holdout: Type.Array(Type.String(), { description: "the audiences the visitor qualifies for and is held out of (the batch holdout draw: sha256 of seed:audience:id)" }),
  reference: Type.Record(Type.String(), Type.String(), { description: "per model with percentiles or ranks: the batch scores they are placed among (the view's reference); none without one" }),
});

export const AudienceParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });
export const ChangesQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'the cursor of the last change seen (default 0: from the start)' })),
    wait: Type.Optional(Type.String({ pattern: '^[0-9]{1,2}$', description: `seconds to wait for a change when there is none yet (long poll; default 25, at most ${MAX_CHANGES_WAIT_SECONDS})` })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: `changes at most (default and most ${MAX_CHANGES_PER_POLL})` })),
  },
  { additionalProperties: false },
);

/** GET /v1/audiences/{name}/changes: enters and exits after the cursor, and the cursor to ask after next. */
export const ChangesReply = Type.Object({
  changes: Type.Array(Type.Object({ id: Type.String(), audience: Type.String(), change: Type.String({ description: 'enter or exit' }), at: Type.String(), cursor: Type.Integer() })),
  cursor: Type.Integer({ description: 'pass as after= in the next poll' }),
});
