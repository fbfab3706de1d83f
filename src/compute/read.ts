/**
 * Reading tensors back to the host (the async data(), never a blocking read), with the check that
 * keeps a failed GPU computation from passing as a result: WebGPU reports a kernel it could
 * not run (a buffer over the device's binding limit, a lost device) as an uncaptured error
 * event, not an exception, and the tensor reads back as zeros or stale memory. Every read
 * through readData() throws once the device has reported one.
 */
import type { tf } from './backend.js';
import { registerErrorCode } from '../util/errors.js';

/** A computation the GPU device refused or failed: its results cannot be trusted. */
export class DeviceError extends Error {
  readonly code = 'AE_DEVICE';

  constructor(message: string) {
    super(message);
    this.name = 'DeviceError';
  }
}
registerErrorCode('AE_DEVICE', (m) => new DeviceError(m));

let firstDeviceError: string | undefined;

interface ErrorEventTarget {
  onuncapturederror: ((event: { error?: { message?: string } }) => void) | null;
}

/**
 * Records the first uncaptured error `device` reports (WebGPU's GPUDevice; the backend
 * starter calls this once). Later errors of the same run add nothing new.
 */
export function watchDeviceErrors(device: ErrorEventTarget): void {
  device.onuncapturederror = (event) => {
    firstDeviceError ??= (event.error?.message ?? 'unknown device error').split('\n')[0];
  };
}

/** The first error the GPU device reported in this process, if any. */
export function deviceError(): string | undefined {
  return firstDeviceError;
}

/**
 * `t`'s values on the host (a typed array of its dtype, row-major).
 * @throws DeviceError when the GPU device has reported an error in this process: the
 *   values may be garbage, so no result is built from them.
 */
export async function readData<T extends tf.TypedArray = Float32Array>(t: tf.Tensor): Promise<T> {
  const values = (await t.data()) as T;
  if (firstDeviceError !== undefined) {
    throw new DeviceError(
      `the GPU device (webgpu backend) failed a computation: ${firstDeviceError.replace(/\.$/, '')}. Nothing was saved from it; ` +
        'run again with AUDIENCE_BACKEND=wasm, and report this with the command and the data size',
    );
  }
  return values;
}
