import { UserError } from '../../util/errors.js';
import { fmtCount } from '../../util/progress.js';
import type { Command } from '../args.js';
import { allKinds, findKind } from '../../models/kinds.js';
import { table } from '../../render/table.js';
import { datasetFrom, INPUT_OPTIONS, OVERWRITE_OPTIONS, STORE_OPTIONS, storeFrom, type Values } from './common.js';
import type { ModelStore } from '../../models/registry.js';
import { num } from '../../util/options.js';
import { andList } from '../../util/words.js';
import fs from 'node:fs';
import { checkNewOutputFile } from '../../util/files.js';

/** `models diff A B`: the manifests compared, and with --input both versions scored on a sample. */
async function diffCommand(values: Values, store: ModelStore, refA: string, refB: string | undefined): Promise<void> {
  if (!refB) throw new UserError('audience models diff: give two versions, e.g. behavior@1 behavior@2');
  const [ma, mb] = [store.manifest(refA), store.manifest(refB)];
  if (ma.name !== mb.name) {
    throw new UserError(`audience models diff: compares two versions of one model; ${refA} and ${refB} are different models (e.g. ${ma.name}@1 ${ma.name}@2)`);
  }
  // Imported here, as in export: `models list` and --help load neither the engines nor the graphs.
  const [{ compareOnSample, diffManifests }, { loadScoringModel }] = await Promise.all([import('../../models/diff.js'), import('../../models/load.js')]);
  const diff = diffManifests(ma, mb);
  if (values.input !== undefined) {
    const rows = num(values.sample, '--sample', { int: true, min: 1, max: 10_000_000 }) ?? 10_000;
    const data = await datasetFrom(values, 'models diff');
    const [a, b] = [await loadScoringModel(store, refA), await loadScoringModel(store, refB)];
    try {
      diff.sample = await compareOnSample(a, b, data, rows);
    } finally {
      a.dispose();
      b.dispose();
    }
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(diff, null, 2)}\n`);
    return;
  }
  const fmt = (v: number | null) => (v === null ? '-' : Number.isInteger(v) || Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4));
  const { a, b } = diff;
  const out = [
    `${a.name}@${a.version} (${a.createdAt.slice(0, 19)}) vs ${b.name}@${b.version} (${b.createdAt.slice(0, 19)}), kind ${a.kind}`,
    '',
    table(diff.data.map((d) => ({ data: d.field, [`@${a.version}`]: String(d.a).slice(0, 40), [`@${b.version}`]: String(d.b).slice(0, 40), same: d.same ? 'yes' : 'no' }))),
    '',
    diff.params.length ? table(diff.params.map((p) => ({ 'parameter changed': p.param, [`@${a.version}`]: JSON.stringify(p.a), [`@${b.version}`]: JSON.stringify(p.b) }))) : 'parameters: the same',
    '',
    table(diff.metrics.map((m) => ({ metric: m.metric, [`@${a.version}`]: fmt(m.a), [`@${b.version}`]: fmt(m.b), delta: m.delta === null ? '-' : `${m.delta > 0 ? '+' : ''}${fmt(m.delta)}` }))),
    ...(diff.sample
      ? ['', `On the first ${fmtCount(diff.sample.rows)} visitors of the input: ${diff.sample.changed.map((c) => `${c.output} changed for ${(100 * c.share).toFixed(1)}%`).join('; ') || 'no segment or bucket output'}`]
      : []),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

/**
 * `models export NAME[@V] --format onnx --out FILE`: the version's whole scoring function as
 * one ONNX graph (models/onnx), written beside FILE and renamed into place.
 * @throws UserError for a kind without a graph, another format, an existing FILE (without --overwrite).
 */
async function exportCommand(values: Values, store: ModelStore, ref: string): Promise<void> {
  if ((values.format ?? 'onnx') !== 'onnx') throw new UserError(`--format ${String(values.format)}: the export format is onnx`);
  const out = typeof values.out === 'string' ? values.out : undefined;
  if (!out) throw new UserError('audience models export: name the file to write, e.g. --out model.onnx');
  checkNewOutputFile('--out', out, Boolean(values.overwrite));
  const { manifest, weights } = store.load(ref);
  const graphOf = findKind(manifest.kind)?.graph;
  if (!graphOf) throw new UserError(`${manifest.name}@${manifest.version} is a ${manifest.kind} model; export as ONNX takes ${andList(allKinds().filter((k) => k.graph).map((k) => k.kind))} models`);
  const [graph, { scoringGraph }, { featureInputs }] = await Promise.all([graphOf(), import('../../models/onnx/model-graphs.js'), import('../../models/onnx/transform-graph.js')]);
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, scoringGraph(manifest, weights, graph));
    fs.renameSync(tmp, out);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new UserError(`cannot write ${out}: ${(err as Error).message}`);
  }
  const inputs = featureInputs(manifest.features).map((i) => `${i.name} (${i.type === 'string' ? 'string' : 'double'})`);
  process.stdout.write(`Wrote ${manifest.name}@${manifest.version} to ${out}
  inputs, one value per visitor: ${inputs.join(', ')}
  outputs: ${[...graph.outputs.map((o) => `${manifest.name}_${o}`), 'imputed'].join(', ')}
`);
}

/** One model of `models --json`: its versions (ascending), the promoted one (null: none) and the latest, with the latest's kind and creation time (ISO 8601). */
interface ModelListing {
  name: string;
  kind: string;
  versions: number[];
  promoted: number | null;
  latest: number;
  createdAt: string;
}

/** `audience models [list]`: each model's versions, the promoted and the latest version, as a table or with --json as `{ models: ModelListing[] }`. */
function listCommand(values: Values, store: ModelStore): void {
  const models = store.names().map((name): ModelListing => {
    const versions = store.versions(name);
    const latest = versions[versions.length - 1];
    // The latest version's manifest: the bare name would resolve to the promoted one.
    const m = store.manifest(`${name}@${latest}`);
    return { name, kind: m.kind, versions, promoted: store.promoted(name) ?? null, latest, createdAt: m.createdAt };
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ models }, null, 2)}\n`);
    return;
  }
  const rows = models.map((l) => ({ name: l.name, kind: l.kind, versions: l.versions.join(','), promoted: l.promoted ?? '-', 'latest created': l.createdAt.slice(0, 19) }));
  process.stdout.write(`${store.root}\n${table(rows)}\n`);
}

/** `audience models`: list, show, promote, roll back and compare stored model versions. */
export const models: Command = {
  name: 'models',
  positionals: 3,
  usage: `audience models                      list models, versions and the promoted one
audience models show NAME[@VERSION]   kind, data, parameters, metrics, segment profiles
audience models promote NAME@VERSION  make a bare NAME resolve to this version
audience models rollback NAME         promote again the version promoted before (or none)
audience models diff NAME@A NAME@B [--input FILES --sample N]
                                      metrics side by side with deltas, parameters that
                                      changed, the data fingerprint and features; with --input,
                                      both versions score the first N rows (10,000) and the
                                      share of visitors whose segment or bucket changed is shown
audience models export NAME[@VERSION] --out model.onnx [--format onnx] [--overwrite]
                                      the version's whole scoring function (K-Means,
                                      propensity, cltv, anomaly: fitted transform, centroids
                                      or network, calibration) as one ONNX graph: inputs named by the
                                      feature columns (double for numeric and boolean 1/0,
                                      string for categorical, null as "(missing)"), one row
                                      per visitor; outputs named like the score columns;
                                      a FILE that exists is refused unless --overwrite
                                      (the new graph replaces it once written whole)
  --store DIR   model store (default ./models or AUDIENCE_MODEL_STORE)
  --json        the list as {"models": [{"name", "kind", "versions": [1, 2], "promoted": 1
                or null, "latest": 2, "createdAt": the latest version's, ISO 8601}]};
                show, the manifest; diff, the comparison`,
  options: { ...STORE_OPTIONS, ...INPUT_OPTIONS, json: { type: 'boolean' }, sample: { type: 'string' }, out: { type: 'string', short: 'o' }, format: { type: 'string' }, ...OVERWRITE_OPTIONS },
  async run(values, positionals) {
    const store = storeFrom(values);
    const [action, ref] = positionals;
    if (action === undefined || action === 'list') return listCommand(values, store);
    if (!ref) throw new UserError(`audience models ${action}: give a model, e.g. ${action === 'rollback' ? 'behavior' : 'behavior@2'}`);
    const expected = action === 'diff' ? 3 : 2;
    if (positionals.length > expected) throw new UserError(`audience models ${action}: unexpected argument "${positionals[expected]}"`);
    if (values.sample !== undefined && (action !== 'diff' || values.input === undefined)) throw new UserError('--sample goes with models diff --input FILES');
    if (action === 'rollback' && ref.includes('@')) throw new UserError(`audience models rollback: give the model's name alone (${ref.split('@')[0]}): it returns to the version promoted before`);
    if (action === 'promote') {
      if (!ref.includes('@')) throw new UserError('audience models promote: name the version, e.g. behavior@2');
      const r = store.promote(ref);
      process.stdout.write(`${r.name} now resolves to version ${r.version}\n`);
      return;
    }
    if (action === 'rollback') {
      const r = store.rollback(ref);
      process.stdout.write(`${r.name}: ${r.to === null ? 'no version promoted; the bare name resolves to the latest' : `now resolves to version ${r.to}`} (was ${r.from ?? 'the latest'})\n`);
      return;
    }
    if (action === 'diff') {
      await diffCommand(values, store, ref, positionals[2]);
      return;
    }
    if (action === 'export') return exportCommand(values, store, ref);
    if (values.out !== undefined || values.format !== undefined || values.overwrite !== undefined) throw new UserError('--out, --format and --overwrite go with models export');
    if (action !== 'show') throw new UserError(`audience models: unknown action "${action}" (list, show, promote, rollback, diff, export)`);
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
    // Each kind says its own report (models/<kind>/text.ts); a kind this version does not know, its metrics as stored.
    const shown = findKind(m.kind)?.report.shown(m) ?? `metrics   ${JSON.stringify(m.metrics)}`;
    process.stdout.write(`${[...head, shown].join('\n')}\n`);
  },
};
