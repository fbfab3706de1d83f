/**
 * A computation the GPU device refuses is an error, never a result: WebGPU reports it as an
 * event and the tensor reads back as zeros (a lookalike once scored AUC 0.5000 that way).
 * Runs in the webgpu pass; on the CPU backends there is no device to fail.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/compute/backend.js';
import { DeviceError, deviceError, readData } from '../src/compute/read.js';

beforeAll(async () => {
  await initBackend();
});

describe.skipIf(process.env.AUDIENCE_BACKEND !== 'webgpu')('device errors on webgpu', () => {
  it('a read after the device reported an error throws DeviceError naming it', async () => {
    const t = tf.ones([4, 4]);
    expect(Array.from(await readData(t))).toEqual(Array(16).fill(1));
    expect(deviceError()).toBeUndefined();
    // A validation error no device accepts: a buffer with no usage.
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    device.createBuffer({ size: 16, usage: 0 });
    await expect(readData(t)).rejects.toThrow(DeviceError);
    expect(deviceError()).toMatch(/usage/i);
    await expect(readData(t)).rejects.toThrow(/GPU device \(webgpu backend\) failed a computation: .*AUDIENCE_BACKEND=wasm/);
    t.dispose();
  });
});
