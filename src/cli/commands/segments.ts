import { UserError } from '../../util/errors.js';
import type { GroupProfile } from '../../models/profile.js';
import type { Command } from '../args.js';
import { findKind } from '../../models/kinds.js';
import { num } from '../../util/options.js';
import { formatProfiles } from '../../models/profile.js';
import { STORE_OPTIONS, storeFrom } from './common.js';

/** `audience segments`: a K-Means model's segment profiles in words. */
export const segments: Command = {
  name: 'segments',
  usage: `audience segments --model NAME[@VERSION] [--top 5] [--store DIR]

Each segment's size and its most distinguishing features, in the data's own units:
"+ cart_adds: 5.0 (3.7x the average 1.3)", "+ device=desktop: 79% (average 34%)".
Ranked by standardized difference from the population, so counts, rates and categories
compare. (Audience profiles are printed by 'audience score --audiences'.)`,
  options: { ...STORE_OPTIONS, model: { type: 'string', short: 'm' }, top: { type: 'string' } },
  async run(values) {
    if (typeof values.model !== 'string') throw new UserError('audience segments: --model is required');
    // Checked before the model is read: a bad --top is refused whatever the model.
    const top = num(values.top, '--top', { int: true, min: 1 }) ?? 5;
    const m = storeFrom(values).manifest(values.model);
    const profiles = (m.metrics as { profiles?: GroupProfile[] }).profiles;
    if (!profiles?.length) throw new UserError(`model ${m.name}@${m.version} (${m.kind}) has no segment profiles: kmeans and anomaly models do`);
    process.stdout.write(`${formatProfiles(profiles, findKind(m.kind)?.report.profileLabel, top)}\n`);
  },
};
