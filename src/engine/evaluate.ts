/** The evaluate stage's figures: loss, accuracy, per-class accuracy and the confusion matrix. */
import type * as tfjs from '@tensorflow/tfjs';
import type { LossName } from '../experiment.js';
import type { Batcher } from './batches.js';
import { lossPerExample } from './loss.js';
import type { Replica } from './replica.js';

type Tf = typeof tfjs;

export interface Evaluation {
  count: number;
  loss: number;
  accuracy: number;
  /** accuracy per true class (null for a class with no examples). */
  perClassAccuracy: (number | null)[];
  /** confusion[true][predicted] */
  confusion: number[][];
}

export function evaluate(tf: Tf, replica: Replica, batcher: Batcher, loss: LossName, batchSize: number, numClasses: number): Evaluation {
  const n = batcher.count;
  const order = new Uint32Array(n).map((_, i) => i);
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let lossSum = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const b = batcher.batch(order, start, size);
    const [l, pred] = tf.tidy(() => {
      const p = replica.predict(b.x);
      return [tf.sum(lossPerExample(tf, loss, b.y, p)).dataSync()[0], tf.argMax(p, -1).dataSync() as Int32Array] as const;
    });
    b.x.dispose();
    b.y.dispose();
    lossSum += l;
    for (let j = 0; j < size; j++) confusion[b.labels[j]][pred[j]]++;
  }
  const correct = confusion.reduce((s, row, i) => s + row[i], 0);
  const perClassAccuracy = confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? null : row[i] / total;
  });
  return { count: n, loss: n ? lossSum / n : NaN, accuracy: n ? correct / n : NaN, perClassAccuracy, confusion };
}
