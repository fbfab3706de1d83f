/** Test data builders. */
import type { FeatureBlock } from '../src/features/transform.js';
import { Rng } from '../src/util/rng.js';

/** n points around k well-separated centers in d dimensions; returns rows and true labels. */
export function blobs(n: number, k: number, d: number, seed = 1, spread = 0.3, distance = 6) {
  const rng = new Rng(seed);
  const centers = Array.from({ length: k }, () => Array.from({ length: d }, () => (rng.next() * 2 - 1) * distance));
  const data = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(k);
    labels[i] = c;
    for (let j = 0; j < d; j++) data[i * d + j] = centers[c][j] + rng.normal() * spread;
  }
  return { data, labels, centers };
}

/** Splits row-major data into FeatureBlocks of at most `rows` rows. */
export function toBlocks(data: Float32Array, d: number, rows: number): FeatureBlock[] {
  const n = data.length / d;
  const out: FeatureBlock[] = [];
  for (let s = 0; s < n; s += rows) {
    const m = Math.min(rows, n - s);
    const ids = new BigInt64Array(m);
    for (let i = 0; i < m; i++) ids[i] = BigInt(s + i);
    out.push({ ids, rows: m, cols: d, data: data.slice(s * d, (s + m) * d), names: Array.from({ length: d }, (_, j) => `f${j}`), imputed: 0 });
  }
  return out;
}

/**
 * Runs `audience ARGS` in this process (a spawn costs ~2 s of start-up each), its stdout and
 * stderr captured.
 */
export async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { vi } = await import('vitest');
  const { main } = await import('../src/cli/main.js');
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
