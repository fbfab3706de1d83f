/**
 * The options of a score run, declared once as TypeBox schemas (as models/params.ts declares
 * the training options): the flags of `audience score` (kebab-case: `--shard-rows`) and their
 * help lines, the `options` object of a service score job (camelCase: `shardRows`) and its
 * request validation, with the same ranges and allowed values. A new option is one entry here,
 * then its use in the run.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { checkOptionValue, describeParam } from '../models/params.js';

/** Small enough that a 1M-row job spreads over the workers of a few cores; large enough that per-shard costs vanish. */
export const DEFAULT_SHARD_ROWS = 500_000;

/** Rows with unreadable values a service job tolerates unless told (the CLI's `--max-rejects` default is 0: a terminal run stops at the first). */
export const DEFAULT_MAX_REJECTS = 1000;

/** Each option's schema, by its name in a job's `options`. */
export const SCORE_OPTIONS = {
  shardRows: Type.Integer({ minimum: 1000, maximum: 100_000_000, default: DEFAULT_SHARD_ROWS, description: 'target rows per shard, hence per score file (whole Parquet row groups)', 'x-arg': 'N' }),
  maxRejects: Type.Integer({
    minimum: 0,
    maximum: 1_000_000_000,
    description: `rows whose number column holds text that is no number, left out and listed in errors.jsonl before the run fails (default: 0 for the CLI, ${DEFAULT_MAX_REJECTS} for a service job)`,
    'x-arg': 'N',
  }),
  overwrite: Type.Boolean({ description: 'replace earlier scores in the output folder (the new output is built beside the old one and swapped in when whole)' }),
  topFeatures: Type.Boolean({ description: 'propensity models add <name>_top_features (gradient x input: about 4x the scoring time; scores on tfjs)' }),
  keep: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 64, description: 'input columns copied into the score files as they are (e.g. a label to evaluate against); repeatable, or a,b', 'x-arg': 'COL', 'x-list': true }),
  engine: Type.Unsafe<'onnx' | 'tfjs'>({
    type: 'string',
    enum: ['onnx', 'tfjs'],
    default: 'onnx',
    description: 'onnx: K-Means, propensity, CLTV and anomaly models as one ONNX graph each on onnxruntime-node; tfjs: every model on tfjs (the reference)',
    'x-arg': 'onnx|tfjs',
  }),
};

type OptionName = keyof typeof SCORE_OPTIONS;

/** A service score job's `options`: every option optional, nothing else allowed. */
export const ScoreOptionsSchema = Type.Object(
  Object.fromEntries(Object.entries(SCORE_OPTIONS).map(([k, s]) => [k, Type.Optional(s)])) as { [K in OptionName]: ReturnType<typeof Type.Optional<(typeof SCORE_OPTIONS)[K]>> },
  { additionalProperties: false },
);

export type ScoreOptionValues = Static<typeof ScoreOptionsSchema>;

/** `shardRows` as its flag: `shard-rows`. */
export function flagOf(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The parseArgs options of the score flags: booleans as flags, lists repeatable, the rest as text. */
export function scoreFlags(): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  return Object.fromEntries(
    Object.entries(SCORE_OPTIONS).map(([k, s]) => {
      const type = (s as { type?: string }).type;
      return [flagOf(k), type === 'boolean' ? { type: 'boolean' as const } : { type: 'string' as const, ...(type === 'array' && { multiple: true }) }];
    }),
  );
}

/** Help lines of the score flags, from the schemas: `--shard-rows N  target rows... (default 500000; >= 1000 ...)`. */
export function scoreFlagsHelp(): string {
  const rows = Object.entries(SCORE_OPTIONS).map(([k, s]) => {
    const { arg, text } = describeParam(s as TSchema);
    return [`--${flagOf(k)}${arg ? ` ${arg}` : ''}`, text];
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, t]) => `  ${f.padEnd(width)}  ${t}`).join('\n');
}

/**
 * The score options from parsed flags (text, true for a bare flag, lists for repeated ones),
 * checked against the schemas as a job's options are.
 * @throws UserError naming the flag and what was expected.
 */
export function scoreOptionsFromFlags(values: Record<string, unknown>): ScoreOptionValues {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(SCORE_OPTIONS) as OptionName[]) {
    const v = values[flagOf(key)];
    if (v === undefined || v === false) continue;
    out[key] = checkOptionValue(flagOf(key), v, SCORE_OPTIONS[key] as never);
  }
  return out as ScoreOptionValues;
}
