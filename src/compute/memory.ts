/** Tensor hygiene helpers: long runs must keep tf.memory().numTensors flat. */
import { tf } from './backend.js';
import { deviceLimits, onWebGPU } from './webgpu.js';

/** Disposes every tensor in a list and empties it. */
export function disposeAll(list: Array<{ dispose(): void }>): void {
  for (const t of list) t.dispose();
  list.length = 0;
}

/** Default bytes of feature data kept resident on the backend across iterations. */
export function residentBudgetBytes(): number {
  const fromEnv = Number(process.env.AUDIENCE_RESIDENT_MB);
  if (Number.isFinite(fromEnv) && fromEnv > 0) return fromEnv * 2 ** 20;
  // wasm memory is 32-bit addressed (4 GiB at most), shared with the batch intermediates.
  return (tf.getBackend() === 'wasm' ? 1536 : 4096) * 2 ** 20;
}

/**
 * Floats an intermediate (rows x K distances, rows x seeds similarities) may hold per batch;
 * on webgpu also within maxTensorBytes() (lavapipe binds at most 128 MiB).
 */
export function elementBudget(): number {
  const b = tf.getBackend();
  if (b === 'webgpu') return Math.min(32_000_000, Math.floor(maxTensorBytes() / 4));
  return b === 'tensorflow' ? 16_000_000 : b === 'cpu' ? 4_000_000 : 8_000_000;
}

/** The largest tensor to create in one piece: WebGPU binds each one as a storage buffer. */
export function maxTensorBytes(): number {
  if (onWebGPU()) return Math.floor(0.75 * deviceLimits().maxStorageBufferBindingSize);
  return 512 * 2 ** 20;
}
