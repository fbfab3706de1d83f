import { UserError } from '../../util/errors.js';
import { checkNewOutputFile, writeFileWhole } from '../../util/files.js';
import { list, str, type Command } from '../args.js';
import { OVERWRITE_HELP, OVERWRITE_OPTIONS, type Values } from './common.js';

/** The file of output option `flag` when given: checked free (or --overwrite) in an existing folder, resolved. */
function outputOf(values: Values, flag: 'out' | 'report' | 'campaign-data'): string | undefined {
  const file = values[flag];
  return typeof file === 'string' ? checkNewOutputFile(`--${flag}`, file, Boolean(values.overwrite), { inExistingFolder: true }) : undefined;
}

/** `audience measure`: each audience's members against its holdout on an outcomes file (audiences/measure.ts). */
export const measure: Command = {
  name: 'measure',
  usage: `audience measure --audiences OUT/audiences --outcomes outcomes.csv --id COL --outcome COL [--outcome COL ...]
                  [--pre COL] [--missing skip|zero] [--out measure.json] [--report measure.html]
                  [--campaign-data campaign.parquet [--campaign-audience NAME]] [--overwrite]

For each audience folder under --audiences (a score run's audiences/ folder, or any folders
holding members.csv or members.parquet (read when both are there, as a score run writes
them with the same ids) and holdout.csv, each with an id column named as in
the outcomes, or a single column), over the member and holdout ids found in the outcomes
(any input format, one row per id; ids compared by value: 12346 and "12346.0" are one id):
  n and mean of members and holdout, lift = member mean - holdout mean, its 95% interval
  lift +- 1.96 sqrt(s2_m/n_m + s2_h/n_h) (sample variances), relative lift (lift / holdout
  mean), a two-sided p-value (normal), incremental = lift x members, and the minimum
  detectable lift at 80% power (5% two-sided) for a next run of the same sizes.
--pre COL     a pre-campaign covariate: each outcome also CUPED-adjusted, Y - theta (X - mean X)
              with theta = cov(X, Y) / var(X) over members and holdout together (Deng, Xu,
              Kohavi and Walker, WSDM 2013), and the share of variance it removed
--missing     skip (default): ids not in the outcomes, and empty outcome cells, are left
              out and counted; zero: they count as 0 (and a missing --pre value as 0)
--out FILE    the JSON: {"audiences": [{"name", "members", "holdout", "unmatched",
              "outcomes": [{"outcome", "memberMean", "holdoutMean", "lift", "liftLow",
              "liftHigh", "relativeLift", "pValue", "incremental", "minDetectableLift",
              "nMembers", "nHoldout", "missing", "cuped"?, "bySegment"?}], "notMeasurable"?}]}
--report FILE an HTML page with the same tables
--campaign-data FILE  (a score run's folder) the campaign's table for 'audience train
              uplift --treatment treatment --label OUTCOME': the scored inputs' columns for
              the audience's members and holdout, treatment (1 member, 0 holdout) and the
              outcomes; --campaign-audience NAME when several audiences have a holdout
When the folder is a score run's (its manifest.json beside it) and the scores carry a
segment (<model>_segment), each outcome's lift is also given per segment.
Audiences without a holdout are listed as not measurable, with the reason.
${OVERWRITE_HELP}`,
  options: {
    audiences: { type: 'string' },
    outcomes: { type: 'string', multiple: true },
    id: { type: 'string' },
    outcome: { type: 'string', multiple: true },
    pre: { type: 'string' },
    missing: { type: 'string' },
    out: { type: 'string', short: 'o' },
    report: { type: 'string' },
    'campaign-data': { type: 'string' },
    'campaign-audience': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    ...OVERWRITE_OPTIONS,
  },
  async run(values) {
    const outcomeColumns = list(values.outcome);
    if (outcomeColumns.length === 0) throw new UserError('audience measure: --outcome COL is required (repeat it for several outcomes)');
    const outcomes = list(values.outcomes);
    if (outcomes.length === 0) throw new UserError('audience measure: --outcomes FILE is required (Parquet, CSV or Arrow; one row per id)');
    const missing = values.missing ?? 'skip';
    if (missing !== 'skip' && missing !== 'zero') throw new UserError(`--missing ${String(missing)}: expected skip or zero`);
    if (values['campaign-audience'] !== undefined && values['campaign-data'] === undefined) throw new UserError('--campaign-audience goes with --campaign-data');
    const [out, reportFile, campaignFile] = [outputOf(values, 'out'), outputOf(values, 'report'), outputOf(values, 'campaign-data')];
    // One file each: the second write would replace the first.
    const named = [['--out', out], ['--report', reportFile], ['--campaign-data', campaignFile]].filter((x): x is [string, string] => typeof x[1] === 'string');
    for (const [i, [flag, file]] of named.entries()) {
      const same = named.slice(i + 1).find(([, other]) => other === file); // both resolved by outputOf
      if (same) throw new UserError(`${flag} and ${same[0]} name the same file (${file}); give each its own`);
    }
    // Imported here, once the outputs are known free: --help loads neither DuckDB nor the charts.
    const [{ measureAudiences }, { measurePage, measureText }] = await Promise.all([import('../../audiences/measure.js'), import('../../report/lift.js')]);
    const result = await measureAudiences({
      audiences: str(values.audiences, '--audiences', 'measure'),
      outcomes,
      id: str(values.id, '--id', 'measure'),
      outcomeColumns,
      pre: typeof values.pre === 'string' ? values.pre : undefined,
      missing,
      ...(campaignFile && { campaignData: { file: campaignFile, audience: typeof values['campaign-audience'] === 'string' ? values['campaign-audience'] : undefined } }),
    });
    if (out) writeFileWhole(out, `${JSON.stringify(result, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    if (reportFile) writeFileWhole(reportFile, measurePage(result, outcomes.join(', ')));
    if (!values.quiet) {
      process.stdout.write(`${measureText(result)}\n`);
      for (const [what, f] of [['JSON', out], ['report', reportFile], ['campaign data', values['campaign-data']]] as const) if (typeof f === 'string') process.stdout.write(`Wrote ${what} ${f}\n`);
    }
  },
};
