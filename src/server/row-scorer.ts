/**
 * Rows of features given as JSON, scored by a fixed list of models: POST /v1/score's path and
 * the online view's. Each model reads its columns of the rows as the file readers would
 * (io/json-rows.ts), so a row scores as the same row in a file scored by `audience score`. The
 * models on onnxruntime run as one side-by-side graph (models/onnx/row-set.ts) for a few rows:
 * one session run a request, not one per model.
 */
import { columnRequest } from '../features/transform.js';
import type { ColumnRequest } from '../io/columns.js';
import { checkRowFields, jsonRowsBatch, outputRow, type JsonCell } from '../io/json-rows.js';
import type { OutputData } from '../io/writer.js';
import { pinnedRef } from '../models/load.js';
import { scoreColumns, type ScoringModel } from '../models/model.js';
import { OnnxRowSet } from '../models/onnx/row-set.js';
import { SMALL_BATCH_ROWS } from '../models/onnx/session.js';
import { UserError } from '../util/errors.js';

/** Scores rows with a fixed list of models; made once per list (server/model-cache.ts). */
export class RowScorer {
  /** Each model's columns read from a row (its features; not its id). */
  private readonly requests: ColumnRequest[][];

  /** The fields a row may hold: every model's features and id columns. */
  private readonly known: Set<string>;

  private constructor(
    readonly models: ScoringModel[],
    /** The models on onnxruntime (indices into models) and their joined session, when there are two or more. */
    private readonly joined: { at: number[]; set: OnnxRowSet } | undefined,
  ) {
    this.requests = models.map((m) => columnRequest({ ...m.transform, id: { column: null, as: 'row' } }));
    this.known = new Set(models.flatMap((m, i) => [...this.requests[i].map((r) => r.name), ...(m.transform.id.column === null ? [] : [m.transform.id.column])]));
  }

  /**
   * A scorer of `models`, joining the graphs of those on onnxruntime.
   * @throws UserError when one model is named twice, or two write a column of the same name (two versions of one model).
   */
  static async create(models: ScoringModel[]): Promise<RowScorer> {
    const writer = new Map<string, string>();
    for (const m of models) {
      for (const o of m.outputs) {
        const other = writer.get(o.name);
        if (other === pinnedRef(m)) throw new UserError(`models name ${other} twice (as a version and as the name that means it, or twice alike); name each model once`);
        if (other !== undefined) throw new UserError(`${other} and ${pinnedRef(m)} both write the column ${o.name}; score them in separate requests`);
        writer.set(o.name, pinnedRef(m));
      }
    }
    const at = models.flatMap((m, i) => (m.onnx ? [i] : []));
    const joined = at.length >= 2 ? { at, set: await OnnxRowSet.create(at.map((i) => models[i].onnx!)) } : undefined;
    return new RowScorer(models, joined);
  }

  /**
   * Every model's outputs for `rows`, as JSON rows, and the values imputed over all models. A
   * row may carry the models' id columns (not read); any other field no model reads is refused.
   * @param where names the rows in errors, e.g. "rows".
   * @throws UserError naming the row and field that is unknown, missing or of the wrong type.
   */
  async score(rows: Array<Record<string, JsonCell>>, where: string): Promise<{ rows: Array<Record<string, JsonCell>>; imputed: number }> {
    checkRowFields(rows, this.known, where);
    const batches = this.models.map((_, i) => jsonRowsBatch(rows, this.requests[i], where));
    const joined = this.joined && rows.length <= SMALL_BATCH_ROWS ? this.joined : undefined;
    const alone = this.models.map((m, i) => (joined?.at.includes(i) ? undefined : scoreColumns(m, batches[i])));
    const [together, ...each] = await Promise.all([joined?.set.run(joined.at.map((i) => batches[i])), ...alone]);
    // The columns in the models' order, as each model alone gives them.
    const outputs: Record<string, OutputData> = {};
    for (const [i, m] of this.models.entries()) {
      if (each[i]) Object.assign(outputs, each[i].outputs);
      else for (const o of m.outputs) outputs[o.name] = together!.outputs[o.name];
    }
    const imputed = (together?.imputed ?? 0) + each.reduce((a, s) => a + (s?.imputed ?? 0), 0);
    return { rows: rows.map((_, i) => outputRow(outputs, i)), imputed };
  }

  /** Releases the joined session (the models stay: they belong to the model cache). */
  async dispose(): Promise<void> {
    await this.joined?.set.dispose();
  }
}
