/**
 * The zero-inflated lognormal (ZILN) loss and prediction for customer lifetime value: Wang,
 * Liu and Miao, "A Deep Probabilistic Model for Customer Lifetime Value Prediction" (2019);
 * reference implementation google/lifetime_value (ziln.py). The network has three outputs
 * per customer: the logit of buying at all, and the location and (softplus) scale of the
 * lognormal spend of those who do. Loss = binary cross-entropy of buying + the mean negative
 * lognormal log-density of the positive labels (zero for the others).
 */
import { tf } from '../../compute/backend.js';

/** Smallest lognormal scale (sqrt of float32 epsilon, as in the reference implementation). */
export const MIN_SCALE = Math.sqrt(1.1920929e-7);
const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

/** The scale from its raw output: softplus, floored at MIN_SCALE. */
function scaleOf(raw: tf.Tensor): tf.Tensor {
  return tf.maximum(tf.softplus(raw), MIN_SCALE);
}

/**
 * The mean ZILN loss of a batch: `out` [B, 3] (buy logit, location, raw scale), `y` [B, 1]
 * the labels (>= 0, in money). The caller disposes the result.
 */
export function zilnLoss(out: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [logit, loc, raw] = tf.split(out, 3, 1);
    const positive = tf.cast(tf.greater(y, 0), 'float32');
    // BCE on logits: softplus(z) - y z.
    const classification = tf.mean(tf.sub(tf.softplus(logit), tf.mul(positive, logit)));
    const scale = scaleOf(raw);
    const safe = tf.add(tf.mul(positive, y), tf.sub(1, positive)); // log(1) = 0 where y = 0
    const logY = tf.log(safe);
    const z = tf.div(tf.sub(logY, loc), scale);
    const logProb = tf.neg(tf.add(tf.add(logY, tf.log(scale)), tf.add(HALF_LN_2PI, tf.mul(0.5, tf.square(z)))));
    const regression = tf.neg(tf.mean(tf.mul(positive, logProb)));
    return tf.add(classification, regression) as tf.Scalar;
  });
}

/**
 * Per row of `out` [B, 3] (host copy, row-major): the probability of buying and the expected
 * value, p x exp(loc + scale^2 / 2) (the lognormal mean), at most `cap`. The cap is the
 * largest value the model saw in training: far outside the training rows the network's
 * location and scale extrapolate, and the lognormal mean grows as exp(scale^2) (a linear head
 * predicted 1e19 on synthetic data); a value above any the model ever saw is not a forecast.
 */
export function zilnPredict(out: Float32Array, rows: number, cap = Infinity): { pActive: Float32Array; value: Float32Array } {
  const pActive = new Float32Array(rows);
  const value = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const [logit, loc, raw] = [out[3 * i], out[3 * i + 1], out[3 * i + 2]];
    const p = 1 / (1 + Math.exp(-logit));
    const softplus = raw > 30 ? raw : Math.log1p(Math.exp(raw));
    const scale = Math.max(softplus, MIN_SCALE);
    pActive[i] = p;
    value[i] = Math.min(cap, p * Math.exp(loc + (scale * scale) / 2));
  }
  return { pActive, value };
}
