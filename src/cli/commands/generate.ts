import { writeFile } from '../../io/writer.js';
import { UserError } from '../../util/errors.js';
import { checkNewOutputFile } from '../../util/files.js';
import { campaignColumns, generateCampaign } from '../../synthetic/campaign.js';
import { DEFAULT_BTYD, generateEvents } from '../../synthetic/events.js';
import { ARCHETYPES, generateVisitors, VISITOR_COLUMNS } from '../../synthetic/visitors.js';
import { createProgress } from '../../util/progress.js';
import { num, str, type Command } from '../args.js';
import { OVERWRITE_HELP, OVERWRITE_OPTIONS, type Values } from './common.js';

/** `audience generate`: synthetic visitors (planted segments) or purchase events (BG/NBD). */
export const generate: Command = {
  name: 'generate',
  usage: `audience generate --visitors 1000000 --out visitors.parquet [--seed 1] [--null-rate 0.02] [--overwrite]
audience generate --events --customers 20000 [--days 540] [--start 2024-01-01] --out events.csv [--seed 1]
audience generate --campaign --visitors 100000 --out campaign.parquet [--treated-share 0.5] [--arms 2] [--seed 1]

Columns: ${VISITOR_COLUMNS.map((c) => c.name).join(', ')}.
Planted segments (true_segment): ${ARCHETYPES.map((a, i) => `${i} ${a.name}`).join(', ')}.
'converted' is a purchase label that depends on behavior; 'email' is a raw address
(untrimmed, mixed case) for activation exports. The output type follows the extension.
${OVERWRITE_HELP}

--events writes purchase events (customer_id, date, amount, category) from a known
buy-till-you-die process: purchase rates ~ Gamma(r=${DEFAULT_BTYD.r}, alpha=${DEFAULT_BTYD.alpha}) per day,
dropout after each purchase ~ Beta(a=${DEFAULT_BTYD.a}, b=${DEFAULT_BTYD.b}) (BG/NBD, Fader, Hardie and Lee
2005), spend ~ Gamma-Gamma (p=${DEFAULT_BTYD.spendShape}, q=${DEFAULT_BTYD.q}, gamma=${DEFAULT_BTYD.gamma}: about ${Math.round((DEFAULT_BTYD.spendShape * DEFAULT_BTYD.gamma) / (DEFAULT_BTYD.q - 1))} a purchase);
first purchases fall in the first 90 days. Input for 'audience events'.

--campaign writes a randomized campaign over the same visitors: 'treatment' (1 with
probability --treated-share, independently of everything), 'converted' (the campaign's
outcome), 'past_orders' (a pre-campaign count, for CUPED) and 'true_uplift', each visitor's
known effect of the campaign on the probability of converting: bargain hunters who open
emails are persuadables, returning window shoppers and social mobile buyers respond, loyal
buyers are put off a little ("sleeping dogs"), bouncers barely react (src/synthetic/campaign.ts).
Input for 'audience train uplift'; 'true_uplift' is the oracle, never an input. --arms 2
splits the treated between two arms, 'treatment' 1 (the email) and 2 (a discount, which moves
mobile impulse buyers and window shoppers most), with 'true_uplift_1' and 'true_uplift_2' each
arm's effect and 'true_uplift' the larger: for 'train uplift --control 0'.`,
  options: {
    visitors: { type: 'string', short: 'n' },
    out: { type: 'string', short: 'o' },
    seed: { type: 'string' },
    'null-rate': { type: 'string' },
    events: { type: 'boolean' },
    campaign: { type: 'boolean' },
    'treated-share': { type: 'string' },
    arms: { type: 'string' },
    customers: { type: 'string' },
    days: { type: 'string' },
    start: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    ...OVERWRITE_OPTIONS,
  },
  async run(values) {
    if (values.events) return generateEventsCommand(values);
    if (values['treated-share'] !== undefined && !values.campaign) throw new UserError('--treated-share goes with --campaign');
    if (values.arms !== undefined && !values.campaign) throw new UserError('--arms goes with --campaign');
    const visitors = num(str(values.visitors, '--visitors', 'generate'), '--visitors', { int: true, min: 1, max: 1_000_000_000 })!;
    if (!/\.(parquet|csv)$/i.test(str(values.out, '--out', 'generate'))) throw new UserError(`--out ${String(values.out)}: name a .parquet or .csv file`);
    const out = str(values.out, '--out', 'generate');
    checkNewOutputFile('--out', out, Boolean(values.overwrite));
    const progress = createProgress('generate  ', { quiet: Boolean(values.quiet) });
    let done = 0;
    const options = {
      visitors,
      seed: num(values.seed, '--seed', { int: true }),
      nullRate: num(values['null-rate'], '--null-rate', { min: 0, max: 1 }),
      treatedShare: num(values['treated-share'], '--treated-share', { above: 0, max: 0.99 }),
      arms: num(values.arms, '--arms', { int: true, min: 1, max: 2 }),
    };
    const batches = (async function* () {
      for await (const b of values.campaign ? generateCampaign(options) : generateVisitors(options)) {
        yield b;
        done += b.rows;
        progress.update(done, visitors);
      }
    })();
    const written = await writeFile(out, values.campaign ? campaignColumns(options.arms) : VISITOR_COLUMNS, batches); // a failure names --out (FileWriter)
    progress.done(`-> ${written.path}`);
  },
};

/** `generate --events`: synthetic purchase events (see synthetic/events.ts). */
async function generateEventsCommand(values: Values): Promise<void> {
  const out = str(values.out, '--out', 'generate');
  if (!/\.(parquet|csv)$/i.test(out)) throw new UserError(`--out ${out}: name a .parquet or .csv file`);
  checkNewOutputFile('--out', out, Boolean(values.overwrite));
  const start = String(values.start ?? '2024-01-01');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(Date.parse(start))) throw new UserError(`--start ${start}: expected a date as YYYY-MM-DD`);
  const events = generateEvents({
    customers: num(str(values.customers, '--customers', 'generate --events'), '--customers', { int: true, min: 1, max: 10_000_000 })!,
    days: num(values.days ?? '540', '--days', { int: true, min: 1, max: 3650 })!,
    start,
    seed: num(values.seed, '--seed', { int: true }),
  });
  const columns = {
    customer_id: events.map((e) => e.id),
    date: events.map((e) => e.date),
    amount: Float64Array.from(events, (e) => e.amount),
    category: events.map((e) => e.category),
  };
  const written = await writeFile(
    out,
    [
      { name: 'customer_id', type: 'VARCHAR' },
      { name: 'date', type: 'VARCHAR' },
      { name: 'amount', type: 'DOUBLE' },
      { name: 'category', type: 'VARCHAR' },
    ],
    (async function* () {
      yield { rows: events.length, columns };
    })(),
  );
  if (!values.quiet) process.stderr.write(`wrote ${events.length} events -> ${written.path}\n`);
}
