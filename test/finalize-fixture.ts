/**
 * A deterministic score run's staged output for the finalize tests: three parts of visible
 * columns (text ids with repeats by value, ties in the ranked scores, seeds excluded from a
 * rank, text with quotes and backslashes, emails and phones), the ranked outputs and an
 * audience set that uses every feature (rank shares, buckets, id-list, rule and audience
 * suppression, a cap, holdouts, activation files). `dumpOutput` reads a finished output folder
 * into plain JSON, so two finalize implementations can be compared value for value.
 * The expected output in test/fixtures/finalize/ was made by the JavaScript finalize (rank.ts,
 * rewrite.ts, audiences/build.ts) that the DuckDB finalize replaced.
 */
import fs from 'node:fs';
import path from 'node:path';
import { connect } from '../src/io/duckdb.js';
import type { OutputColumn, OutputData } from '../src/io/writer.js';
import type { RankedOutput, ScoringModel } from '../src/models/model.js';

export const PART_ROWS = [1200, 1000, 800];

export const COLUMNS: OutputColumn[] = [
  { name: 'visitor_id', type: 'VARCHAR' },
  { name: 'p_probability', type: 'FLOAT' },
  { name: 'p_score', type: 'DOUBLE' },
  { name: 'look_similarity', type: 'FLOAT' },
  { name: 'look_is_seed', type: 'INTEGER' },
  { name: 'seg_segment', type: 'INTEGER' },
  { name: 'country', type: 'VARCHAR' },
  { name: 'email', type: 'VARCHAR' },
  { name: 'phone', type: 'VARCHAR' },
];

export const RANKED: RankedOutput[] = [
  { source: 'p_probability', percentile: 'p_percentile', bucket: 'p_bucket' },
  { source: 'look_similarity', percentile: 'look_percentile', rank: 'look_rank', excludeIf: 'look_is_seed' },
];

export const MODELS = [
  { manifest: { name: 'p', kind: 'propensity' } },
  { manifest: { name: 'look', kind: 'lookalike' } },
  { manifest: { name: 'seg', kind: 'kmeans' } },
] as unknown as ScoringModel[];

/**
 * A suppression list: the ids of six rows in the "likely" audience's rule, written the ways
 * other tools write ids ("12.0", " 12 "), and one id that is no visitor.
 */
export const SUPPRESS_IDS = (() => {
  const picked: number[] = [];
  for (let i = 0; picked.length < 6; i++) if (i % 5 === 1 && (i * 37) % 1000 >= 850) picked.push(i + 1);
  return `id\n${picked.map((id, k) => (k % 3 === 0 ? `${id}.0` : k % 3 === 1 ? ` ${id} ` : String(id))).join('\n')}\n99999\n`;
})();

/** The audience definitions (suppress.ids relative to the folder of the definitions file). */
export const AUDIENCES = {
  identifiers: { email: 'email', phone: 'phone', defaultCountryCode: '1' },
  seed: 3,
  audiences: [
    { name: 'top5', rule: 'look.rank <= 5%', holdout: 0.1 },
    { name: 'likely', rule: 'p.bucket = "high" and country != "US"', suppress: { ids: 'customers.csv', audiences: ['top5'] }, holdout: 0.2 },
    { name: 'capped', rule: 'p.probability >= 0.5 or seg.segment in [1, 3]', suppress: { rule: 'country is null' }, cap: { size: 100, by: 'look.similarity' } },
    { name: 'quoted', rule: `country = "O'Brien\\land" and p.score > 20` },
    { name: 'injection', rule: `country = "x' OR 1=1 --" or country = 'US" OR TRUE --' or country = "US\\"` },
  ],
};

const COUNTRIES = ['US', 'DE', "O'Brien\\land", null, 'FR'];

/** The values of rows [start, start + rows) of the fixture. */
export function fixtureRows(start: number, rows: number): Record<string, OutputData> {
  const id: (string | null)[] = [];
  const prob = new Float32Array(rows);
  const score = new Float64Array(rows);
  const sim = new Float32Array(rows);
  const seed = new Int32Array(rows);
  const seg = new Int32Array(rows);
  const country: (string | null)[] = [];
  const email: (string | null)[] = [];
  const phone: (string | null)[] = [];
  for (let k = 0; k < rows; k++) {
    const i = start + k;
    // Ids: "1".."3000"; every 97th row repeats an earlier id by value ("12.0", " 12 "); one missing.
    id.push(i === 1500 ? null : i % 97 === 50 ? (i % 2 ? `${i - 40}.0` : ` ${i - 40} `) : String(i + 1));
    prob[k] = ((i * 37) % 1000) / 1000; // ties: each value on 3 rows
    score[k] = Math.round(prob[k] * 100);
    sim[k] = i % 11 === 0 ? 0.5 : ((i * 53) % 2003) / 2003; // a block of ties at 0.5
    seed[k] = i % 20 === 0 ? 1 : 0;
    seg[k] = i % 4;
    country.push(COUNTRIES[i % 5]);
    email.push(i % 3 === 0 ? null : i % 7 === 0 ? 'not an email' : ` Visitor${i}@Example.com`);
    phone.push(i % 2 === 0 ? `(415) 555-${String(1000 + (i % 9000)).padStart(4, '0')}` : i % 5 === 1 ? '12' : null);
  }
  return { visitor_id: id, p_probability: prob, p_score: score, look_similarity: sim, look_is_seed: seed, seg_segment: seg, country, email, phone };
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return v;
}

/** Every file of an output folder as JSON: Parquet files as rows, CSV files as text, summary.json parsed. */
export async function dumpOutput(dir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const con = await connect();
  try {
    const walk = (d: string): string[] =>
      fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name.startsWith('.') ? [] : walk(path.join(d, e.name))) : [path.join(d, e.name)]));
    for (const file of walk(dir).sort()) {
      const rel = path.relative(dir, file);
      if (rel === 'manifest.json') continue;
      if (file.endsWith('.csv')) out[rel] = fs.readFileSync(file, 'utf8');
      else if (file.endsWith('.json')) out[rel] = JSON.parse(fs.readFileSync(file, 'utf8'));
      else if (file.endsWith('.parquet')) {
        const r = await con.runAndReadAll('SELECT * FROM read_parquet($1)', [file]);
        const names = r.columnNames();
        out[rel] = { columns: names, rows: r.getRows().map((row) => row.map(plain)) };
      }
    }
  } finally {
    con.closeSync();
  }
  return out;
}
