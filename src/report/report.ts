/**
 * The model report a person reads: one HTML page per model version with the charts of its
 * kind, drawn from what training stored in the manifest (held-out curves, deciles,
 * calibration, profiles, the segment map), plus fairness by group when asked for.
 */
import type { CurvePoint, DecileRow, HistogramBin } from '../metrics/classification.js';
import { SMALL_GROUP, smallGroupsText, type FairnessReport } from '../metrics/fairness.js';
import type { AnomalyReport } from '../models/anomaly/train.js';
import type { CltvReport, ValueMetrics } from '../models/cltv/train.js';
import type { SegmentMap } from '../models/kmeans/map.js';
import type { LookalikeReport } from '../models/lookalike/train.js';
import type { GroupProfile } from '../models/profile.js';
import type { Evaluation, PropensityReport } from '../models/propensity/train.js';
import type { Manifest } from '../models/registry.js';
import { barChart, binnedChart, confusionChart, heatmap, horizontalBars, lineChart, renderSvg, scatterChart, type Series } from './charts.js';
import { esc, htmlTable, page, type Section } from './html.js';
import { summaryLines } from './summary.js';
import { upliftSections } from './uplift.js';
import type { UpliftReport } from '../models/uplift/train.js';

export interface ReportOptions {
  /** Fairness computed outside the manifest (`audience report --input --sensitive`), shown after the stored one. */
  fairness?: FairnessReport[];
  /** Where that fairness was measured (a file), for its heading. */
  fairnessSource?: string;
}

/**
 * Renders the report page of a model version from its manifest.
 * @returns the HTML document (self-contained).
 */
export async function renderReport(m: Manifest, opts: ReportOptions = {}): Promise<string> {
  // What the model achieves first; the inputs and parameters it was trained with last.
  const lines = summaryLines(m);
  const sections: Section[] = lines.length ? [{ title: 'Summary', blocks: [`<ul class="summary">${lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`] }] : [];
  const metrics = m.metrics as Record<string, unknown>;
  if (m.kind === 'propensity') sections.push(...(await propensitySections(metrics as unknown as PropensityReport)));
  else if (m.kind === 'cltv') sections.push(...(await cltvSections(metrics as unknown as CltvReport)));
  else if (m.kind === 'kmeans') sections.push(...(await kmeansSections(metrics, m)));
  else if (m.kind === 'lookalike') sections.push(...(await lookalikeSections(metrics as unknown as LookalikeReport)));
  else if (m.kind === 'anomaly') sections.push(...(await anomalySections(metrics as unknown as AnomalyReport)));
  else if (m.kind === 'uplift') sections.push(...(await upliftSections(metrics as unknown as UpliftReport)));
  else sections.push({ title: 'Metrics', blocks: [htmlTable(scalarRows(metrics))] });
  const stored = (metrics.fairness as FairnessReport[] | undefined) ?? [];
  const inputs = new Set(m.features.features.map((f) => f.name));
  const positives = m.kind === 'cltv' ? 'the top 10% by actual value' : 'positives';
  for (const f of stored) sections.push(await fairnessSection(f, positives, 'the test split', inputs.has(f.attribute)));
  for (const f of opts.fairness ?? []) {
    sections.push(await fairnessSection(f, positives, `${opts.fairnessSource ?? 'the given data'} (if these are the training data, the rows the model learned from are counted too)`, inputs.has(f.attribute)));
  }
  sections.push(overview(m));
  const subtitle = `${esc(m.kind)} model, version ${m.version}, trained ${esc(m.createdAt)} on ${esc(m.backend.name)}; ${m.data.rows.toLocaleString('en-US')} rows`;
  return page(`${m.name}@${m.version}`, subtitle, sections);
}

const pct = (v: number, digits = 1) => (Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : '-');
const fix = (v: unknown, digits = 4) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');

function overview(m: Manifest): Section {
  const params = Object.entries(m.params).map(([k, v]) => ({ parameter: k, value: typeof v === 'object' ? JSON.stringify(v) : String(v) }));
  return {
    title: 'Inputs and parameters',
    blocks: [
      htmlTable(
        [
          { field: 'inputs', value: m.data.inputs.join(', ') },
          { field: 'data fingerprint', value: m.data.fingerprint.slice(0, 16) },
          { field: 'features', value: `${m.features.features.length} columns -> ${m.features.outputs.length} model inputs` },
          { field: 'id column', value: m.features.id.column ?? '(row numbers)' },
        ],
        'Data',
      ),
      htmlTable(params, 'Parameters'),
    ],
  };
}

/** Scalar metrics as rows (the fallback for kinds without charts). */
function scalarRows(metrics: Record<string, unknown>): Array<Record<string, string>> {
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
    .map(([k, v]) => ({ metric: k, value: typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v) }));
}

const NO_CURVES = 'This version was trained before curves were stored in the model; train a new version for the ROC, precision-recall and histogram charts.';

async function propensitySections(r: PropensityReport): Promise<Section[]> {
  const m = r.test.mlp;
  const b = r.test.baseline;
  const both = (f: (e: Evaluation) => Array<[number, number]>): Series[] => [
    { name: 'MLP (this model)', points: f(m) },
    { name: 'logistic baseline', points: f(b) },
  ];
  const charts: string[] = [];
  if (m.curves) {
    charts.push(await renderSvg(lineChart(both((e) => e.curves?.roc ?? []), { title: `ROC (AUC ${fix(m.rocAuc, 3)} vs ${fix(b.rocAuc, 3)})`, x: 'false positive rate', y: 'true positive rate', diagonal: 'chance' })));
    charts.push(await renderSvg(lineChart(both((e) => e.curves?.pr ?? []), { title: `Precision-recall (AP ${fix(m.prAuc, 3)} vs ${fix(b.prAuc, 3)})`, x: 'recall', y: 'precision' })));
  }
  const deciles = (e: Evaluation, name: string, f: (d: DecileRow) => number) => e.lift.map((d) => ({ category: String(d.decile), series: name, value: f(d) }));
  charts.push(
    await renderSvg(barChart([...deciles(m, 'MLP (this model)', (d) => d.lift), ...deciles(b, 'logistic baseline', (d) => d.lift)], { title: 'Lift by decile of score (1 = highest)', x: 'decile', y: 'lift', rule: { y: 1, label: 'no lift' } })),
  );
  const gains = (e: Evaluation): CurvePoint[] => [[0, 0], ...e.lift.map((d) => [d.decile / e.lift.length, d.cumulativeGain] as CurvePoint)];
  charts.push(await renderSvg(lineChart(both(gains), { title: 'Cumulative gains', x: 'share of visitors, highest scores first', y: 'share of conversions captured', diagonal: 'random', dots: true })));
  const reliability = (e: Evaluation): CurvePoint[] => e.calibration.map((c) => [c.meanPredicted, c.observedRate]);
  charts.push(await renderSvg(lineChart(both(reliability), { title: 'Calibration (reliability)', x: 'mean predicted probability', y: 'observed conversion rate', diagonal: 'perfect', dots: true })));
  if (m.curves) charts.push(await renderSvg(binnedChart(histogramRows(m.curves.histogram, 'converted', 'did not'), { title: 'Scores by class (test split)', x: 'calibrated score', y: 'visitors' })));
  const c = m.atThreshold;
  charts.push(await renderSvg(confusionChart(c, `Confusion on test at threshold ${fix(c.threshold, 4)} (${r.threshold.rule})`)));
  charts.push(await renderSvg(horizontalBars(r.importance.slice(0, 15).map((i) => ({ label: i.feature, value: i.aucDrop })), { title: 'Feature influence: test AUC lost when shuffled', x: 'AUC lost' })));
  if (r.history?.length) charts.push(await renderSvg(historyChart(r.history, r.bestEpoch, r.training.refit && `; the saved model: refitted on training + validation for ${r.bestEpoch} epochs`)));
  const table = [
    { metric: 'ROC-AUC', MLP: fix(m.rocAuc), baseline: fix(b.rocAuc) },
    { metric: 'PR-AUC (average precision)', MLP: fix(m.prAuc), baseline: fix(b.prAuc) },
    { metric: 'log loss', MLP: fix(m.logLoss), baseline: fix(b.logLoss) },
    { metric: 'Brier', MLP: fix(m.brier), baseline: fix(b.brier) },
    { metric: 'F1 at threshold', MLP: fix(m.atThreshold.f1), baseline: fix(b.atThreshold.f1) },
    { metric: 'share flagged', MLP: pct(m.atThreshold.rate), baseline: pct(b.atThreshold.rate) },
  ];
  return [
    {
      title: 'How well it ranks and predicts (held-out test split)',
      intro: esc(`Stratified split: train ${r.split.train}, validation ${r.split.valid} (early stopping, calibration, threshold), test ${r.split.test} (${r.split.positives.test} positives): every number here is on the test rows. The logistic-regression baseline was trained on the same split.`) + (m.curves ? '' : ` ${NO_CURVES}`),
      charts,
      blocks: [htmlTable(table, 'Test metrics')],
    },
    {
      title: 'Data checks',
      blocks: [
        htmlTable(
          [
            { check: 'labeled rows', value: r.checks.rows },
            { check: 'positives', value: `${r.checks.positives} (${pct(r.checks.positives / r.checks.rows)})` },
            { check: 'rows without a usable label, left out', value: r.checks.unlabeled },
          ],
          'Rows',
        ),
        htmlTable(r.checks.singleFeatureAuc.slice(0, 10).map((s) => ({ feature: s.feature, 'AUC alone': fix(s.auc, 3), note: s.auc >= 0.99 ? 'possible leakage' : '' })), 'Single-feature AUC (leakage check)'),
      ],
    },
  ];
}

function histogramRows(bins: HistogramBin[], positive: string, negative: string) {
  return bins.flatMap((h) => [
    { from: h.from, to: h.to, count: h.positives, series: positive },
    { from: h.from, to: h.to, count: h.negatives, series: negative },
  ]);
}

function historyChart(history: Array<{ epoch: number; trainLoss: number; validLoss: number }>, best: number, note: string | undefined = '') {
  const last = history[history.length - 1]?.epoch ?? 1;
  const losses = history.flatMap((h) => [h.trainLoss, h.validLoss]).filter(Number.isFinite);
  return lineChart(
    [
      { name: 'training loss', points: history.map((h) => [h.epoch, h.trainLoss]) },
      { name: 'validation loss', points: history.map((h) => [h.epoch, h.validLoss]) },
    ],
    { title: `Training (best epoch ${best} restored${note})`, x: 'epoch', y: 'loss', xDomain: [1, Math.max(2, last)], yDomain: [Math.min(...losses) * 0.95, Math.max(...losses) * 1.05], xInteger: true },
  );
}

async function cltvSections(r: CltvReport): Promise<Section[]> {
  const methods: Array<[string, ValueMetrics | string]> = [
    ['ZILN (this model)', r.test.model],
    ['last window', r.test.lastWindow],
    ['BG/NBD + Gamma-Gamma', r.test.bgNbd],
  ];
  const scored = methods.filter((x): x is [string, ValueMetrics] => typeof x[1] !== 'string');
  const charts: string[] = [];
  // Who buys at all in the horizon, ranked by each method's predicted value.
  const withCurves = scored.filter(([, m]) => m.buyers);
  if (withCurves.length) {
    charts.push(
      await renderSvg(
        lineChart(
          withCurves.map(([name, m]) => ({ name: `${name}: AUC ${fix(m.buyers!.rocAuc, 3)}`, points: m.buyers!.roc })),
          { title: 'Who buys: ROC', x: 'false positive rate', y: 'true positive rate', diagonal: 'chance' },
        ),
      ),
    );
    charts.push(await renderSvg(lineChart(withCurves.map(([name, m]) => ({ name, points: m.buyers!.pr })), { title: 'Who buys: precision-recall', x: 'recall', y: 'precision' })));
    charts.push(await renderSvg(binnedChart(histogramRows(r.test.model.buyers!.histogram, 'bought in the horizon', 'did not'), { title: 'Predicted value by outcome (test split)', x: 'predicted value', y: 'customers (symmetric log scale)', symlog: true })));
  }
  const d = r.test.model.deciles;
  charts.push(
    await renderSvg(
      barChart(
        d.flatMap((x) => [
          { category: String(x.decile), series: 'mean predicted', value: x.predicted },
          { category: String(x.decile), series: 'mean actual', value: x.actual },
        ]),
        { title: 'Value by decile of prediction (1 = highest)', x: 'decile', y: 'value per customer' },
      ),
    ),
  );
  const gains = (m: ValueMetrics): CurvePoint[] => {
    const total = m.deciles.reduce((s, x) => s + x.actual * x.rows, 0) || 1;
    let acc = 0;
    return [[0, 0], ...m.deciles.map((x) => [x.decile / m.deciles.length, (acc += x.actual * x.rows) / total] as CurvePoint)];
  };
  charts.push(await renderSvg(lineChart(scored.map(([name, m]) => ({ name, points: gains(m) })), { title: 'Cumulative value captured', x: 'share of customers, highest predictions first', y: 'share of actual value', diagonal: 'random', dots: true })));
  if (r.history?.length) charts.push(await renderSvg(historyChart(r.history, r.bestEpoch)));
  const rows = methods.map(([method, m]) =>
    typeof m === 'string'
      ? { method, MAE: '-', RMSE: '-', 'normalized Gini': '-', Spearman: '-', note: m }
      : { method, MAE: fix(m.mae, 2), RMSE: fix(m.rmse, 2), 'normalized Gini': fix(m.normalizedGini), Spearman: fix(m.spearman), note: '' },
  );
  return [
    {
      title: 'How well it predicts value (held-out test split)',
      intro: esc(`Test split: ${r.split.test} customers, ${r.split.buyers.test} with value above 0; horizon ${r.horizonDays ?? 'unknown'} days. Baselines: the last window's spend, and BG/NBD with Gamma-Gamma. The value by decile is the calibration check (mean predicted against mean actual).`) + (r.test.model.buyers ? '' : ` ${NO_CURVES}`),
      charts,
      blocks: [htmlTable(rows, 'Test metrics')],
    },
  ];
}

async function kmeansSections(metrics: Record<string, unknown>, m: Manifest): Promise<Section[]> {
  const sizes = (metrics.sizes as number[]) ?? [];
  const total = sizes.reduce((a, b) => a + b, 0) || 1;
  const profiles = (metrics.profiles as GroupProfile[]) ?? [];
  const charts = [await renderSvg(barChart(sizes.map((n, s) => ({ category: `segment ${s}`, series: 'visitors', value: n / total })), { title: 'Segment sizes', x: '', y: 'share of visitors', yFormat: '.0%', labels: '.0%' }))];
  const sweep = metrics.sweep as Array<{ k: number; inertia: number; silhouette: number }> | undefined;
  if (sweep?.length) {
    const ks: [number, number] = [Math.min(...sweep.map((s) => s.k)), Math.max(...sweep.map((s) => s.k))];
    const inertia = sweep.map((s) => s.inertia);
    const sil = sweep.map((s) => s.silhouette);
    charts.push(await renderSvg(lineChart([{ name: 'inertia', points: sweep.map((s) => [s.k, s.inertia]) }], { title: 'k sweep: inertia', x: 'k', y: 'inertia', dots: true, xDomain: ks, xInteger: true, yDomain: [Math.min(...inertia) * 0.95, Math.max(...inertia) * 1.02] })));
    charts.push(await renderSvg(lineChart([{ name: 'silhouette (sampled)', points: sweep.map((s) => [s.k, s.silhouette]) }], { title: `k sweep: silhouette (k=${m.params.k} chosen)`, x: 'k', y: 'silhouette', dots: true, xDomain: ks, xInteger: true, yDomain: [Math.min(0, ...sil), Math.max(...sil) * 1.1] })));
  }
  const map = metrics.map as SegmentMap | undefined;
  if (map) {
    charts.push(
      await renderSvg(
        scatterChart(
          map.points.map(([x, y, s]) => ({ x, y, group: `segment ${s}` })),
          map.centroids.map(([x, y], s) => ({ x, y, label: String(s) })),
          { title: `${map.points.length} visitors on the first two principal components`, x: `PC1 (${pct(map.explained[0], 0)} of variance)`, y: `PC2 (${pct(map.explained[1], 0)})` },
        ),
      ),
    );
  }
  // Columns: the union of each segment's 6 most distinguishing features; each cell from any of
  // the (up to 12) features stored per segment, so most of the grid is filled.
  const columns = [...new Set(profiles.flatMap((p) => p.entries.slice(0, 6).map((e) => e.feature)))];
  const cells = profiles.flatMap((p) =>
    p.entries
      .filter((e) => columns.includes(e.feature))
      .map((e) => ({ row: `segment ${p.group}`, column: e.feature, value: e.score, label: e.kind === 'numeric' ? short(e.value) : pct(e.value, 0) })),
  );
  cells.sort((a, b) => columns.indexOf(a.column) - columns.indexOf(b.column));
  const heat = cells.length ? [await renderSvg(heatmap(cells, { title: "What sets each segment apart: its value (the data's units) coloured by distance from the average", rows: '', columns: '', legend: 'standardized difference' }))] : [];
  return [
    { title: 'Segments', intro: esc(`k=${m.params.k}; inertia ${fix(metrics.inertia, 1)}, sampled silhouette ${fix(metrics.silhouette, 3)}; ${metrics.iterations} iterations.`), charts },
    {
      title: 'Segment profiles',
      charts: heat,
      blocks: [htmlTable(profiles.flatMap((p) => p.entries.slice(0, 5).map((e) => ({ segment: p.group, feature: e.feature, segment_value: e.kind === 'numeric' ? short(e.value) : pct(e.value, 0), average: e.kind === 'numeric' ? short(e.population) : pct(e.population, 0) }))), 'Top features per segment')],
    },
  ];
}

const short = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(3));

async function lookalikeSections(r: LookalikeReport): Promise<Section[]> {
  const charts: string[] = [];
  const curves = r.evaluation.filter((e) => e.curve);
  if (curves.length) charts.push(await renderSvg(lineChart(curves.map((e) => ({ name: e.method, points: e.curve! })), { title: 'Held-out seeds found vs share of the population taken', x: 'share of the population (highest scores first)', y: 'share of held-out seeds found', diagonal: 'random' })));
  const ours = r.evaluation.find((e) => e.chosen) ?? r.evaluation[0];
  if (ours?.histogram) charts.push(await renderSvg(binnedChart(histogramRows(ours.histogram, 'held-out seeds', 'other visitors'), { title: `Similarity: held-out seeds vs the rest (${r.method ?? 'embedding'} score)`, x: 'lookalike score', y: 'visitors' })));
  const rows = r.evaluation.map((e) => ({ method: e.method, AUC: fix(e.auc, 3), ...Object.fromEntries(r.recallAt.map((s, i) => [`recall@${(100 * s).toFixed(0)}%`, pct(e.recall[i])])) }));
  return [
    {
      title: 'How well it finds held-out seeds',
      intro: esc(`${r.seeds.found} seeds found of ${r.seeds.given} given; ${r.seeds.heldOut} held out for this evaluation; population ${r.population}.`) + (ours?.curve ? '' : ` ${NO_CURVES}`),
      charts,
      blocks: [htmlTable(rows, 'Methods')],
    },
  ];
}

async function anomalySections(r: AnomalyReport): Promise<Section[]> {
  const charts: string[] = [];
  if (r.histogram) {
    const bins = r.histogram.map((h) => ({ from: h.from, to: h.to ?? h.from + (h.from - (r.histogram![r.histogram!.length - 2]?.from ?? 0)), count: h.count, series: h.from >= r.threshold ? 'outliers' : 'within' }));
    charts.push(await renderSvg(binnedChart(bins, { title: `Outlier score (distance in segment spreads); threshold ${r.threshold}`, x: 'score (last bin: and above)', y: 'visitors (symmetric log scale)', symlog: true })));
  }
  const kept = r.candidates.filter((c) => c.kept);
  return [
    {
      title: 'Outliers and niche segments',
      intro: esc(`${r.outliers} outliers (${pct(r.outlierShare, 2)}) over ${r.threshold} spreads from their segment; ${kept.length} niche segment(s) kept of ${r.candidates.length} candidates.`) + (r.histogram ? '' : ` ${NO_CURVES}`),
      charts,
      blocks: [
        htmlTable(r.candidates.map((c) => ({ niche: c.kept ? c.niche : '-', source: c.source, size: c.size, spread: fix(c.spread, 3), 'nearest segment': c.nearestSegment, 'distance (spreads)': fix(c.distanceInSpreads, 2), kept: c.kept ? 'yes' : 'no' })), 'Niche candidates'),
        htmlTable(r.profiles.flatMap((p) => p.entries.slice(0, 5).map((e) => ({ niche: p.group, feature: e.feature, value: e.kind === 'numeric' ? short(e.value) : pct(e.value, 0), average: e.kind === 'numeric' ? short(e.population) : pct(e.population, 0) }))), "Niche profiles"),
      ],
    },
  ];
}

/** One sensitive attribute: per-group table and selection rates against the four-fifths line. */
async function fairnessSection(f: FairnessReport, positives: string, where: string, isInput: boolean): Promise<Section> {
  const top = Math.max(...f.groups.map((g) => g.selectionRate));
  const chart = await renderSvg(
    barChart(
      f.groups.map((g) => ({ category: g.group, series: 'selection rate', value: g.selectionRate })),
      { title: `Selection rate by ${f.attribute}`, x: f.attribute, y: 'share selected', yFormat: '.0%', labels: '.1%', rule: { y: 0.8 * top, label: 'four-fifths of the highest' } },
    ),
  );
  const calibration = await renderSvg(
    barChart(
      f.groups.flatMap((g) => [
        { category: g.group, series: 'mean score', value: g.meanScore },
        { category: g.group, series: 'observed rate', value: g.positiveRate },
      ]),
      { title: `Calibration by ${f.attribute}`, x: f.attribute, y: 'mean score vs observed' },
    ),
  );
  const rows = f.groups.map((g) => ({
    group: g.group,
    count: g.count,
    'mean score': fix(g.meanScore),
    'observed rate': fix(g.positiveRate),
    'selection rate': pct(g.selectionRate),
    TPR: fix(g.tpr, 3),
    FPR: fix(g.fpr, 3),
    'disparate impact': `${fix(g.disparateImpact, 3)}${g.flagged ? ' (below 0.8)' : ''}${g.count < SMALL_GROUP ? ` (under ${SMALL_GROUP} members: a small sample)` : ''}`,
  }));
  const verdict = f.fourFifthsRule === 'met' ? 'met' : '<span class="flag">not met</span>';
  const caveat = smallGroupsText(f.groups);
  return {
    title: `Fairness by ${f.attribute}`,
    intro: `${esc(`Measured on ${where}: selected means score >= ${f.threshold.toPrecision(4)}; TPR and FPR count ${positives}. Disparate impact is each group's selection rate over the highest group's.`)} Four-fifths rule: ${verdict} (lowest ratio ${fix(f.disparateImpact, 3)}). ${isInput ? 'This column is one of the model\'s inputs (its feature spec has it).' : 'The column is used for this report only, not as a model input.'}${caveat ? ` ${esc(caveat)}` : ''}`,
    charts: [chart, calibration],
    blocks: [htmlTable(rows)],
  };
}
