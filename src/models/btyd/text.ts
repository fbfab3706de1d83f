/** The BG/NBD kind's text report (after training, in `models show`). */
import { table } from '../../render/table.js';
import { fixed } from '../report-text.js';
import type { BgNbdReport } from './train.js';

/** The BG/NBD model's report: its parameters and, with the label, how its value matched what customers spent. */
export function formatBgNbdReport(r: BgNbdReport): string {
  const p = r.params;
  const g = r.spend;
  const out = [
    `BG/NBD r=${p.r.toPrecision(4)} alpha=${p.alpha.toPrecision(4)} a=${p.a.toPrecision(4)} b=${p.b.toPrecision(4)}; Gamma-Gamma p=${g.p.toPrecision(4)} q=${g.q.toPrecision(4)} gamma=${g.gamma.toPrecision(4)} (maximum likelihood on ${r.customers} customers); horizon ${r.horizonDays} days.`,
  ];
  if (r.check) {
    const m = r.check.metrics;
    out.push(
      `Against ${r.check.label} (never read by the fit): MAE ${fixed(m.mae, 2)}, RMSE ${fixed(m.rmse, 2)}, normalized Gini ${fixed(m.normalizedGini, 4)}, Spearman ${fixed(m.spearman, 4)}`,
      table(m.deciles.map((d) => ({ decile: d.decile, customers: d.rows, 'mean predicted': fixed(d.predicted, 2), 'mean actual': fixed(d.actual, 2) }))),
    );
  }
  return out.join('\n');
}
