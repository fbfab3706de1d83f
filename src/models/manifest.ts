/**
 * The schema of a model's manifest.json, checked whenever a version is read (listing,
 * loading for scoring): a file that is not one, or one damaged or hand-edited into another
 * shape, is refused with the field and what was expected, instead of failing later inside
 * scoring with a TypeError. Kinds check their own learned state when they load it (stateOf).
 */
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { UserError } from '../util/errors.js';

const Feature = Type.Object(
  {
    kind: Type.Union([Type.Literal('numeric'), Type.Literal('categorical'), Type.Literal('boolean')]),
    name: Type.String(),
  },
  { additionalProperties: true },
);

/**
 * The format of manifest.json this version writes. Older files (without the field: format 0)
 * are read as before; a newer one is refused by name (manifestProblem), as scikit-learn warns
 * on a pickle from another version, so a model saved by a later release is never misread.
 */
export const MANIFEST_FORMAT = 1;

/** The fields every manifest has; kinds add their params, state and metrics. */
export const ManifestSchema = Type.Object(
  {
    format: Type.Optional(Type.Integer({ minimum: 1 })),
    kind: Type.String({ minLength: 1 }),
    name: Type.String({ minLength: 1 }),
    version: Type.Integer({ minimum: 1 }),
    createdAt: Type.String(),
    backend: Type.Object({ name: Type.String(), device: Type.String() }),
    features: Type.Object(
      {
        id: Type.Object({ column: Type.Union([Type.String(), Type.Null()]), as: Type.String() }),
        features: Type.Array(Feature),
        reads: Type.Record(Type.String(), Type.String()),
        outputs: Type.Array(Type.String()),
        onInvalid: Type.Union([Type.Literal('impute'), Type.Literal('error')]),
        rows: Type.Number(),
        fingerprint: Type.String(),
      },
      { additionalProperties: true },
    ),
    params: Type.Record(Type.String(), Type.Unknown()),
    state: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    metrics: Type.Record(Type.String(), Type.Unknown()),
    data: Type.Object({ inputs: Type.Array(Type.String()), rows: Type.Number(), fingerprint: Type.String() }, { additionalProperties: true }),
  },
  { additionalProperties: true },
);

/**
 * What is wrong with a parsed manifest, in words ("/features/outputs must be array"), or
 * undefined when it has the schema's shape.
 */
export function manifestProblem(value: unknown): string | undefined {
  const format = (value as { format?: unknown } | null)?.format;
  if (typeof format === 'number' && format > MANIFEST_FORMAT) {
    return `written by a newer audience-engine (manifest format ${format}; this version reads format ${MANIFEST_FORMAT} and older): upgrade audience-engine to use it`;
  }
  if (Value.Check(ManifestSchema, value)) return undefined;
  const errors = [...Value.Errors(ManifestSchema, value)].slice(0, 3);
  return errors.map((e) => `${e.instancePath || '(the file)'} ${e.message}`).join('; ');
}

/**
 * A manifest's learned state checked against its kind's schema (each kind declares one
 * beside its model class), typed by it.
 * @throws UserError naming the model version, the field and what was expected, when the
 *   state is missing or has another shape (a damaged or hand-edited manifest.json).
 */
export function stateOf<T extends TSchema>(manifest: { kind: string; name: string; version: number; state?: unknown }, schema: T): Static<T> {
  const state = manifest.state;
  if (Value.Check(schema, state)) return state;
  const errors = [...Value.Errors(schema, state)].slice(0, 3);
  const problem = errors.map((e) => `state${e.instancePath || ''} ${e.message}`).join('; ');
  throw new UserError(`model ${manifest.name}@${manifest.version} (${manifest.kind}): manifest.json is damaged: ${problem}; retrain it, or restore the file`);
}
