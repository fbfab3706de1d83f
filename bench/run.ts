/** `npm run bench -- <suite> [options]`: runs a benchmark suite, prints a table, writes bench/results/<suite>.json. */
const SUITES: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  kmeans: () => import('./kmeans.js'),
  propensity: () => import('./propensity.js'),
  quality: () => import('./quality.js'),
  holdout: () => import('./holdout.js'),
  lookalike: () => import('./lookalike.js'),
  gpu: () => import('./gpu.js'),
  service: () => import('./service.js'),
  load: () => import('./load.js'),
  scoring: () => import('./scoring.js'),
  measure: () => import('./measure.js'),
  uplift: () => import('./uplift.js'),
  online: () => import('./online.js'),
};

const [suite, ...args] = process.argv.slice(2);
if (!suite || !SUITES[suite]) {
  process.stderr.write(`usage: npm run bench -- <suite> [options]\nsuites: ${Object.keys(SUITES).join(', ')}\n  kmeans [--sizes=1000000,10000000]\n  propensity [--rows=1000000]\n  quality [--seeds=5]\n  holdout [--seeds=3] | [--train=FILE --test=FILE --label=COL --positive=VALUE]\n  lookalike [--rows=1000000] [--seeds=10000]\n  service [--sizes=1000000,10000000] [--engines=onnx,tfjs] [--workers=0,N|auto]\n  load [--rows=1000000] [--polls=200] [--submissions=50] [--seconds=10]\n  scoring [--engine-rows=500000] [--rows=262144] [--score-rows=1200000]\n  gpu [--rows=10000000] [--mlp-rows=1000000] [--batches=4096,32768] [--hbm-tbps=3.35]\n  measure [--rows=10000000] [--members=3000000] [--reps=3]\n  uplift [--rows=100000] [--seeds=3]\n  online [--seconds=30] [--rate=2000] [--events=1000]\n`);
  process.exit(2);
}
await (await SUITES[suite]()).run(args);
process.exit(0);
