/**
 * The lookalike's estimator (models/estimator.ts), its steps each in its module: prepare
 * (prepare.ts: the population in memory, population.ts, its seeds found, some held out), fit
 * (fit.ts: a seed-vs-population classifier whose last hidden layer is the visitor embedding,
 * learned from every seed; everyone is scored by similarity to the seeds in that space),
 * evaluate (evaluate.ts: recall of the held-out seeds beside two baselines, baselines.ts), and
 * save (here).
 */
import { initBackend } from '../../compute/backend.js';
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { train, type Estimator } from '../estimator.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { evaluateLookalike, type LookalikeReport } from './evaluate.js';
import { fitLookalike, type FittedLookalike } from './fit.js';
import { LookalikeModel } from './model.js';
import { settings, type TrainLookalikeOptions } from './options.js';
import { prepareLookalike, type PreparedLookalike } from './prepare.js';

/** Writes the fitted lookalike, scoring by the report's method, as the next version of `opts.name`. */
async function saveLookalike(store: ModelStore, p: PreparedLookalike, f: FittedLookalike, report: LookalikeReport, opts: TrainLookalikeOptions): Promise<LookalikeModel> {
  const backend = await initBackend();
  const { seed, mode, k, hidden, negativesPerSeed, holdout, method } = settings(opts);
  return LookalikeModel.save(
    store,
    {
      ...trainedOn('lookalike', opts.name, backend, p.transform, p.data.tables, p.pop.rows),
      params: { seeds: p.source, mode, k, hidden, negativesPerSeed, holdout, method, seed },
      metrics: report as unknown as Record<string, unknown>,
    },
    f.mlp,
    f.seedEmbeddings,
    f.center,
    { mode, k, mlp: f.mlp.config, seedIds: p.pop.seedIds, method: report.method, ...(report.method === 'blend' && f.blend && { blend: f.blend }) },
  );
}

/** The lookalike's estimator steps (see models/estimator.ts). */
export const LOOKALIKE: Estimator<TrainLookalikeOptions, PreparedLookalike, FittedLookalike, LookalikeReport, LookalikeModel> = {
  prepare: prepareLookalike,
  fit: fitLookalike,
  evaluate: evaluateLookalike,
  save: saveLookalike,
};

/**
 * Trains a lookalike model: LOOKALIKE's steps composed (see the module comment).
 * @returns the saved model (the caller disposes it) and its report.
 * @throws UserError when too few seeds are found, or under half of a seed list matches.
 */
export async function trainLookalike(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainLookalikeOptions) {
  return train(LOOKALIKE, data, transform, store, opts);
}
