/**
 * Checks on the columns a kind reads besides its features (a label, its horizon, sensitive
 * columns), and the columns it must never take as inputs: shared by the trainers (models/<kind>/train.ts), the kinds' descriptors
 * and the service's submission checks (server/submit.ts), which sit above them all.
 */
import { LABEL_COLUMNS } from '../features/visitor.js';
import type { ColumnInfo } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { UserError } from '../util/errors.js';
import { FLAG_NAMES, type ParamNamer } from './params.js';

/** The columns of `data` as a list for messages. */
const columnList = (data: Dataset) => data.columns.map((c) => c.name).join(', ');

/**
 * The column that plays `role` in the data ("label", "treatment", "seed filter").
 * @throws UserError naming the file, the column and the file's columns.
 */
export function requireColumnFor(data: Dataset, column: string, role: string): ColumnInfo {
  const found = data.columns.find((c) => c.name === column);
  if (!found) throw new UserError(`${data.tables[0].path}: no ${role} column "${column}" (columns: ${columnList(data)})`);
  return found;
}

/** The label column. @throws UserError naming the file and the columns there are. */
export function requireLabel(data: Dataset, label: string): ColumnInfo {
  return requireColumnFor(data, label, 'label');
}

/** Every sensitive column is in the data. @throws UserError naming the option (as `names` does), the column and the file's columns. */
export function requireSensitive(data: Dataset, columns: string[] | undefined, names: ParamNamer = FLAG_NAMES): void {
  for (const c of columns ?? []) {
    if (!data.columns.some((col) => col.name === c)) throw new UserError(`${names.option('sensitive')} ${c}: ${data.tables[0].path} has no column "${c}" (columns: ${columnList(data)})`);
  }
}

/**
 * Columns training on `label` must never read: the label, and when it is one of the labels
 * `audience events --horizon` writes, the others (a CSV copy of that file has no metadata
 * marking them, and each gives the others away).
 */
export function labelColumns(data: Dataset, label: string): string[] {
  const names = data.columns.map((col) => col.name);
  return LABEL_COLUMNS.includes(label) ? LABEL_COLUMNS.filter((col) => names.includes(col)) : [label];
}

/** The options of a kind that learns a label and reports fairness by sensitive columns. */
interface Labeled {
  label: string;
  sensitive?: string[];
  allowLeakage?: boolean;
}

/**
 * A labeled kind's data checks: the label and every sensitive column present; where the file
 * marks its labels (`audience events --horizon` writes them in the Parquet metadata), the
 * label one of them, not a feature measured up to the as-of date (which "predicts" itself),
 * unless `allowLeakage`.
 * @throws UserError naming the file, the column and, for a feature as label, the labels there are and the option.
 */
export function checkLabeled(data: Dataset, o: Labeled, ctx: { names: ParamNamer }): void {
  requireLabel(data, o.label);
  requireSensitive(data, o.sensitive, ctx.names);
  // Any input's marks count: a copy without the metadata (re-saved by another tool) first in the list does not hide them.
  const markedIn = data.tables.find((t) => t.columns.some((c) => c.label));
  const marked = markedIn ? markedIn.columns.filter((c) => c.label).map((c) => c.name) : [];
  if (marked.length > 0 && !marked.includes(o.label) && !o.allowLeakage) {
    throw new UserError(
      `${markedIn!.path}: label "${o.label}" is a feature 'audience events' wrote (measured up to the as-of date), not an outcome after it; ` +
        `its labels are ${marked.join(', ')}. Train on one of them, or pass ${ctx.names.option('allow-leakage')} to learn "${o.label}" anyway`,
    );
  }
}

/** A labeled kind's columns never taken as inputs: the labels (labelColumns) and the sensitive columns. */
export function labeledExcluded(data: Dataset, o: Labeled): string[] {
  return [...labelColumns(data, o.label), ...(o.sensitive ?? [])];
}

/**
 * The days a label covers: the label's own (written by `audience events --horizon`), or
 * `given`; null when neither says.
 * @throws UserError when `given` contradicts the label's own, naming the option as `names` does.
 */
export function horizonFor(data: Dataset, label: string | undefined, given: number | undefined, names: ParamNamer = FLAG_NAMES): number | null {
  const own = data.columns.find((c) => c.name === label)?.horizonDays;
  if (own !== undefined && given !== undefined && own !== given) {
    const option = names.option('horizon-days');
    throw new UserError(`${option} ${given}: label "${label}" of ${data.tables[0].path} covers ${own} days (audience events --horizon); leave ${option} out or give ${own}`);
  }
  return given ?? own ?? null;
}
