// The training loop on the cpu reference backend, on a few hundred real MNIST images.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/compile.js';
import { loadMnist } from '../../src/data/mnist.js';
import { selectExamples } from '../../src/data/select.js';
import type { Experiment, TrainSpec } from '../../src/experiment.js';
import { layer } from './helpers.js';
import { Batcher } from '../../src/engine/batches.js';
import { Replica } from '../../src/engine/replica.js';
import { trainStage } from '../../src/engine/trainer.js';
import { evaluate } from '../../src/engine/evaluate.js';
import { LocalGradients } from '../../src/engine/gradients.js';

const data = { dataset: 'mnist' as const, classes: null, limit: { train: 256, test: 128 } };
const tiny: Experiment = {
  name: 'tiny', seed: 7, data, input: [28, 28, 1], shapeFlow: null, stages: [],
  layers: [
    layer(0, 'conv2d', { filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
    layer(1, 'maxPooling2d', { poolSize: 2 }),
    layer(2, 'flatten', {}),
    layer(3, 'dense', { units: 16, activation: 'relu' }),
    layer(4, 'dense', { units: 10, activation: 'softmax' }),
  ],
};
const spec: TrainSpec = {
  epochs: 2, batchSize: 32, loss: 'categoricalCrossentropy', metrics: ['accuracy'], validationSplit: 0,
  optimizer: { name: 'adam', learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
};

async function run(frozen: number[] = [], s: TrainSpec = spec) {
  const model = buildModel(tf, tiny);
  const replica = new Replica(tf, model);
  const weights = replica.readAll();
  const before = weights.map((w) => Float32Array.from(w));
  const split = loadMnist('train');
  const sel = selectExamples(split, { classes: null, limit: 256 }, tiny.seed);
  const out = await trainStage({ tf, replica, spec: s, train: new Batcher(split, sel, s.loss), frozen: new Set(frozen), seed: 1, weights });
  const after = replica.readAll();
  model.dispose();
  return { out, before, after, replica };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('trainStage', () => {
  it('learns: the loss falls from the first epoch to the second', async () => {
    const { out } = await run();
    expect(out.completed).toBe(2);
    expect(out.epochs[1].loss).toBeLessThan(out.epochs[0].loss);
    expect(out.epochs[0].loss).toBeLessThan(2.6);
  });

  it('is deterministic: the same seed gives bit-identical metrics and weights', async () => {
    const a = await run();
    const b = await run();
    expect(b.out.epochs.map((e) => [e.loss, e.accuracy])).toEqual(a.out.epochs.map((e) => [e.loss, e.accuracy]));
    a.after.forEach((w, i) => expect(Buffer.from(b.after[i].buffer).equals(Buffer.from(w.buffer))).toBe(true));
  });

  it('leaves frozen layers bit-identical and trains the rest (fine-tune)', async () => {
    const { before, after, replica } = await run([0, 1, 2, 3]);
    replica.weights.forEach((w, i) => {
      const same = Buffer.from(before[i].buffer).equals(Buffer.from(after[i].buffer));
      expect(same, w.name).toBe(w.layer < 4);
    });
  });

  it('stops on a non-finite loss with the epoch and batch where it happened', async () => {
    const wild: TrainSpec = { ...spec, optimizer: { name: 'sgd', learningRate: 1e35, momentum: 0, nesterov: false } };
    await expect(run([], wild)).rejects.toThrow(/(loss|weights) became (NaN|Infinity|-Infinity) at epoch \d+, batch \d+ \(learning rate 1e\+35\)/);
  });

  it('stops when an Adam update overflows a weight (found by the update itself)', async () => {
    // A first Adam step moves each weight by about the learning rate: past float32's range.
    const wild: TrainSpec = { ...spec, optimizer: { ...spec.optimizer, learningRate: 1e39 } as TrainSpec['optimizer'] };
    await expect(run([], wild)).rejects.toThrow(/weights became (Infinity|-Infinity) at epoch 1, batch 1 \(learning rate 1e\+39\)/);
  });
});

describe('evaluate', () => {
  it('counts a confusion matrix consistent with accuracy and per-class accuracy', async () => {
    const model = buildModel(tf, tiny);
    const replica = new Replica(tf, model);
    const test = loadMnist('test');
    const sel = selectExamples(test, { classes: null, limit: 100 }, 3);
    const ev = await evaluate(new LocalGradients(tf, replica), new Batcher(test, sel, 'categoricalCrossentropy'), 32, 10);
    const total = ev.confusion.flat().reduce((a, b) => a + b, 0);
    expect(total).toBe(100);
    const diag = ev.confusion.reduce((s, row, i) => s + row[i], 0);
    expect(ev.accuracy).toBeCloseTo(diag / 100, 12);
    ev.confusion.forEach((row, c) => {
      const n = row.reduce((a, b) => a + b, 0);
      expect(ev.perClassAccuracy[c]).toBe(n ? row[c] / n : null);
    });
    expect(ev.loss).toBeGreaterThan(0);
  });
});
