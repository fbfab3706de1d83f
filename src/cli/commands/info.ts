import { initBackend } from '../../compute/backend.js';
import type { Command } from '../args.js';
import { allKinds } from '../../models/kinds.js';
import { ONNX_ENGINE, onnxProvider } from '../../models/onnx/session.js';

/** `audience info`: the backend chosen, the device, versions and the backends skipped with why. */
export const info: Command = {
  name: 'info',
  usage: `audience info [--json]

Scoring engine: onnxruntime-node for the kinds with an ONNX graph (this command lists
them; score --engine tfjs runs them on tfjs instead), on its CPU provider, or its
WebGPU provider where the backend below is webgpu (AUDIENCE_ONNX_PROVIDER=cpu|webgpu
forces one); the backend below for training and the other kinds.
Picks the backend as every command does: webgpu (a WebGPU adapter via Dawn), then
tensorflow (@tensorflow/tfjs-node-gpu or -node, if installed with libtensorflow),
then wasm (SIMD, the CPU default), then cpu. AUDIENCE_BACKEND=<name> forces one.`,
  options: { json: { type: 'boolean' } },
  async run(values) {
    const b = await initBackend();
    const scoring = { ...ONNX_ENGINE, provider: onnxProvider(), kinds: allKinds().filter((k) => k.graph).map((k) => k.kind) };
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...b, scoring }, null, 2)}\n`);
      return;
    }
    const lines = [
      `scoring   ${scoring.engine} ${scoring.version} (${scoring.provider} provider) for ${scoring.kinds.join(', ')}; tfjs for the others`,
      `backend   ${b.backend}${b.forced ? ' (forced by AUDIENCE_BACKEND)' : ''}`,
      `device    ${b.device}`,
    ];
    for (const a of b.attempts) if (!a.ok) lines.push(`skipped   ${a.backend}: ${a.reason}`);
    for (const [k, v] of Object.entries(b.versions)) lines.push(`version   ${k} ${v}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
