/**
 * Fairness measured on a file the user gives (`audience report --input --sensitive`): the
 * model scores every row, the sensitive columns are read beside (never as inputs), and the
 * model's label column, when the file has it, gives the error rates.
 */
import { groupRequest, groupValues } from '../features/groups.js';
import { booleanValues, columnRequest, labelRequest, transform } from '../features/transform.js';
import { numberColumn, type ColumnRequest } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { fairnessByGroup, type FairnessReport } from '../metrics/fairness.js';
import { allKinds, findKind } from '../models/kinds.js';
import { outputName, type ScoringModel } from '../models/model.js';
import { UserError } from '../util/errors.js';
import { andList } from '../util/words.js';

/**
 * Scores `data` with a model whose kind measures fairness (its descriptor's `fairness`:
 * propensity and CLTV) and compares the groups of each sensitive column: selected = a score at
 * or above the kind's threshold, positives = the label as the kind reads it.
 * @throws UserError for a kind that does not measure fairness, or a sensitive column the file lacks.
 */
export async function measureFairness(model: ScoringModel, data: Dataset, columns: string[]): Promise<FairnessReport[]> {
  const m = model.manifest;
  const fair = findKind(m.kind)?.fairness;
  if (!fair) throw new UserError(`--sensitive: fairness is measured for ${andList(allKinds().filter((k) => k.fairness).map((k) => k.kind))} models; ${m.name}@${m.version} is ${m.kind}`);
  const label = typeof m.params.label === 'string' && data.columns.some((c) => c.name === m.params.label) ? m.params.label : undefined;
  const requests: ColumnRequest[] = [...columns.flatMap((c) => groupRequest(data, m.features, c))];
  const positive = typeof m.params.positive === 'string' ? m.params.positive : undefined;
  if (label && !m.features.reads[label] && !columns.includes(label)) {
    requests.push(fair.label === 'number' ? { name: label, as: 'number' } : labelRequest(data.columns.find((c) => c.name === label)!, positive));
  }
  const output = outputName(m.name, fair.output);
  const scores: number[] = [];
  const labels: number[] = [];
  const groups: Array<Array<string | null>> = columns.map(() => []);
  for await (const batch of data.read(columnRequest(m.features, requests))) {
    const scored = await model.score(transform(m.features, batch));
    scores.push(...Array.from(scored[output] as ArrayLike<number>));
    if (label) labels.push(...Array.from(fair.label === 'number' ? numberColumn(batch, label) : booleanValues(batch, label, positive)));
    columns.forEach((c, i) => groups[i].push(...groupValues(batch, c)));
  }
  // Rows without a usable label count in the selection rates, not in the error rates.
  const y = label ? (fair.positives?.(labels) ?? labels) : undefined;
  const threshold = fair.threshold(m, scores);
  return columns.map((c, i) => fairnessByGroup(c, groups[i], scores, threshold, y));
}
