/**
 * The online view's configuration (`audience serve --online online.json`), checked by one
 * TypeBox schema with the messages the other definition files give:
 *
 * { "events": { "id": "customer_id", "time": "order_date", "amount": "total", "category": "product_type", "session": "session_id" },
 *   "topCategories": 5,
 *   "models": ["value@1", "purchase@2"],
 *   "audiences": "audiences.json",
 *   "reference": "scores/2026-11-24",
 *   "sweepSeconds": 60 }
 *
 * `events` names the event fields as `audience events` was given them (--id, --time, --amount,
 * --category, --session), so a model trained on that command's output finds its features by
 * the same names. Models are pinned to their versions when the view loads. `reference` names the
 * output folder of an `audience score` run of those versions: percentiles, buckets and ranks
 * online place a visitor among its scores (online/reference.ts); without it they are not given.
 */
import path from 'node:path';
import { Type, type Static } from 'typebox';
import { loadAudiences, type AudienceSet } from '../../audiences/definition.js';
import { featureColumns, type FeatureLayout } from '../../features/visitor.js';
import { UserError } from '../../util/errors.js';
import { readUserJson } from '../../util/files.js';
import { schemaProblem } from '../../util/schema.js';

const Field = (what: string) => Type.String({ minLength: 1, maxLength: 256, expected: `the name of the ${what} field, as given to audience events` });

/** The online view file's schema. */
export const OnlineViewSchema = Type.Object(
  {
    events: Type.Object(
      {
        id: Field('id'),
        time: Field('time'),
        amount: Type.Optional(Field('amount')),
        category: Type.Optional(Field('category')),
        session: Type.Optional(Field('session')),
      },
      { additionalProperties: false, expected: 'an object naming the fields "id" and "time" (and optionally "amount", "category", "session")' },
    ),
    topCategories: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, expected: 'an integer from 0 to 100 (as --top-categories)' })),
    models: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(@([0-9]+|latest))?$', expected: 'name, name@version or name@latest' }), { maxItems: 16, expected: 'a list of at most 16 models' })),
    audiences: Type.Optional(Type.String({ minLength: 1, expected: 'the path of an audience definitions file' })),
    reference: Type.Optional(Type.String({ minLength: 1, expected: 'the output folder of an audience score run of the models, for percentiles and ranks' })),
    sweepSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400, expected: 'seconds from 1 to 86400 between sweeps for exits by time passing' })),
    $comment: Type.Optional(Type.String()),
  },
  { additionalProperties: false, expected: 'a JSON object with "events" (and "models", "audiences")' },
);

/** The view, checked: the event fields, the feature layout's fixed part, the models and audiences. */
export interface OnlineView {
  file: string;
  fields: Static<typeof OnlineViewSchema>['events'];
  topCategories: number;
  /** Model references as given (pinned by the server's model cache when the view loads). */
  models: string[];
  audiences?: AudienceSet;
  /** An `audience score` output folder whose scores rank the visitors online (absolute). */
  reference?: string;
  /** Seconds between sweeps (default 60). */
  sweepSeconds: number;
}

/** The sweep period when the view does not name one (seconds). */
export const DEFAULT_SWEEP_SECONDS = 60;

/** The layout of a view's features with the given category shares. */
export function viewLayout(view: OnlineView, shares: FeatureLayout['shares']): FeatureLayout {
  return { amount: view.fields.amount !== undefined, category: view.fields.category !== undefined, session: view.fields.session !== undefined, shares };
}

/** Every feature column the view can give (share columns aside: they follow the events' categories). */
export function fixedFeatureNames(view: OnlineView): string[] {
  return featureColumns(viewLayout(view, [])).map((c) => c.name);
}

/**
 * Reads and checks an online view file; relative paths in it (the audiences file) are found from
 * the file's folder.
 * @throws UserError naming the file and the field that is wrong, or an audience feature online
 *   cannot give (a cap: the best N of a whole scored population).
 */
export function loadOnlineView(file: string, option?: string): OnlineView {
  const raw = readUserJson(file, option ? `${option} ${file}` : file, 'the online view');
  const bad = schemaProblem(OnlineViewSchema, raw);
  if (bad) {
    const at = bad.path.length ? `"${bad.path.join('.')}"` : 'the file';
    throw new UserError(`${file}: ${bad.problem.startsWith('unknown key') ? `${at}: ${bad.problem}` : `${at} ${bad.problem}`}`);
  }
  const v = raw as Static<typeof OnlineViewSchema>;
  const names = Object.values(v.events);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UserError(`${file}: "events" names the field "${twice}" twice`);
  const audiences = v.audiences === undefined ? undefined : loadAudiences(path.resolve(path.dirname(file), v.audiences));
  for (const a of audiences?.audiences ?? []) {
    const at = `${file}: audience "${a.name}"`;
    if (a.cap) throw new UserError(`${at}: a cap keeps the best N of a whole scored population, which an online view has not; leave it to the batch definitions`);
  }
  return {
    file,
    fields: v.events,
    topCategories: v.topCategories ?? 5,
    models: v.models ?? [],
    ...(audiences && { audiences }),
    ...(v.reference !== undefined && { reference: path.resolve(path.dirname(file), v.reference) }),
    sweepSeconds: v.sweepSeconds ?? DEFAULT_SWEEP_SECONDS,
  };
}
