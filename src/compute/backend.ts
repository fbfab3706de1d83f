/**
 * Picks the tfjs backend once per process: webgpu > tensorflow > wasm > cpu.
 * AUDIENCE_BACKEND=<name> forces one; a forced backend that cannot start is an error,
 * never a silent fallback. Every other module imports tf from here.
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { UserError, errorMessage } from '../util/errors.js';
import { patchWasmMatMul } from './kernels.js';
import { watchDeviceErrors } from './read.js';

export { tf };

export const BACKENDS = ['webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  /** Why it was skipped or failed (absent when chosen). */
  reason?: string;
}

export interface BackendInfo {
  backend: BackendName;
  /** Adapter vendor/device on webgpu, the CPU model otherwise. */
  device: string;
  forced: boolean;
  attempts: BackendAttempt[];
  versions: Record<string, string>;
}

const require = createRequire(import.meta.url);
let current: Promise<BackendInfo> | undefined;

/** Selects (once) and returns the backend. Safe to call from anywhere; later calls reuse the first. */
export function initBackend(requested: string | undefined = process.env.AUDIENCE_BACKEND): Promise<BackendInfo> {
  current ??= select(requested?.trim() || undefined);
  return current;
}

/** The backend chosen by initBackend, which must have been awaited. */
export function backendName(): BackendName {
  return tf.getBackend() as BackendName;
}

async function select(requested: string | undefined): Promise<BackendInfo> {
  // Production mode: no per-op NaN checks, and no console banners from the cpu backend.
  tf.enableProdMode();
  if (requested !== undefined && !(BACKENDS as readonly string[]).includes(requested)) {
    throw new UserError(`AUDIENCE_BACKEND=${requested} is not a backend; choose one of ${BACKENDS.join(', ')}`);
  }
  const order: BackendName[] = requested ? [requested as BackendName] : [...BACKENDS];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    let device: string | undefined;
    try {
      device = await STARTERS[name](Boolean(requested));
    } catch (err) {
      attempts.push({ backend: name, ok: false, reason: errorMessage(err).split('\n')[0] });
      continue;
    }
    attempts.push({ backend: name, ok: true });
    return { backend: name, device, forced: Boolean(requested), attempts, versions: versions() };
  }
  if (requested) {
    throw new UserError(`AUDIENCE_BACKEND=${requested} cannot start: ${attempts[0]?.reason}`);
  }
  throw new Error(`no tfjs backend could start: ${attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ')}`);
}

async function activate(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
  // Smoke test: a backend that registers but cannot compute must not be chosen.
  const probe = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).sum());
  const [v] = await probe.data();
  probe.dispose();
  if (v !== 12) throw new Error(`${name} computed a wrong smoke-test result (${v})`);
}

function cpuModel(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model?.trim() ?? 'unknown CPU'} (${cpus.length} cores)`;
}

/** Software rasterizers expose WebGPU adapters too; on them wasm is much faster. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|cpu/i;

const STARTERS: Record<BackendName, (forced: boolean) => Promise<string>> = {
  async webgpu(forced) {
    const vulkan = findVulkanLoader();
    if (!vulkan) throw new Error('libvulkan.so.1 not found (install the Vulkan loader: apt-get install libvulkan1)');
    if (!forced && process.platform === 'linux' && gpuDevices().length === 0) {
      // Decided before loading Dawn, which prints warnings as soon as it opens a device:
      // without a GPU device node only a software driver (lavapipe) could answer, slower than wasm.
      throw new Error('no GPU device (/dev/nvidia*, /dev/dri/renderD*); a software Vulkan driver would be slower than wasm (AUDIENCE_BACKEND=webgpu uses it anyway)');
    }
    let gpuModule: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    try {
      gpuModule = require('webgpu');
    } catch (err) {
      throw new Error(`the 'webgpu' package (Dawn) is not installed or does not load: ${errorMessage(err)}`);
    }
    // The webgpu backend reads navigator.gpu when its module loads: set it first.
    Object.assign(globalThis, gpuModule.globals);
    const gpu = gpuModule.create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      throw new Error('no WebGPU adapter found (needs libvulkan.so.1 and a Vulkan driver: NVIDIA ICD or Mesa lavapipe)');
    }
    const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
    const label = (info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') : '') || 'WebGPU adapter';
    if (!forced && SOFTWARE_ADAPTER.test(label)) {
      throw new Error(`only a software adapter (${label.slice(0, 60)}): slower than wasm; AUDIENCE_BACKEND=webgpu uses it anyway`);
    }
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    await activate('webgpu');
    watchDeviceErrors((tf.backend() as unknown as { device: Parameters<typeof watchDeviceErrors>[0] }).device);
    return label;
  },
  async tensorflow() {
    const failures: string[] = [];
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        require.resolve(pkg);
      } catch {
        failures.push(`${pkg} not installed`);
        continue;
      }
      try {
        await import(pkg);
        await activate('tensorflow');
        return pkg.endsWith('-gpu') ? 'libtensorflow (CUDA)' : `libtensorflow on ${cpuModel()}`;
      } catch (err) {
        failures.push(`${pkg} does not load (${errorMessage(err).split('\n')[0]})`);
      }
    }
    throw new Error(failures.join('; '));
  },
  async wasm() {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries are read from the package's dist folder.
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dist + path.sep);
    await activate('wasm');
    patchWasmMatMul();
    const simd = tf.env().getAsync ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : false;
    return `${cpuModel()}, ${simd ? 'SIMD' : 'no SIMD'}, 1 thread`;
  },
  async cpu() {
    await activate('cpu');
    return `${cpuModel()}, plain JavaScript`;
  },
};

/** Dawn needs the Vulkan loader on Linux; looking first keeps its native warning out of the logs. */
function findVulkanLoader(): string | undefined {
  if (process.platform !== 'linux') return 'system';
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/lib/x86_64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
    '/usr/local/nvidia/lib64',
  ];
  return dirs.map((d) => path.join(d, 'libvulkan.so.1')).find((f) => fs.existsSync(f));
}

/** GPU device nodes: NVIDIA's, or DRM render nodes (Intel, AMD through Mesa). */
function gpuDevices(): string[] {
  const list = (dir: string, re: RegExp) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => re.test(f)).map((f) => path.join(dir, f)) : []);
  return [...list('/dev', /^nvidia\d+$/), ...list('/dev/dri', /^renderD\d+$/)];
}

function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node, tfjs: tf.version.tfjs };
  for (const pkg of ['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', 'webgpu', '@duckdb/node-api']) {
    try {
      out[pkg] = require(`${pkg}/package.json`).version;
    } catch {
      /* not installed */
    }
  }
  return out;
}
