import { UserError } from '../../util/errors.js';
import { fmtCount } from '../../util/progress.js';
import type { Command } from '../args.js';
import { formatAnomalyReport, formatBgNbdReport, formatCltvReport, formatLookalikeReport, formatPropensityReport, formatProfiles, table } from '../format.js';
import type { GroupProfile } from '../../models/profile.js';
import { STORE_OPTIONS, storeFrom } from './common.js';

export const models: Command = {
  name: 'models',
  summary: 'list stored models; show one; promote a version',
  usage: `audience models                      list models, versions and the promoted one
audience models show NAME[@VERSION]   kind, data, parameters, metrics, segment profiles
audience models promote NAME@VERSION  make a bare NAME resolve to this version
  --store DIR   model store (default ./models or AUDIENCE_MODEL_STORE)  --json`,
  options: { ...STORE_OPTIONS, json: { type: 'boolean' } },
  async run(values, positionals) {
    const store = storeFrom(values);
    const [action, ref] = positionals;
    if (action === undefined || action === 'list') {
      const rows = store.names().map((name) => {
        const versions = store.versions(name);
        const m = store.manifest(name);
        return { name, kind: m.kind, versions: versions.join(','), promoted: store.promoted(name) ?? '-', 'latest created': m.createdAt.slice(0, 19) };
      });
      process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${store.root}\n${table(rows)}\n`);
      return;
    }
    if (!ref) throw new UserError(`audience models ${action}: give a model, e.g. behavior@2`);
    if (action === 'promote') {
      if (!ref.includes('@')) throw new UserError('audience models promote: name the version, e.g. behavior@2');
      const r = store.promote(ref);
      process.stdout.write(`${r.name} now resolves to version ${r.version}\n`);
      return;
    }
    if (action !== 'show') throw new UserError(`audience models: unknown action "${action}" (list, show, promote)`);
    const m = store.manifest(ref);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
      return;
    }
    const head = [
      `${m.name}@${m.version}  kind ${m.kind}  created ${m.createdAt}  backend ${m.backend.name} (${m.backend.device})`,
      `data      ${fmtCount(m.data.rows)} rows from ${m.data.inputs.join(', ')}`,
      `          fingerprint ${m.data.fingerprint.slice(0, 16)}`,
      `features  ${m.features.features.length} columns -> ${m.features.outputs.length} inputs: ${m.features.features.map((f) => f.name).join(', ')}`,
      `params    ${JSON.stringify(m.params)}`,
    ];
    if (m.kind === 'propensity' || m.kind === 'lookalike' || m.kind === 'anomaly' || m.kind === 'cltv' || m.kind === 'bgnbd') {
      const format = { propensity: formatPropensityReport, lookalike: formatLookalikeReport, anomaly: formatAnomalyReport, cltv: formatCltvReport, bgnbd: formatBgNbdReport }[m.kind];
      const report = format(m.metrics as never);
      process.stdout.write(`${[...head, '', report].join('\n')}\n`);
      return;
    }
    const { profiles, inits, sizes, sweep, ...metrics } = m.metrics as Record<string, unknown>;
    void inits;
    const lines = [
      ...head,
      `metrics   ${Object.entries(metrics).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'number' ? v.toPrecision(5) : JSON.stringify(v)}`).join('  ')}`,
    ];
    if (Array.isArray(sizes)) lines.push(`sizes     ${sizes.join(', ')}`);
    if (Array.isArray(sweep)) lines.push('', table(sweep.map((r: { k: number; inertia: number; silhouette: number }) => ({ k: r.k, inertia: r.inertia.toPrecision(6), silhouette: r.silhouette.toFixed(4) }))));
    if (Array.isArray(profiles)) lines.push('', formatProfiles(profiles as GroupProfile[]));
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
