/**
 * Fairness measured on a file the user gives (`audience report --input --sensitive`): the
 * model scores every row, the sensitive columns are read beside (never as inputs), and the
 * model's label column, when the file has it, gives the error rates.
 */
import { stateOf } from '../models/manifest.js';
import { PropensityStateSchema } from '../models/propensity/model.js';
import { groupRequest, groupValues } from '../features/groups.js';
import { booleanValues, columnRequest, labelRequest, transform } from '../features/transform.js';
import type { ColumnRequest } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { rateThreshold } from '../metrics/classification.js';
import { fairnessByGroup, type FairnessReport } from '../metrics/fairness.js';
import type { ScoringModel } from '../models/model.js';
import { UserError } from '../util/errors.js';

/**
 * Scores `data` with a propensity or CLTV model and compares the groups of each sensitive
 * column. Propensity: selected = probability >= the model's threshold, positives = the
 * label. CLTV: selected = the top 10% by predicted value, positives = the top 10% by the
 * label's actual value.
 * @throws UserError for another kind of model, or a sensitive column the file lacks.
 */
export async function measureFairness(model: ScoringModel, data: Dataset, columns: string[]): Promise<FairnessReport[]> {
  const m = model.manifest;
  if (m.kind !== 'propensity' && m.kind !== 'cltv') throw new UserError(`--sensitive: fairness is measured for propensity and cltv models; ${m.name}@${m.version} is ${m.kind}`);
  const label = typeof m.params.label === 'string' && data.columns.some((c) => c.name === m.params.label) ? m.params.label : undefined;
  const requests: ColumnRequest[] = [...columns.flatMap((c) => groupRequest(data, m.features, c))];
  const positive = typeof m.params.positive === 'string' ? m.params.positive : undefined;
  if (label && !m.features.reads[label] && !columns.includes(label)) {
    requests.push(m.kind === 'cltv' ? { name: label, as: 'number' } : labelRequest(data.columns.find((c) => c.name === label)!, positive));
  }
  const output = `${m.name}_${m.kind === 'cltv' ? 'value' : 'probability'}`;
  const scores: number[] = [];
  const labels: number[] = [];
  const groups: Array<Array<string | null>> = columns.map(() => []);
  for await (const batch of data.read(columnRequest(m.features, requests))) {
    const scored = await model.score(transform(m.features, batch));
    scores.push(...Array.from(scored[output] as ArrayLike<number>));
    if (label) labels.push(...Array.from(m.kind === 'cltv' ? (batch.columns.get(label) as Float64Array) : booleanValues(batch, label, positive)));
    columns.forEach((c, i) => groups[i].push(...groupValues(batch, c)));
  }
  // Rows without a usable label count in the selection rates, not in the error rates.
  let y: number[] | undefined = label ? labels : undefined;
  let threshold: number;
  if (m.kind === 'cltv') {
    threshold = rateThreshold(scores, 0.1);
    if (y) {
      const top = rateThreshold(y.filter(Number.isFinite), 0.1);
      y = y.map((v) => (Number.isFinite(v) ? (v >= top && v > 0 ? 1 : 0) : NaN));
    }
  } else threshold = stateOf(m, PropensityStateSchema).threshold;
  return columns.map((c, i) => fairnessByGroup(c, groups[i], scores, threshold, y));
}
