import { sensitiveColumns } from '../../models/params.js';
import { UserError } from '../../util/errors.js';
import { checkNewOutputFile, writeFileWhole } from '../../util/files.js';
import type { Command } from '../args.js';
import { datasetFrom, INPUT_OPTIONS, OVERWRITE_OPTIONS, STORE_OPTIONS, storeFrom } from './common.js';

/** `audience report`: a model version's HTML report (report/report.ts), with fairness measured on given files. */
export const report: Command = {
  name: 'report',
  positionals: 1,
  usage: `audience report NAME[@VERSION] [--out report.html] [--overwrite] [--input FILES --sensitive COL ...]

Writes one self-contained HTML page (no script, no network needed to open it; it prints)
with the charts of the model's kind, from what training measured on held-out rows:
  propensity  ROC and precision-recall curves beside the logistic baseline, lift and
              cumulative gains by decile, calibration, scores by class, the confusion
              matrix at the threshold, feature influence, training curve, data checks
  cltv        value by decile predicted vs actual, cumulative value captured beside the
              baselines, training curve
  kmeans      segment sizes, a heatmap of what sets each segment apart (the data's own
              units), the k sweep (inertia, silhouette), a 2-D map of 1,000 visitors (PCA)
  lookalike   held-out seeds found vs share of the population for the model and its
              baselines, the score of held-out seeds vs the rest
  anomaly     the outlier score's distribution, niche segments and their profiles
Fairness by group: a model trained with --sensitive COL shows its groups on the test rows.
With --input FILES --sensitive COL (repeatable; propensity and cltv), the model also scores
the files and compares the groups of COL there: count, mean score, selection rate at the
threshold (cltv: the top 10%), TPR and FPR when the files have the label column,
calibration, and the disparate-impact ratio with the four-fifths rule flagged.
  --out FILE     default NAME-vVERSION.html in the current folder; a file that exists is
                 refused unless --overwrite (the new page replaces it once written whole)
  --store DIR    model store (default ./models or AUDIENCE_MODEL_STORE)
The service serves the same page at GET /v1/models/NAME/report (and /NAME/VERSION/report).`,
  options: { ...INPUT_OPTIONS, ...STORE_OPTIONS, ...OVERWRITE_OPTIONS, out: { type: 'string', short: 'o' }, sensitive: { type: 'string', multiple: true } },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UserError('audience report: give one model, e.g. audience report propensity@2 --out report.html');
    const store = storeFrom(values);
    const manifest = store.manifest(positionals[0]);
    const sensitive = values.sensitive === undefined ? undefined : sensitiveColumns(values.sensitive);
    if (sensitive && values.input === undefined) throw new UserError('audience report --sensitive: give the data to measure on with --input FILES (a model trained with --sensitive shows its test-split fairness without it)');
    if (values.input !== undefined && !sensitive) throw new UserError('audience report --input: give the columns to compare with --sensitive COL');
    // Without --out the page's name is the model's: the message says it is the default, not a flag the user typed.
    const given = typeof values.out === 'string';
    const out = checkNewOutputFile(given ? '--out' : 'the default --out', given ? String(values.out) : `${manifest.name}-v${manifest.version}.html`, Boolean(values.overwrite), { inExistingFolder: true });
    // Imported here, once the output is known free: --help loads neither the engines nor the charts.
    const [{ loadScoringModel }, { measureFairness }, { renderReport }] = await Promise.all([import('../../models/load.js'), import('../../report/measure.js'), import('../../report/report.js')]);
    let fairness;
    if (sensitive) {
      const data = await datasetFrom(values, 'report');
      const model = await loadScoringModel(store, `${manifest.name}@${manifest.version}`);
      try {
        fairness = await measureFairness(model, data, sensitive);
      } finally {
        model.dispose();
      }
    }
    const html = await renderReport(manifest, { fairness, fairnessSource: values.input ? [values.input].flat().join(', ') : undefined });
    writeFileWhole(out, html);
    if (!values.quiet) process.stdout.write(`Wrote ${out} (${manifest.kind} ${manifest.name}@${manifest.version}, ${(html.length / 1024).toFixed(0)} KiB)\n`);
  },
};
