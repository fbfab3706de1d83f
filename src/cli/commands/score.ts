import { executorPolicyFromEnv } from '../../execution/policy.js';
import type { ScoringEngine, ScoringModel } from '../../models/model.js';
import { createProgress, fmtCount } from '../../util/progress.js';
import { list, str, type Command } from '../args.js';
import { scoreFlags, scoreFlagsHelp, scoreOptionsFromFlags } from '../../scoring/score-options.js';
import { formatAudiences } from '../../report/text.js';
import { allKinds } from '../../models/kinds.js';
import { UserError } from '../../util/errors.js';
import { refuseHeldOutput } from '../../scoring/output.js';
import { andList } from '../../util/words.js';
import { datasetFrom, INPUT_OPTIONS, STORE_OPTIONS, storeFrom } from './common.js';

/** `audience score`: score files with stored models in shards and build audiences (scoring/score.ts). */
export const score: Command = {
  name: 'score',
  // Each kind's score columns are its descriptor's (models/kinds.ts), read when help is asked for.
  get usage() {
    return `audience score --input <files|globs> --model behavior[@version] [--model ...] --output DIR (or --out DIR)
                [--audiences audiences.json] [options below]

${scoreFlagsHelp()}
(the same options as a service score job's "options": shardRows, maxRejects, ...)

Reads each input once, applies each model's own fitted feature transform, and writes
DIR/scores-00000.parquet... with the id column (or row_id: the 0-based row across the
inputs), the input columns named by --keep (repeatable, or a,b; e.g. the label of a
held-out file, to evaluate against) and per model:
${allKinds().map((k) => `  ${k.kind}: ${k.outputsHelp}`).join('\n')}
--audiences FILE builds audiences from the scores: a membership column aud_<name>
(member / holdout / null) and, per audience, DIR/audiences/<name>/members.parquet,
members.csv, holdout.csv and activation-google.csv / activation-meta.csv (SHA-256 of
emails and phones normalized by each platform's rules; "platforms" in the definitions
chooses them), with DIR/audiences/summary.json. Input columns the rules and exports use are carried into
the score files. Definition format and rule language: docs/audiences.md.
The input is scored in shards of about --shard-rows rows (default 500,000; whole Parquet
row groups), one output file per shard. --max-rejects N tolerates up to N rows whose value
in a number column is text that is not a number (unless the model's feature spec reads such
text as missing: "invalidText": "missing"): they are left out of the scores and listed
in DIR/errors.jsonl (id, file, row, column, value; rows are 1-based data rows); one more
fails the run (default 0). Blanks, NA, N/A and NaN are missing values, not rejects. A run
that fails removes what it wrote.
DIR/manifest.json is written last, so its presence means the output is whole. A DIR that
already holds scores is refused; with --overwrite the new output is built beside the old
one (in DIR/.shards) and replaces it with renames at the end, so a run that fails keeps
the old output whole.
A bare model name uses its promoted version, else the latest.
--engine onnx (default): ${andList(allKinds().filter((k) => k.graph).map((k) => k.kind))} models run as one ONNX
graph each (the fitted transform, the network or centroids, the calibration) on
onnxruntime-node (its CPU provider; its WebGPU provider on a webgpu backend: see audience
info); ${andList(allKinds().filter((k) => !k.graph).map((k) => k.kind))} models, propensity models with
--top-features, and specs with "onInvalid": "error" run on tfjs.
--engine tfjs runs every model on tfjs (the reference). The manifest names each model's engine.
Where the shards run: in this process, or on one worker thread per core from 4 cores up
(on fewer cores from 4,000,000 rows); AUDIENCE_WORKERS=N forces N threads (0: this
process). With REDIS_URL set they run on 'audience worker' hosts (docs/hosts.md).`;
  },
  options: {
    ...INPUT_OPTIONS,
    ...STORE_OPTIONS,
    model: { type: 'string', short: 'm', multiple: true },
    output: { type: 'string', short: 'o' },
    // --out as every other command writing a file or folder names it.
    out: { type: 'string' },
    audiences: { type: 'string' },
    ...scoreFlags(),
  },
  async run(values) {
    // Imported here: --help does not load the engines, the readers and the audiences' parsers.
    const [{ scoreDataset }, { loadScoringModel }, { loadAudiences }] = await Promise.all([import('../../execution/score-dataset.js'), import('../../models/load.js'), import('../../audiences/definition.js')]);
    const options = scoreOptionsFromFlags(values); // checked before any file is opened
    const executor = executorPolicyFromEnv(); // where the shards go: REDIS_URL, AUDIENCE_WORKERS
    const refs = list(values.model);
    if (values.out !== undefined && values.output !== undefined) throw new UserError('audience score: give the output folder once (--output DIR, or --out DIR)');
    const output = str(values.output ?? values.out, '--output', 'score');
    refuseHeldOutput(output, options.overwrite ?? false); // before any input is opened or model loaded
    const audiences = typeof values.audiences === 'string' ? loadAudiences(values.audiences, '--audiences') : undefined;
    const data = await datasetFrom(values, 'score');
    const store = storeFrom(values);
    if (refs.length === 0) str(undefined, '--model', 'score');
    const models: ScoringModel[] = [];
    const topFeatures = options.topFeatures ?? false;
    const engine: ScoringEngine = options.engine ?? 'onnx';
    for (const r of refs) models.push(await loadScoringModel(store, r, { topFeatures, engine }));
    const progress = createProgress('score     ', { quiet: Boolean(values.quiet) });
    try {
      const m = await scoreDataset(data, models, {
        output,
        overwrite: options.overwrite ?? false,
        progress,
        audiences,
        store: store.root,
        topFeatures,
        engine,
        shardRows: options.shardRows,
        maxRejects: options.maxRejects,
        keep: options.keep ?? [],
      }, executor);
      progress.done();
      const summary = [
        `Scored ${m.rows.toLocaleString('en-US')} visitors with ${m.models.map((x) => `${x.name}@${x.version} (${x.engine === 'tfjs' ? `tfjs ${m.backend.name}` : x.engine})`).join(', ')} (${fmtCount(m.rowsPerSecond)} rows/s)`,
        `  ${m.files.length} file(s) in ${output}; columns: ${m.columns.map((c) => c.name).join(', ')}`,
      ];
      if (m.imputed > 0) summary.push(`  ${m.imputed} missing or invalid values were imputed`);
      if (m.duplicateIds > 0) summary.push(`  ${m.duplicateIds} rows repeat the id of an earlier row`);
      if (m.rejected > 0) summary.push(`  ${m.rejected} rows could not be read and were left out: see ${output}/errors.jsonl`);
      if (m.audiences) summary.push('', formatAudiences(m.audiences));
      process.stdout.write(`${summary.join('\n')}\n`);
    } finally {
      for (const model of models) model.dispose();
    }
  },
};
