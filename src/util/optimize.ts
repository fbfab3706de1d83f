/** Derivative-free minimization for small models (a handful of parameters). */

/**
 * Maximum-likelihood estimates of positive parameters: maximizes the summed `logLikelihood`
 * over `items` by Nelder-Mead on the parameters' logarithms, from `start` (positive values).
 * @returns the parameters (positive), in the order of `start`.
 */
export function maximumLikelihood<T>(items: T[], logLikelihood: (params: number[], item: T) => number, start: number[]): number[] {
  const negLL = (logs: number[]) => {
    const params = logs.map(Math.exp);
    let ll = 0;
    for (const item of items) ll += logLikelihood(params, item);
    return Number.isFinite(ll) ? -ll : Infinity;
  };
  return nelderMead(negLL, start.map(Math.log), { maxIterations: 4000, tolerance: 1e-12 }).map(Math.exp);
}

/**
 * Nelder-Mead simplex minimization (Nelder and Mead, "A Simplex Method for Function
 * Minimization", The Computer Journal 1965), with the standard coefficients (reflection 1,
 * expansion 2, contraction 0.5, shrink 0.5) and an initial simplex of unit steps.
 * @returns the best point found.
 */
export function nelderMead(f: (x: number[]) => number, start: number[], opts: { maxIterations?: number; tolerance?: number; step?: number } = {}): number[] {
  const n = start.length;
  const step = opts.step ?? 1;
  let simplex = [start, ...start.map((_, i) => start.map((v, j) => (i === j ? v + step : v)))].map((x) => ({ x, y: f(x) }));
  for (let it = 0; it < (opts.maxIterations ?? 2000); it++) {
    simplex.sort((p, q) => p.y - q.y);
    const best = simplex[0];
    const worst = simplex[n];
    if (Math.abs(worst.y - best.y) <= (opts.tolerance ?? 1e-10) * (Math.abs(best.y) + 1e-12)) break;
    const centroid = Array.from({ length: n }, (_, j) => simplex.slice(0, n).reduce((s, p) => s + p.x[j], 0) / n);
    const along = (t: number) => centroid.map((c, j) => c + t * (worst.x[j] - c));
    const reflected = along(-1);
    const yr = f(reflected);
    if (yr < best.y) {
      const expanded = along(-2);
      const ye = f(expanded);
      simplex[n] = ye < yr ? { x: expanded, y: ye } : { x: reflected, y: yr };
    } else if (yr < simplex[n - 1].y) {
      simplex[n] = { x: reflected, y: yr };
    } else {
      const contracted = yr < worst.y ? along(-0.5) : along(0.5);
      const yc = f(contracted);
      if (yc < Math.min(yr, worst.y)) simplex[n] = { x: contracted, y: yc };
      else simplex = simplex.map((p, i) => (i === 0 ? p : { x: p.x.map((v, j) => best.x[j] + 0.5 * (v - best.x[j])), y: NaN })).map((p) => (Number.isNaN(p.y) ? { x: p.x, y: f(p.x) } : p));
    }
  }
  simplex.sort((p, q) => p.y - q.y);
  return simplex[0].x;
}
