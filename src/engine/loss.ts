/** Per-example losses and correct-prediction counts, shared by training and evaluation. */
import type * as tfjs from '@tensorflow/tfjs';
import type { LossName } from '../experiment.js';

type Tf = typeof tfjs;

/**
 * `y` is one-hot [n, k] for categoricalCrossentropy and class indices [n] for the sparse loss;
 * `p` holds probabilities (Keras' default `fromLogits: false`). Returns the loss per example, [n].
 */
export function lossPerExample(tf: Tf, loss: LossName, y: tfjs.Tensor, p: tfjs.Tensor): tfjs.Tensor {
  const target = loss === 'categoricalCrossentropy' ? y : tf.oneHot(tf.cast(y, 'int32'), p.shape[p.shape.length - 1]!);
  return tf.metrics.categoricalCrossentropy(target, p);
}

/** Predicted class per example, as int32 [n]. */
export function predictedClass(tf: Tf, p: tfjs.Tensor): tfjs.Tensor {
  return tf.argMax(p, -1);
}
