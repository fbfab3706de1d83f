/**
 * Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015) on host
 * arrays, in place: the update tf.train.adam makes (bias-corrected moments, epsilon 1e-7
 * outside the root), for the native training step (nn/native.ts), whose gradients come back
 * from onnxruntime as Float32Arrays.
 */
export class HostAdam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;

  /** Moments for parameters of the given sizes (values each). */
  constructor(
    sizes: number[],
    private readonly learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    this.m = sizes.map((n) => new Float32Array(n));
    this.v = sizes.map((n) => new Float32Array(n));
  }

  /** One update of each parameter by its gradient (same order and sizes as constructed). */
  apply(params: Float32Array[], grads: ArrayLike<number>[]): void {
    this.t++;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const c1 = 1 / (1 - b1 ** this.t);
    const c2 = 1 / (1 - b2 ** this.t);
    const lr = this.learningRate;
    params.forEach((p, i) => {
      const g = grads[i];
      const m = this.m[i];
      const v = this.v[i];
      for (let j = 0; j < p.length; j++) {
        const gj = g[j];
        const mj = (m[j] = b1 * m[j] + (1 - b1) * gj);
        const vj = (v[j] = b2 * v[j] + (1 - b2) * gj * gj);
        p[j] -= (lr * (mj * c1)) / (Math.sqrt(vj * c2) + eps);
      }
    });
  }
}
