/**
 * The uplift kind's score columns (models/model.ts KindOutputs), from a manifest alone: what a
 * plan names before any weights are loaded (models/load.ts outlineModel) and what a loaded
 * model writes (uplift/model.ts) come from here, so the two cannot differ.
 */
import { Type } from 'typebox';
import { stateOf } from '../manifest.js';
import type { KindOutputs } from '../model.js';
import type { Manifest } from '../registry.js';

/** The treatment arms' values, when there are several (learner t: networks mu0 and mu1.. in this order). */
export const ARMS_SCHEMA = Type.Optional(Type.Array(Type.String(), { minItems: 2 }));

/** The score columns with one treatment: the predicted increase in the outcome's probability, ranked. */
export const UPLIFT_OUTPUTS: KindOutputs = {
  columns: [{ output: 'uplift', type: 'FLOAT' }],
  ranked: [{ source: 'uplift', percentile: 'percentile', rank: 'rank' }],
};

/** The score columns for `arms` (none: one treatment): with several, also the best arm (its value) and each arm's uplift, `uplift_1`... in their order. */
export function upliftOutputs(arms: string[] | undefined): KindOutputs {
  if (!arms) return UPLIFT_OUTPUTS;
  return { ...UPLIFT_OUTPUTS, columns: [...UPLIFT_OUTPUTS.columns, { output: 'arm', type: 'VARCHAR' }, ...arms.map((_, k) => ({ output: `uplift_${k + 1}`, type: 'FLOAT' as const }))] };
}

/**
 * The score columns of a stored uplift version, from its manifest's `state.arms`.
 * @throws UserError naming the version when its state's arms are damaged (models/manifest.ts stateOf).
 */
export function upliftOutputsOf(manifest: Manifest): KindOutputs {
  return upliftOutputs(stateOf(manifest, Type.Object({ arms: ARMS_SCHEMA })).arms);
}
