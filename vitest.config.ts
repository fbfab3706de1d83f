import fs from 'node:fs';
import os from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Two projects: everything on the default backend (wasm on a CPU machine), then the model
 * tests again on webgpu, when a Vulkan driver is present (Mesa lavapipe on CI, a GPU's
 * driver elsewhere). AUDIENCE_TEST_WEBGPU=1 requires that second run (CI sets it, so a broken
 * GPU path fails the build); =0 skips it.
 */
const ICDS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];
const hasVulkan = ICDS.some((d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => /lvp|nvidia/.test(f)));
const flag = process.env.AUDIENCE_TEST_WEBGPU;
const webgpu = flag === '1' || (flag !== '0' && hasVulkan);
if (!webgpu && flag !== '0') process.stderr.write('note: no Vulkan driver found; the model tests run on the CPU backend only (see docs/testing.md)\n');

const MODEL_TESTS = ['kmeans', 'registry', 'propensity', 'lookalike', 'anomaly', 'cltv', 'device-errors'].map((t) => `test/${t}.test.ts`);

export default defineConfig({
  test: {
    // Temporary folders of the run go under one folder, removed at the end (test/tmp-setup.ts).
    globalSetup: ['./test/tmp-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // Each file gets its own process: tfjs and DuckDB keep process-wide state.
    pool: 'forks',
    // Two files at once even on 2 cores (vitest's default there is one): many tests wait on
    // child processes, Redis and servers, and the run took 9.6 min one file at a time, 7.5 two
    // (2026-11-30). With the fault tests of 2026-12-07 it takes 11.2 min two at a time and
    // 10.8-11.2 three at a time: the run is CPU-bound now, so three buy nothing. Since then
    // the processes the tests start run a build of the sources (test/tmp-setup.ts), not the
    // sources through tsx: a CLI start costs ~1.9 s of CPU instead of ~4.0 s. On 2026-12-07,
    // with other work on the machine (load 4-13), the run took 15.3 min against 16.6 min
    // before; the files that start many CLIs 40-75% less (service-faults 242 -> 59 s).
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'cpu', include: ['test/**/*.test.ts'] } },
      ...(webgpu ? [{ extends: true, test: { name: 'webgpu', include: MODEL_TESTS, env: { AUDIENCE_BACKEND: 'webgpu' } } }] : []),
    ],
  },
});
