/** The cross-entropy cnnc trains and evaluates with. */
import type * as tfjs from '@tensorflow/tfjs';
import type { LossName } from '../experiment.js';

type Tf = typeof tfjs;

/** Keras' epsilon: the reported loss of a probability is clipped to [EPS, 1 − EPS]. */
const EPS = 1e-7;
/** Only guards a division by an exactly-zero (underflowed) probability. */
const TINY = 1e-37;

/**
 * Cross-entropy per example, [n], of probabilities `p` (a softmax output, Keras' default
 * `fromLogits: false`) against `y`: one-hot [n, k], or class indices [n] for the sparse loss.
 *
 * The value is Keras' clipped one. The gradient is not the clip's: tfjs-layers' clipped loss
 * gives an example whose true class has p < 1e-7 — the worst-classified ones — no gradient at
 * all, whereas TensorFlow's Keras takes the softmax's logits and gives them the largest. Passing
 * −y/p back through the softmax yields exactly p − y, the logits' gradient.
 */
export function lossPerExample(tf: Tf, loss: LossName, y: tfjs.Tensor, p: tfjs.Tensor): tfjs.Tensor {
  const target = loss === 'categoricalCrossentropy' ? y : tf.oneHot(tf.cast(y, 'int32'), p.shape[p.shape.length - 1]!).toFloat();
  // customGrad's variadic typing cannot express (tensor, tensor, save); the call below is exact.
  const ce = tf.customGrad(((t: tfjs.Tensor, q: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => {
    save([t, q]);
    const value = tf.neg(tf.sum(tf.mul(t, tf.log(tf.clipByValue(q, EPS, 1 - EPS))), -1));
    const gradFunc = (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
      const [ts, qs] = saved;
      const dq = tf.mul(tf.expandDims(dy, -1), tf.neg(tf.div(ts, tf.maximum(qs, TINY))));
      return [tf.zerosLike(ts), dq];
    };
    return { value, gradFunc };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return ce(target, p);
}
