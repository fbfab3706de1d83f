/**
 * Several models' small graphs (session.ts: the model's part, fed the JavaScript transform's
 * block) as one side-by-side graph in one onnxruntime session, for the request paths (POST
 * /v1/score, the online view) that score a few rows with the same models again and again: one
 * session run per request instead of one per model, each run's fixed cost (the N-API crossing,
 * a turn of the event loop, the output tensors) paid once.
 */
import ort from 'onnxruntime-node';
import type { ColumnBatch } from '../../io/columns.js';
import type { OutputData } from '../../io/writer.js';
import { sideBySide } from './graph.js';
import { takeOutputs, type OnnxScorer } from './session.js';

/** The models' small graphs in one session, one thread (a request is a few rows). */
export class OnnxRowSet {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly scorers: OnnxScorer[],
  ) {}

  /**
   * One session of the scorers' small graphs side by side.
   * @throws Error when two scorers write an output of the same name (graph.ts sideBySide).
   */
  static async create(scorers: OnnxScorer[]): Promise<OnnxRowSet> {
    const model = sideBySide(scorers.map((s, i) => ({ prefix: `m${i}/`, model: s.smallGraph() })));
    const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 });
    return new OnnxRowSet(session, scorers);
  }

  /**
   * Every scorer's outputs for its batch of the same rows (`batches[i]` has the columns scorer i
   * reads), as the scorers' own runs give them, and the values imputed over all of them.
   */
  async run(batches: ColumnBatch[]): Promise<{ outputs: Record<string, OutputData>; imputed: number }> {
    const feeds: Record<string, ort.Tensor> = {};
    let imputed = 0;
    for (const [i, s] of this.scorers.entries()) {
      const input = s.smallInput(batches[i]);
      feeds[`m${i}/xT`] = input.xT;
      imputed += input.imputed;
    }
    const result = await this.session.run(feeds);
    return { outputs: takeOutputs(result, this.scorers.flatMap((s) => s.outputs)), imputed };
  }

  /** Releases the session. */
  async dispose(): Promise<void> {
    await this.session.release();
  }
}
