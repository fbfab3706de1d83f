/**
 * Manifests carry a format version (issue 33): a model's and a score output's manifest.json are
 * written with this version's format; older files (no field) are read as before; a newer one is
 * refused by name, never misread.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runMain } from './helpers.js';
import { readScoreManifest, SCORE_MANIFEST_FORMAT } from '../src/io/score-manifest.js';
import { writeFile } from '../src/io/writer.js';
import { MANIFEST_FORMAT } from '../src/models/manifest.js';
import { ModelStore } from '../src/models/registry.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';

let dir: string;

/** Runs the CLI quietly; its exit code and what it wrote to stderr. */
async function run(args: string[]): Promise<{ code: number; err: string }> {
  const r = await runMain(args);
  return { code: r.code, err: r.stderr };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-format-'));
  await writeFile(path.join(dir, 'v.parquet'), VISITOR_COLUMNS, generateVisitors({ visitors: 2000, batchRows: 1000, seed: 6 }));
  const trained = await run(['train', 'kmeans', '--input', path.join(dir, 'v.parquet'), '--name', 'seg', '--k', '3', '--n-init', '1', '--store', path.join(dir, 'models')]);
  expect(trained.code, trained.err).toBe(0);
  const scored = await run(['score', '--input', path.join(dir, 'v.parquet'), '--model', 'seg', '--out', path.join(dir, 'scores'), '--store', path.join(dir, 'models')]);
  expect(scored.code, scored.err).toBe(0);
});

describe('manifest formats', () => {
  it('a model is saved with the format, read without one, and refused by name when newer', async () => {
    const store = new ModelStore(path.join(dir, 'models'));
    const file = path.join(dir, 'models', 'seg', '1', 'manifest.json');
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(saved.format).toBe(MANIFEST_FORMAT);
    try {
      const { format: _, ...older } = saved;
      fs.writeFileSync(file, JSON.stringify(older));
      expect(store.manifest('seg@1').kind).toBe('kmeans'); // written before formats: read as before
      fs.writeFileSync(file, JSON.stringify({ ...saved, format: MANIFEST_FORMAT + 1 }));
      const refused = await run(['score', '--input', path.join(dir, 'v.parquet'), '--model', 'seg@1', '--out', path.join(dir, 'other'), '--store', path.join(dir, 'models')]);
      expect(refused.code).toBe(2);
      expect(refused.err).toContain(`written by a newer audience-engine (manifest format ${MANIFEST_FORMAT + 1}`);
      expect(fs.existsSync(path.join(dir, 'other', 'manifest.json'))).toBe(false);
    } finally {
      fs.writeFileSync(file, JSON.stringify(saved));
    }
  });

  it('a score output is written with the format; a newer one is refused by its readers', () => {
    const folder = path.join(dir, 'scores');
    const file = path.join(folder, 'manifest.json');
    const written = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(written.format).toBe(SCORE_MANIFEST_FORMAT);
    expect(readScoreManifest<{ rows: number }>(folder).rows).toBe(2000);
    try {
      const { format: _, ...older } = written;
      fs.writeFileSync(file, JSON.stringify(older));
      expect(readScoreManifest<{ rows: number }>(folder).rows).toBe(2000);
      fs.writeFileSync(file, JSON.stringify({ ...written, format: SCORE_MANIFEST_FORMAT + 1 }));
      expect(() => readScoreManifest(folder)).toThrow(/newer audience-engine \(score manifest format 2; this version reads format 1 and older\)/);
      expect(() => readScoreManifest(dir)).toThrow(/no manifest\.json, so not the output of a finished audience score run/);
    } finally {
      fs.writeFileSync(file, JSON.stringify(written));
    }
  });
});
