import { UserError } from '../../util/errors.js';
import { inferSpec } from '../../features/infer.js';
import { list, type Command } from '../args.js';
import { checkNewOutputFile, writeFileWhole } from '../../util/files.js';
import { datasetFrom, OVERWRITE_HELP, OVERWRITE_OPTIONS } from './common.js';

/** `audience features`: infer a feature spec from a file and write it for editing. */
export const features: Command = {
  name: 'features',
  usage: `audience features --input visitors.parquet [--id visitor_id] [--exclude converted,true_segment] [--out features.json]
                  [--overwrite]

Reads the schema and the first 50,000 rows and decides, per column: id, numeric (log
scale for non-negative long-tailed columns), categorical (top 20 values + "(other)"),
boolean, or skipped, saying why. Prints the spec (JSON) on stdout, or writes it to --out.

Spec format: {"id": "visitor_id",
              "numeric": ["sessions", {"name": "avg_session_seconds", "log": true, "impute": "mean"}],
              "categorical": [{"name": "device", "top": 10}],
              "boolean": ["has_account"],
              "onInvalid": "impute"}
impute: "mean" (default), "zero" or a number. "invalidText": "missing" on a numeric entry
reads text that is no number ("unknown") as missing; by default such text stops the read
at its row. Numbers written as text ("2,485", "66.82%", "$1,362.50", "(45.00)"; in ";"
files "1.075,50") are numbers; blanks, NA, N/A and NaN are missing.
onInvalid: "impute" (default) fills null,
NaN, Inf and negative-under-log values; "error" stops at the first with file, column, row.
${OVERWRITE_HELP}`,
  options: { input: { type: 'string', short: 'i', multiple: true }, id: { type: 'string' }, exclude: { type: 'string', multiple: true }, out: { type: 'string', short: 'o' }, ...OVERWRITE_OPTIONS },
  async run(values) {
    const out = typeof values.out === 'string' ? checkNewOutputFile('--out', values.out, Boolean(values.overwrite)) : undefined;
    if (values.overwrite && !out) throw new UserError('--overwrite goes with --out');
    const data = await datasetFrom(values, 'features');
    const { spec, notes } = await inferSpec(data, { id: values.id as string | undefined, exclude: list(values.exclude) });
    for (const n of notes) process.stderr.write(`  ${n}\n`);
    const json = `${JSON.stringify(spec, null, 2)}\n`;
    if (out) {
      writeFileWhole(out, json);
      process.stderr.write(`wrote ${values.out}\n`);
    } else process.stdout.write(json);
  },
};
