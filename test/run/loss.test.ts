// The cross-entropy's value is Keras' clipped one; its gradient through the softmax is p − y,
// also for an example whose true class has a probability below the clip (tfjs' own loss gives 0).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { lossPerExample } from '../../src/engine/loss.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('lossPerExample', () => {
  const logits = tf.tensor2d([[2, 1, 0.5], [30, -5, 0], [0.1, 0.2, 0.3]]);
  const y = tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);

  it("reports Keras' clipped value", () => {
    const p = tf.softmax(logits);
    const ours = lossPerExample(tf, 'categoricalCrossentropy', y, p).arraySync() as number[];
    const keras = tf.metrics.categoricalCrossentropy(y, p).arraySync() as number[];
    ours.forEach((v, i) => expect(v).toBeCloseTo(keras[i], 5));
    const sparse = lossPerExample(tf, 'sparseCategoricalCrossentropy', tf.tensor1d([0, 1, 2]), p).arraySync() as number[];
    expect(sparse).toEqual(ours);
  });

  it('passes p − y back to the logits, even where the true class is below the clip', () => {
    const g = tf.grad((z: tf.Tensor) => tf.sum(lossPerExample(tf, 'categoricalCrossentropy', y, tf.softmax(z))))(logits);
    const expected = tf.sub(tf.softmax(logits), y);
    const diff = tf.max(tf.abs(tf.sub(g, expected))).arraySync() as number;
    expect(diff).toBeLessThan(1e-5);
    // Example 2's true class has p ≈ 6e-16: tfjs' clipped loss would give its logits no gradient.
    const clipped = tf.grad((z: tf.Tensor) => tf.sum(tf.metrics.categoricalCrossentropy(y, tf.softmax(z))))(logits);
    expect((clipped.arraySync() as number[][])[1].every((v) => Math.abs(v) < 1e-6)).toBe(true);
    expect((g.arraySync() as number[][])[1][1]).toBeCloseTo(-1, 5);
  });
});
