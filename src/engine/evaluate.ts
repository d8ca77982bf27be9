/** The evaluate stage's figures: loss, accuracy, per-class accuracy and the confusion matrix. */
import type { Batcher } from './batches.js';
import type { GradientSource } from './gradients.js';

export interface Evaluation {
  count: number;
  loss: number;
  accuracy: number;
  /** accuracy per true class (null for a class with no examples). */
  perClassAccuracy: (number | null)[];
  /** confusion[true][predicted] */
  confusion: number[][];
}

/** Inference over the whole selection, in its own order, `batchSize` examples at a time. */
export async function evaluate(source: GradientSource, batcher: Batcher, batchSize: number, numClasses: number): Promise<Evaluation> {
  const n = batcher.count;
  const order = new Uint32Array(n).map((_, i) => i);
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let lossSum = 0;
  for (let start = 0; start < n; start += batchSize) {
    const b = batcher.host(order, start, Math.min(batchSize, n - start));
    const p = await source.predict(b, batcher.loss);
    lossSum += p.lossSum;
    for (let j = 0; j < b.size; j++) confusion[b.labels[j]][p.predicted[j]]++;
  }
  const correct = confusion.reduce((s, row, i) => s + row[i], 0);
  const perClassAccuracy = confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? null : row[i] / total;
  });
  return { count: n, loss: n ? lossSum / n : NaN, accuracy: n ? correct / n : NaN, perClassAccuracy, confusion };
}
