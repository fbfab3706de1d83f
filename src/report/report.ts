/**
 * The model report a person reads: one HTML page per model version with the charts of its
 * kind, drawn from what training stored in the manifest (held-out curves, deciles,
 * calibration, profiles, the segment map), plus fairness by group when asked for. The
 * summary's sentences and the kind's sections are its descriptor's (models/kind.ts
 * report.summary and report.sections, in models/<kind>/); the page, fairness and the inputs
 * and parameters are drawn here, alike for every kind.
 */
import { SMALL_GROUP, smallGroupsText, type FairnessReport } from '../metrics/fairness.js';
import { findKind } from '../models/kinds.js';
import type { Manifest } from '../models/registry.js';
import { fixed, percent } from '../models/report-text.js';
import { barChart, renderSvg } from '../render/charts.js';
import { esc, htmlTable, page, type Section } from '../render/html.js';
import { summaryLines } from './summary.js';

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
  const report = findKind(m.kind)?.report;
  if (report?.sections) sections.push(...(await report.sections(m)));
  else sections.push({ title: 'Metrics', blocks: [htmlTable(scalarRows(metrics))] });
  const stored = (metrics.fairness as FairnessReport[] | undefined) ?? [];
  const inputs = new Set(m.features.features.map((f) => f.name));
  const positives = report?.positives ?? 'positives';
  for (const f of stored) sections.push(await fairnessSection(f, positives, 'the test split', inputs.has(f.attribute)));
  for (const f of opts.fairness ?? []) {
    sections.push(await fairnessSection(f, positives, `${opts.fairnessSource ?? 'the given data'} (if these are the training data, the rows the model learned from are counted too)`, inputs.has(f.attribute)));
  }
  sections.push(overview(m));
  const subtitle = `${esc(m.kind)} model, version ${m.version}, trained ${esc(m.createdAt)} on ${esc(m.backend.name)}; ${m.data.rows.toLocaleString('en-US')} rows`;
  return page(`${m.name}@${m.version}`, subtitle, sections);
}

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
    'mean score': fixed(g.meanScore),
    'observed rate': fixed(g.positiveRate),
    'selection rate': percent(g.selectionRate),
    TPR: fixed(g.tpr, 3),
    FPR: fixed(g.fpr, 3),
    'disparate impact': `${fixed(g.disparateImpact, 3)}${g.flagged ? ' (below 0.8)' : ''}${g.count < SMALL_GROUP ? ` (under ${SMALL_GROUP} members: a small sample)` : ''}`,
  }));
  const verdict = f.fourFifthsRule === 'not met' ? '<span class="flag">not met</span>' : f.fourFifthsRule;
  const caveat = smallGroupsText(f.groups);
  return {
    title: `Fairness by ${f.attribute}`,
    intro: `${esc(`Measured on ${where}: selected means score >= ${f.threshold.toPrecision(4)}; TPR and FPR count ${positives}. Disparate impact is each group's selection rate over the highest group's.`)} Four-fifths rule: ${verdict} (lowest ratio ${fixed(f.disparateImpact, 3)}). ${isInput ? 'This column is one of the model\'s inputs (its feature spec has it).' : 'The column is used for this report only, not as a model input.'}${caveat ? ` ${esc(caveat)}` : ''}`,
    charts: [chart, calibration],
    blocks: [htmlTable(rows)],
  };
}
