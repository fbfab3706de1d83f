/**
 * The estimator contract every model kind implements (the counterpart of scikit-learn's
 * `fit` / `score` and of tfjs-layers' save handlers): four separate steps a caller composes.
 *
 * - `prepare` reads what the fit needs from the data through the fitted feature transform
 *   (labeled rows, the seed audience, ...), checks it and draws any held-out split;
 * - `fit` learns the model in memory (nothing is written);
 * - `evaluate` measures the fitted model on held-out rows beside its baselines, as the report;
 * - `save` writes the fitted model, its params and report as the next version in the store.
 *
 * `train` composes them (what `audience train` and a service train job run); a benchmark may
 * stop after `evaluate` and write nothing. Each kind's estimator is its descriptor's
 * (models/kind.ts), beside its params, loader and reports.
 */
import { initBackend } from '../compute/backend.js';
import type { FittedTransform } from '../features/transform.js';
import type { Dataset } from '../io/dataset.js';
import type { ModelStore } from './registry.js';

/** What a fitted model may hold that needs releasing (tensors): saved models are disposed by their caller. */
export interface Disposable {
  dispose(): void;
}

/**
 * One model kind's steps. `O` its options (models/params.ts optionsOf builds them from the kind's
 * params), `P` the prepared data, `F` the fitted (unsaved) model, `R` the report, `M` the saved model.
 */
export interface Estimator<O, P, F extends Disposable, R, M> {
  /** Reads and checks the rows the fit needs. @throws UserError naming the file, column and what was expected. */
  prepare(data: Dataset, transform: FittedTransform, opts: O): Promise<P>;
  /** Learns the model in memory from the prepared rows. */
  fit(prepared: P, opts: O): Promise<F>;
  /** Measures the fitted model (held-out rows, baselines): the report saved with it. */
  evaluate(prepared: P, fitted: F, opts: O): Promise<R>;
  /** Writes the fitted model as the next version of its name; the returned model owns `fitted`'s tensors. */
  save(store: ModelStore, prepared: P, fitted: F, report: R, opts: O): Promise<M>;
}

/**
 * prepare, fit, evaluate and save, in that order, on the backend initBackend selects (first,
 * so tensors are created there); the fitted model's tensors are released if evaluation or
 * saving fails.
 * @returns the saved model (the caller disposes it) and its report.
 */
export async function train<O, P, F extends Disposable, R, M>(
  estimator: Estimator<O, P, F, R, M>,
  data: Dataset,
  transform: FittedTransform,
  store: ModelStore,
  opts: O,
): Promise<{ model: M; report: R }> {
  await initBackend();
  const prepared = await estimator.prepare(data, transform, opts);
  const fitted = await estimator.fit(prepared, opts);
  try {
    const report = await estimator.evaluate(prepared, fitted, opts);
    return { model: await estimator.save(store, prepared, fitted, report, opts), report };
  } catch (err) {
    fitted.dispose();
    throw err;
  }
}
