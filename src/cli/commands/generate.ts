import { writeFile } from '../../io/writer.js';
import { UserError } from '../../util/errors.js';
import { ARCHETYPES, generateVisitors, VISITOR_COLUMNS } from '../../synthetic/visitors.js';
import { createProgress } from '../../util/progress.js';
import { num, str, type Command } from '../args.js';

export const generate: Command = {
  name: 'generate',
  summary: 'write synthetic visitors with planted segments (Parquet or CSV)',
  usage: `audience generate --visitors 1000000 --out visitors.parquet [--seed 1] [--null-rate 0.02]

Columns: ${VISITOR_COLUMNS.map((c) => c.name).join(', ')}.
Planted segments (true_segment): ${ARCHETYPES.map((a, i) => `${i} ${a.name}`).join(', ')}.
'converted' is a purchase label that depends on behavior; 'email' is a raw address
(untrimmed, mixed case) for activation exports. The output type follows the extension.`,
  options: {
    visitors: { type: 'string', short: 'n' },
    out: { type: 'string', short: 'o' },
    seed: { type: 'string' },
    'null-rate': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  async run(values) {
    const visitors = num(str(values.visitors, '--visitors', 'generate'), '--visitors', { int: true, min: 1, max: 1_000_000_000 })!;
    if (!/\.(parquet|csv)$/i.test(str(values.out, '--out', 'generate'))) throw new UserError(`--out ${String(values.out)}: name a .parquet or .csv file`);
    const out = str(values.out, '--out', 'generate');
    const progress = createProgress('generate  ', { quiet: Boolean(values.quiet) });
    let done = 0;
    const batches = (async function* () {
      for await (const b of generateVisitors({
        visitors,
        seed: num(values.seed, '--seed', { int: true }),
        nullRate: num(values['null-rate'], '--null-rate', { min: 0, max: 1 }),
      })) {
        yield b;
        done += b.rows;
        progress.update(done, visitors);
      }
    })();
    const written = await writeFile(out, VISITOR_COLUMNS, batches);
    progress.done(`-> ${written.path}`);
  },
};
