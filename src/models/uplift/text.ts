/** The uplift kind's text report (after training, in `models show`); its table and legend are the report page's too. */
import { table } from '../../render/table.js';
import { signed } from '../report-text.js';
import type { UpliftReport } from './evaluate.js';

/** One row per candidate and baseline: Qini (both scales), AUUC, uplift among the top 10/20/30%. */
export function testRows(r: UpliftReport): Array<Record<string, string>> {
  const chosen = r.learner.chosen;
  return Object.entries(r.test).map(([name, e]) => ({
    model: name === chosen || name.startsWith(`${chosen}, arm `) ? `${name} (saved)` : name,
    qini: e.qini.toFixed(5),
    'qini norm.': e.qiniNormalized.toFixed(3),
    auuc: e.auuc.toFixed(5),
    'uplift top 10%': signed(e.upliftAt[10], 4),
    'top 20%': signed(e.upliftAt[20], 4),
    'top 30%': signed(e.upliftAt[30], 4),
  }));
}

/** What the table's columns mean. */
export const LEGEND =
  'qini: area between the Qini curve and the random line (x: share targeted, y: incremental conversions per test row); qini norm.: divided by the best ranking of the observed outcomes (scikit-uplift); auuc: the same area for the uplift curve; top k%: conversion rate of the treated minus the control among the top k% by predicted uplift.';

/** The report printed after `audience train uplift`. */
export function formatUpliftReport(r: UpliftReport): string {
  const rows = testRows(r);
  const valid = Object.entries(r.learner.validQini).map(([k, v]) => `${k} ${v.toFixed(5)}`).join(', ');
  const any = Object.values(r.test)[0];
  return [
    `Campaign rows: ${r.split.train} train, ${r.split.valid} validation, ${r.split.test} test (${r.split.treated.test} treated); treated share ${(100 * r.treatedShare).toFixed(1)}%` +
      (r.skipped.outcome || r.skipped.treatment ? `; left out: ${r.skipped.outcome} without a 0/1 outcome, ${r.skipped.treatment} without a known arm` : ''),
    `Learner: ${r.learner.chosen} (${r.learner.rule}; validation Qini: ${valid}); trained in ${r.seconds.toFixed(1)} s`,
    r.arms
      ? `On the test rows (each arm's uplift over the control: ${r.arms.map((a) => `${a} ${signed(r.test[`${r.learner.chosen}, arm ${a}`]?.overall ?? NaN, 4)}`).join(', ')}):`
      : `On the test rows (uplift over everyone: ${signed(any?.overall ?? NaN, 4)}):`,
    table(rows),
    LEGEND,
  ].join('\n');
}

