import fs from 'node:fs';
import path from 'node:path';
import { PartWriter } from './src/io/writer.js';
import { readParts } from './src/io/rewrite.js';
import { addPercentiles, buildRanking } from './src/jobs/rank.js';
import { buildAudiences } from './src/audiences/build.js';
import { parseAudiences } from './src/audiences/definition.js';
import { AUDIENCES, COLUMNS, fixtureRows, MODELS, PART_ROWS, RANKED, SUPPRESS_IDS, dumpOutput } from './test/finalize-fixture.js';

const dir = '/tmp/golden';
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir);
fs.writeFileSync(path.join(dir, 'customers.csv'), SUPPRESS_IDS);
const out = path.join(dir, 'scores');
const files = [];
let start = 0;
for (const [i, rows] of PART_ROWS.entries()) {
  const w = new PartWriter(out, `scores-0000${i}`, COLUMNS, Infinity);
  await w.write(rows, fixtureRows(start, rows));
  const [f] = await w.close();
  const target = path.join(out, `scores-0000${i}.parquet`);
  fs.renameSync(f.path, target);
  files.push({ path: target, rows });
  start += rows;
}
const total = start;
const sources = RANKED.flatMap((r) => [r.source, ...(r.excludeIf ? [r.excludeIf] : [])]);
const cols = COLUMNS.filter((c) => sources.includes(c.name));
const values = new Map(RANKED.map((r) => [r.source, new Float32Array(total)]));
const excluded = new Map(RANKED.filter((r) => r.excludeIf).map((r) => [r.excludeIf!, new Uint8Array(total)]));
for await (const { batch, first } of readParts(files, cols)) {
  for (const [name, o] of [...values, ...excluded]) o.set(batch.columns.get(name) as Float64Array, first);
}
const ranks = new Map(RANKED.map((r) => [r.source, buildRanking(values.get(r.source)!, r.excludeIf ? excluded.get(r.excludeIf) : undefined, Boolean(r.rank))]));
const columns = await addPercentiles(out, files, COLUMNS, RANKED, ranks);
const rankCounts = new Map(RANKED.filter((r) => r.rank).map((r) => [r.rank!, ranks.get(r.source)!.sorted.length]));
const set = parseAudiences(AUDIENCES, path.join(dir, 'aud.json'));
const built = await buildAudiences({ dir: out, files, columns, models: MODELS, set, idColumn: 'visitor_id', rows: total, rankCounts });
const dump = await dumpOutput(out);
fs.mkdirSync('test/fixtures/finalize', { recursive: true });
fs.writeFileSync('test/fixtures/finalize/expected.json', JSON.stringify({ columns: built.columns, summaries: built.summaries, overlap: built.overlap, files: dump }));
console.log(JSON.stringify(built.summaries.map((s) => [s.name, s.members, s.holdout, s.removed]), null, 0));
console.log(fs.statSync('test/fixtures/finalize/expected.json').size);
