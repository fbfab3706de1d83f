/**
 * `audience measure` at volume: `--rows` (10,000,000) outcome rows in Parquet (id, a 0/1
 * outcome, a spend, a pre-period value), one audience of `--members` (3,000,000) member ids
 * (members.parquet) and a 10% holdout (holdout.csv), as a score run writes them. Measured:
 * measureAudiences with CUPED on both outcomes, against the floor of DuckDB reading the same
 * four columns of the outcomes file (sums, nothing else), in the same process. Medians of
 * `--reps` (3) after one warm-up each.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureAudiences } from '../src/audiences/measure.js';
import { connect } from '../src/io/duckdb.js';
import { median, option, report, timeIt } from './common.js';

/** Writes the outcomes and the audience folder with DuckDB (a seeded random()). */
async function makeData(dir: string, rows: number, members: number): Promise<void> {
  const con = await connect();
  await con.run('SELECT setseed(0.34)');
  await con.run(
    `COPY (SELECT i AS visitor_id, (random() < CASE WHEN i < $2 AND i % 10 <> 0 THEN 0.12 ELSE 0.1 END)::INTEGER AS converted, round(random() * 100, 2) AS spend, round(random() * 50, 2) AS pre FROM range($1) t(i)) TO $3 (FORMAT parquet)`,
    [rows, members, path.join(dir, 'outcomes.parquet')],
  );
  fs.mkdirSync(path.join(dir, 'audiences', 'campaign'), { recursive: true });
  // Ids 0..members-1 are the audience; every tenth of them is the holdout.
  await con.run(`COPY (SELECT i AS visitor_id FROM range($1) t(i) WHERE i % 10 <> 0) TO $2 (FORMAT parquet)`, [members, path.join(dir, 'audiences', 'campaign', 'members.parquet')]);
  await con.run(`COPY (SELECT i AS visitor_id FROM range($1) t(i) WHERE i % 10 = 0) TO $2 (FORMAT csv, HEADER true)`, [members, path.join(dir, 'audiences', 'campaign', 'holdout.csv')]);
  con.closeSync();
}

export async function run(args: string[]): Promise<void> {
  const rows = Number(option(args, 'rows') ?? 10_000_000);
  const members = Math.min(rows, Number(option(args, 'members') ?? 3_000_000));
  const reps = Number(option(args, 'reps') ?? 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-measure-'));
  try {
    await makeData(dir, rows, members);
    const file = path.join(dir, 'outcomes.parquet');
    const con = await connect();
    const floor = await timeIt(() => con.runAndReadAll('SELECT sum(visitor_id), sum(converted), sum(spend), sum(pre) FROM read_parquet($1)', [file]), reps);
    con.closeSync();
    let lift = NaN;
    const measure = await timeIt(async () => {
      const r = await measureAudiences({ audiences: path.join(dir, 'audiences'), outcomes: [file], id: 'visitor_id', outcomeColumns: ['converted', 'spend'], pre: 'pre' });
      lift = r.audiences[0].outcomes[0].lift;
    }, reps);
    const [f, m] = [median(floor) / 1000, median(measure) / 1000];
    await report(
      'measure',
      [
        { step: 'DuckDB reads the 4 columns (floor)', rows, 'median s': f.toFixed(3), 'x floor': '1.00' },
        { step: `audience measure (${members.toLocaleString('en-US')} ids, 2 outcomes, CUPED)`, rows, 'median s': m.toFixed(3), 'x floor': (m / f).toFixed(2) },
      ],
      [
        `${reps} runs each after a warm-up, one process, ${os.availableParallelism()} cores; goal: measure within 3x the floor`,
        `members.parquet ${Math.round(members * 0.9).toLocaleString('en-US')} ids, holdout.csv ${Math.round(members * 0.1).toLocaleString('en-US')} ids (DuckDB read_csv); conversion lift measured ${lift.toFixed(4)} (planted 0.02)`,
      ],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
