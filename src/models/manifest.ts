/**
 * The schema of a model's manifest.json, checked whenever a version is read (listing,
 * loading for scoring): a file that is not one, or one damaged or hand-edited into another
 * shape, is refused with the field and what was expected, instead of failing later inside
 * scoring with a TypeError. Kinds check their own learned state when they load it.
 */
import { Type } from 'typebox';
import { Value } from 'typebox/value';

const Feature = Type.Object(
  {
    kind: Type.Union([Type.Literal('numeric'), Type.Literal('categorical'), Type.Literal('boolean')]),
    name: Type.String(),
  },
  { additionalProperties: true },
);

/** The fields every manifest has; kinds add their params, state and metrics. */
export const ManifestSchema = Type.Object(
  {
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
  if (Value.Check(ManifestSchema, value)) return undefined;
  const errors = [...Value.Errors(ManifestSchema, value)].slice(0, 3);
  return errors.map((e) => `${e.instancePath || '(the file)'} ${e.message}`).join('; ');
}
