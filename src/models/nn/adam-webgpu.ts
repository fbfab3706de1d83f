/**
 * Adam on the webgpu backend as two WGSL kernels per parameter: one writes the updated
 * parameter, one the updated moments (packed [m; v]). tfjs's Adam issues about 15
 * elementwise dispatches per parameter; at MLP sizes a GPU step costs dispatches, not
 * arithmetic. Same update as tf.train.adam (bias-corrected moments, epsilon outside the root).
 */
import { tf } from '../../compute/backend.js';
import { runProgram, type UniformValue, type WgslProgram } from '../../compute/webgpu.js';

const THREADS = 256;
const UNIFORMS = 'lr : f32, beta1 : f32, beta2 : f32, eps : f32, c1 : f32, c2 : f32, n : i32,';

function program(kind: 'param' | 'moments', n: number): WgslProgram {
  const moments = `
        let g = grad[index];
        let m = uniforms.beta1 * moments[index] + (1.0 - uniforms.beta1) * g;
        let v = uniforms.beta2 * moments[uniforms.n + index] + (1.0 - uniforms.beta2) * g * g;`;
  return {
    shaderKey: `audienceAdam_${kind}`,
    variableNames: kind === 'param' ? ['param', 'grad', 'moments'] : ['grad', 'moments'],
    outputShape: kind === 'param' ? [n] : [2 * n],
    workgroupSize: [THREADS, 1, 1],
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(n / THREADS), 1, 1],
    uniforms: UNIFORMS,
    getUserCode: () => `
      fn main(index : i32) {
        if (index >= uniforms.n) {
          return;
        }${moments}
        ${
          kind === 'param'
            ? 'result[index] = param[index] - uniforms.lr * (m * uniforms.c1) / (sqrt(v * uniforms.c2) + uniforms.eps);'
            : 'result[index] = m;\n        result[uniforms.n + index] = v;'
        }
      }`,
  };
}

/** Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015) as two fused WGSL kernels per parameter on webgpu. */
export class WebGPUAdam {
  /** Per parameter (by variable name): [2, size] = first and second moments. */
  private readonly moments = new Map<string, tf.Tensor>();
  private t = 0;

  constructor(
    private readonly learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {}

  /** One update of each parameter by its gradient (same order). Gradients stay the caller's. */
  apply(params: tf.Variable[], grads: tf.Tensor[]): void {
    this.t++;
    const f = (v: number): UniformValue => ({ type: 'float32', data: [v] });
    const shared = [f(this.learningRate), f(this.beta1), f(this.beta2), f(this.epsilon), f(1 / (1 - this.beta1 ** this.t)), f(1 / (1 - this.beta2 ** this.t))];
    params.forEach((p, i) => {
      const n = p.size;
      const values = [...shared, { type: 'int32', data: [n] } as UniformValue];
      const old = this.moments.get(p.name) ?? tf.zeros([2 * n]);
      const g = grads[i];
      tf.tidy(() => p.assign(runProgram(program('param', n), [p, g, old], 'float32', values).reshape(p.shape)));
      this.moments.set(p.name, runProgram(program('moments', n), [g, old], 'float32', values));
      old.dispose();
    });
  }

  dispose(): void {
    for (const m of this.moments.values()) m.dispose();
    this.moments.clear();
  }
}
