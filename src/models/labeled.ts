/**
 * Labeled rows read into memory through the fitted transform: what the kinds that learn a 0/1
 * outcome (propensity, uplift) train on. Rows whose label is not 0/1, true/false or yes/no
 * are left out and counted.
 */
import { transformedBatches } from '../features/blocks.js';
import { groupRequest, groupValues } from '../features/groups.js';
import { booleanValues, labelRequest, type FittedTransform } from '../features/transform.js';
import { textColumn } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { UserError } from '../util/errors.js';
import { concatRows } from '../util/matrix.js';
import type { Progress } from '../util/progress.js';
import { requireLabel } from './columns.js';
import type { Labeled } from './nn/fit.js';

/** Up to 10 distinct values of a column, as text, for messages. */
export async function labelValues(data: Dataset, label: string): Promise<string[]> {
  const seen = new Set<string>();
  for await (const batch of data.read([{ name: label, as: 'text' }])) {
    for (const v of textColumn(batch, label)) if (v !== null && seen.size < 10) seen.add(v.trim());
    if (seen.size >= 10) break;
  }
  return [...seen];
}

/**
 * Reads features and label into memory; rows whose label is not 0/1, true/false or yes/no
 * (or, with `positive`, rows whose label is null) are left out. `groupColumns` are read
 * alongside as text (one array per column, by kept row).
 * @throws UserError for a missing label column, or a label that is also a feature.
 */
export async function loadLabeled(
  data: Dataset,
  transform: FittedTransform,
  label: string,
  progress: Progress,
  groupColumns: string[] = [],
  positive?: string,
): Promise<Labeled & { unlabeled: number; groups: Array<Array<string | null>> }> {
  const column = requireLabel(data, label);
  if (transform.features.some((f) => f.name === label)) throw new UserError(`label "${label}" is also a feature: remove it from the feature spec`);
  const request = labelRequest(column, positive);
  const xs: Float32Array[] = [];
  const ys: Uint8Array[] = [];
  const groups: Array<Array<string | null>> = groupColumns.map(() => []);
  let rows = 0;
  let unlabeled = 0;
  const d = transform.outputs.length;
  const extra = [request, ...groupColumns.filter((c) => c !== label).flatMap((c) => groupRequest(data, transform, c))];
  for await (const { batch, block } of transformedBatches(data, transform, extra)) {
    const y = booleanValues(batch, label, positive);
    const values = groupColumns.map((c) => groupValues(batch, c));
    let keep = 0;
    const x = new Float32Array(block.rows * d);
    const yy = new Uint8Array(block.rows);
    for (let i = 0; i < block.rows; i++) {
      if (Number.isNaN(y[i])) {
        unlabeled++;
        continue;
      }
      x.set(block.data.subarray(i * d, (i + 1) * d), keep * d);
      yy[keep++] = y[i];
      values.forEach((v, c) => groups[c].push(v[i]));
    }
    xs.push(x.subarray(0, keep * d));
    ys.push(yy.subarray(0, keep));
    rows += keep;
    progress.update(rows + unlabeled, data.rowCount);
  }
  return { ...concatRows(xs, ys, d), d, unlabeled, groups };
}
