/**
 * Custom WGSL programs on tfjs's webgpu backend, for work that tfjs's generic ops do with
 * far more memory traffic (or with contended atomics) than one fused kernel needs.
 * tfjs prepends its prelude to getUserCode(): the output is `result`, each input is bound
 * under its variable name, `uniforms.<name>Shape` holds the shapes, and the builtins
 * localIndex, workgroupId and numWorkgroups are in scope.
 */
import { tf } from './backend.js';

/** The subset of tfjs-backend-webgpu's WebGPUProgram that our programs fill in. */
export interface WgslProgram {
  /** Identifies the compiled pipeline: must change whenever getUserCode() would. */
  shaderKey: string;
  variableNames: string[];
  outputShape: number[];
  workgroupSize: [number, number, number];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  /** Adds `uniforms.size` (the output's element count). */
  size?: boolean;
  /** Extra uniform fields, e.g. 'lr : f32, n : i32,', filled from runProgram's `values` in order. */
  uniforms?: string;
  getUserCode(): string;
}

/** One uniform field's value: f32 or i32, a scalar each. */
export interface UniformValue {
  type: 'float32' | 'int32';
  data: [number];
}

interface WebGPUBackendLike {
  runWebGPUProgram(program: WgslProgram, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: UniformValue[]): tf.TensorInfo;
  device: { limits: GPUSupportedLimits };
}

/** Whether tfjs runs on the webgpu backend (where the fused WGSL kernels apply). */
export function onWebGPU(): boolean {
  return tf.getBackend() === 'webgpu';
}

/**
 * Whether our WGSL kernels replace tfjs's generic ops: on webgpu, unless
 * AUDIENCE_WEBGPU_FUSED=0 (a fallback for a driver that mis-compiles them, and the
 * GPU suite's baseline). Read at each use, so a process can compare both.
 */
export function fusedKernels(): boolean {
  return onWebGPU() && process.env.AUDIENCE_WEBGPU_FUSED !== '0';
}

function webgpuBackend(): WebGPUBackendLike {
  if (!onWebGPU()) throw new Error('a WGSL program needs the webgpu backend');
  return tf.backend() as unknown as WebGPUBackendLike;
}

/** The limits of the device tfjs opened (buffer sizes, workgroup memory...). */
export function deviceLimits(): GPUSupportedLimits {
  return webgpuBackend().device.limits;
}

/** Runs a program; the result is a tensor tracked like any other (tidy or dispose it). */
export function runProgram(program: WgslProgram, inputs: tf.Tensor[], dtype: tf.DataType, values?: UniformValue[]): tf.Tensor {
  const info = webgpuBackend().runWebGPUProgram(program, inputs, dtype, values);
  return tf.engine().makeTensorFromTensorInfo(info);
}
