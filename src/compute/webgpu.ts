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
  device: { limits: { maxComputeWorkgroupStorageSize: number; maxComputeWorkgroupsPerDimension: number } };
}

export function onWebGPU(): boolean {
  return tf.getBackend() === 'webgpu';
}

function webgpuBackend(): WebGPUBackendLike {
  if (!onWebGPU()) throw new Error('a WGSL program needs the webgpu backend');
  return tf.backend() as unknown as WebGPUBackendLike;
}

/** Workgroup memory one program may use on this device (WebGPU guarantees 16 KiB). */
export function workgroupStorageBytes(): number {
  return webgpuBackend().device.limits.maxComputeWorkgroupStorageSize ?? 16_384;
}

/** Runs a program; the result is a tensor tracked like any other (tidy or dispose it). */
export function runProgram(program: WgslProgram, inputs: tf.Tensor[], dtype: tf.DataType, values?: UniformValue[]): tf.Tensor {
  const info = webgpuBackend().runWebGPUProgram(program, inputs, dtype, values);
  return tf.engine().makeTensorFromTensorInfo(info);
}
