/**
 * `audience train KIND`: the CLI's adapter to jobs/train.ts. Its flags and the option lines
 * of its help are generated from each kind's parameter schemas (models/params.ts); what it
 * adds is the prose about each kind and the printing.
 */
import type { TSchema } from 'typebox';
import { trainFromParams } from '../../jobs/train.js';
import { K_RULE } from '../../models/kmeans/train.js';
import { allParams, describeParam, FEATURE_PARAMS, KIND_PARAMS, MODEL_KINDS, type ParamValues } from '../../models/params.js';
import { UserError } from '../../util/errors.js';
import { type Command, type Options } from '../args.js';
import { INPUT_OPTIONS, progressFor, STORE_OPTIONS, storeFrom } from './common.js';

/** parseArgs options for schemas: flags for booleans, repeatable for lists, text for the rest. */
export function flagOptions(schemas: Record<string, TSchema>): Options {
  return Object.fromEntries(
    Object.entries(schemas).map(([key, s]) => {
      const schema = s as TSchema & { type?: string; 'x-list'?: boolean };
      return [key, schema.type === 'boolean' ? { type: 'boolean' } : schema['x-list'] ? { type: 'string', multiple: true } : { type: 'string' }];
    }),
  ) as Options;
}

/** Help lines for options: `  --n-init N   description (default 3; >= 1 and <= 100)`, wrapped. */
export function optionLines(schemas: Record<string, TSchema>): string {
  return Object.entries(schemas)
    .map(([key, s]) => {
      const { arg, text } = describeParam(s);
      const head = `  --${key}${arg ? ` ${arg}` : ''}`;
      return wrap(head.length < 25 ? head.padEnd(25) + text : `${head}\n${' '.repeat(25)}${text}`, 92, 25);
    })
    .join('\n');
}

function wrap(line: string, width: number, indent: number): string {
  const out: string[] = [];
  for (const part of line.split('\n')) {
    let rest = part;
    while (rest.length > width) {
      const cut = rest.lastIndexOf(' ', width);
      if (cut <= indent) break;
      out.push(rest.slice(0, cut));
      rest = ' '.repeat(indent) + rest.slice(cut + 1);
    }
    out.push(rest);
  }
  return out.join('\n');
}

/** What each kind is and adds, beyond its options. */
const KIND_NOTES: Record<string, [string, string]> = {
  kmeans: [
    'segments: batched K-Means',
    `A sweep chooses k by the ${K_RULE}.
With REDIS_URL set, the Lloyd iterations run on 'audience worker' hosts: the rows are
read in shards of --shard-rows and kept on the workers; each iteration adds their
per-segment sums (the same model as on one host from the same seed, to float32
rounding). The model store must be on a filesystem every worker sees.`,
  ],
  propensity: [
    'an MLP on any 0/1 label',
    `The split is stratified and seeded: 65% train, 15% validation (early stopping, calibration,
threshold), 20% test (every reported metric). With --refit (by default under 500,000
training + validation rows) the network is then trained again on training + validation
for the epochs early stopping chose: that network is saved and tested. A
logistic-regression baseline is trained the same way and reported beside the MLP.`,
  ],
  lookalike: [
    'similarity to a seed audience in a learned embedding; one of --seed-ids, --seed-filter',
    `Evaluation: 20% of the seeds are held out; recall of them at 1/5/10/20% of the non-seed
population and the ranking's AUC are reported beside k-nearest-seed cosine on the
standardized features and a logistic seed-vs-population model. The saved model then
learns from all seeds. Scoring adds <name>_similarity, <name>_is_seed, <name>_rank (1 =
most similar non-seed) and <name>_percentile.`,
  ],
  anomaly: [
    'outlier scores and niche segments',
    `score = distance to the nearest of --k K-Means centroids / that cluster's spread (median
distance of its members); outliers have score > --threshold. Outliers are clustered again
into at most --niches groups; a group denser than the median segment and over 2 spreads
from every segment is a niche, profiled like a segment. Scoring adds <name>_score,
<name>_cluster, <name>_niche (null unless an outlier near a niche), _percentile.`,
  ],
  cltv: [
    "customer lifetime value: money over a horizon, e.g. future_value from 'audience events --horizon 90d'",
    `A zero-inflated lognormal MLP (Wang, Liu and Miao 2019): the probability of buying at all
and the lognormal spend of those who do. Split 65/15/20 stratified on buying; MAE, RMSE,
normalized Gini, Spearman and deciles on the test split beside the last window's spend
(trailing amount_<w>d scaled to the horizon) and BG/NBD + Gamma-Gamma fitted on the
training customers (from recency_days, tenure_days, active_days, amount_repeat_mean).
Scoring adds <name>_value (expected value over the horizon), <name>_p_active,
<name>_percentile and <name>_bucket.`,
  ],
  uplift: [
    "who responds because of a campaign, from its randomized treated and control rows (e.g. 'audience generate --campaign')",
    `Each arm is split 60/15/25 (stratified on the outcome). On the MLP: a T-learner (an
outcome model per arm), an X-learner (Kunzel et al. 2019) and a DR-learner (Kennedy 2020);
auto keeps the best Qini coefficient on the validation rows. The test rows report each
beside an S-learner and a T-learner of logistic regressions: the Qini coefficient (the area
between the Qini curve and the random line, x = share targeted, y = incremental conversions
per row; and divided by the best ranking's, as scikit-uplift), AUUC, and the uplift among
the top 10/20/30%. Scoring adds <name>_uplift (the predicted increase in the probability),
<name>_percentile and <name>_rank (1 = most persuadable): 'uplift.rank <= 20%' is a
persuadables audience. It scores on tfjs (no ONNX graph for this kind).`,
  ],
  bgnbd: [
    'BG/NBD purchases with Gamma-Gamma spend, Fader, Hardie and Lee 2005',
    `Reads active_days, tenure_days, recency_days and amount_repeat_mean (audience events --amount);
fitted by maximum likelihood on up to 20,000 customers (--seed picks them). Scoring adds
<name>_purchases and <name>_value (expected over the horizon), <name>_percentile and
<name>_bucket.`,
  ],
};

/** The options and notes of one kind. */
function kindHelp(kind: (typeof MODEL_KINDS)[number]): string {
  return `${kind} (${KIND_NOTES[kind][0]}):\n${optionLines(KIND_PARAMS[kind])}\n${KIND_NOTES[kind][1]}`;
}

const USAGE = `audience train KIND --input <files|globs> [--name NAME] [options]
  KIND: ${MODEL_KINDS.join(', ')}
e.g. audience train kmeans --input 'visitors*.parquet' --name behavior --k 4..12
     audience train propensity --input visitors.parquet --label converted --name purchase

Every kind:
  --input FILE|GLOB      the training data (repeatable): Parquet, CSV or Arrow IPC
  --name NAME            the model (default: the kind, e.g. propensity); each run saves its
                         next version
  --store DIR            model store (default ./models or AUDIENCE_MODEL_STORE)
  --quiet                no progress lines
${optionLines(FEATURE_PARAMS)}

${MODEL_KINDS.map(kindHelp).join('\n\n')}

Saves models/<name>/<version>/ (model.json + weights.bin + manifest.json with the fitted
feature transform, metrics, profiles or evaluation report, data fingerprint and backend).
The service's train jobs take the same options as "params", without the dashes.`;

/** Flags that belong to the command, not to the kind's params. */
const COMMAND_FLAGS = new Set(['input', 'name', 'store', 'quiet', 'help']);

/** `audience train KIND`: train and save a model version, printing its report. */
export const train: Command = {
  name: 'train',
  positionals: 1,
  summary: `train a model: ${MODEL_KINDS.join(', ')}`,
  usage: USAGE,
  usageFor(positionals) {
    const kind = MODEL_KINDS.find((k) => k === positionals[0]);
    if (!kind) return undefined;
    return `audience train ${kind} --input <files|globs> [--name NAME] [options]\n\n${optionLines({ ...FEATURE_PARAMS })}\n  --name NAME            the model (default: ${kind}); each run saves its next version\n  --store DIR            model store (default ./models or AUDIENCE_MODEL_STORE)\n  --quiet                no progress lines\n\n${kindHelp(kind)}`;
  },
  options: { ...INPUT_OPTIONS, ...STORE_OPTIONS, name: { type: 'string' }, ...flagOptions(allParams()) },
  async run(values, positionals) {
    const [kind] = positionals;
    if (!kind) throw new UserError(`audience train: give the kind of model (${MODEL_KINDS.join(', ')}), e.g. audience train kmeans --input v.parquet --name behavior`);
    // Without --name the model is named after its kind: `audience train propensity` saves "propensity".
    const name = values.name === undefined ? kind : values.name;
    if (typeof name !== 'string' || name === '') throw new UserError(`audience train ${kind}: --name needs a model name, e.g. --name purchase`);
    const params: ParamValues = Object.fromEntries(Object.entries(values).filter(([k, v]) => !COMMAND_FLAGS.has(k) && v !== undefined));
    const outcome = await trainFromParams({
      kind,
      name,
      input: [values.input ?? []].flat().map(String),
      params,
      store: storeFrom(values),
      progress: progressFor(values),
      note: values.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
      // With REDIS_URL: a fit whose workers are gone or stalled says so (even with --quiet: it is waiting, not working).
      onWaiting: (why) => why && process.stderr.write(`waiting: ${why}\n`),
    });
    process.stdout.write(`${outcome.report}\n`);
  },
};
