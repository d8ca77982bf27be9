// Data-parallel gradients over worker threads agree with single-thread ones and are reproducible.
// The worker runs from dist/ (npm test builds it first).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/compile.js';
import { loadMnist } from '../../src/data/mnist.js';
import { selectExamples } from '../../src/data/select.js';
import type { Experiment, TrainSpec } from '../../src/experiment.js';
import { layer } from './helpers.js';
import { Batcher } from '../../src/engine/batches.js';
import { ParallelGradients } from '../../src/engine/parallel.js';
import { Replica } from '../../src/engine/replica.js';
import { trainStage } from '../../src/engine/trainer.js';
import { evaluate } from '../../src/engine/evaluate.js';
import { LocalGradients } from '../../src/engine/gradients.js';

const exp: Experiment = {
  name: 'par', seed: 11, input: [28, 28, 1], shapeFlow: null, stages: [],
  data: { dataset: 'mnist', classes: null, limit: { train: 200, test: null } },
  layers: [
    layer(0, 'conv2d', { filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
    layer(1, 'flatten', {}),
    layer(2, 'dropout', { rate: 0.1 }),
    layer(3, 'dense', { units: 10, activation: 'softmax' }),
  ],
};
const spec: TrainSpec = {
  epochs: 1, batchSize: 50, loss: 'categoricalCrossentropy', metrics: ['accuracy'], validationSplit: 0,
  optimizer: { name: 'sgd', learningRate: 0.1, momentum: 0.9, nesterov: false },
};

async function train(workers: number) {
  const replica = new Replica(tf, buildModel(tf, exp));
  const weights = replica.readAll();
  const split = loadMnist('train');
  const sel = selectExamples(split, { classes: null, limit: 200 }, exp.seed);
  const gradients = workers > 1 ? await ParallelGradients.start(tf, replica, exp, 'cpu', workers) : undefined;
  try {
    const out = await trainStage({ tf, replica, spec, train: new Batcher(split, sel, spec.loss), frozen: new Set(), seed: 5, weights, gradients });
    return { loss: out.epochs[0].loss, weights };
  } finally {
    await gradients?.close();
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('ParallelGradients', () => {
  it('two workers are reproducible bit for bit', async () => {
    const a = await train(2);
    const b = await train(2);
    expect(b.loss).toBe(a.loss);
    a.weights.forEach((w, i) => expect(Array.from(b.weights[i])).toEqual(Array.from(w)));
  });

  it('predicts exactly what one thread predicts, batch norm statistics included', async () => {
    const bn: Experiment = { ...exp, layers: [exp.layers[0], layer(1, 'batchNormalization', {}), layer(2, 'flatten', {}), layer(3, 'dense', { units: 10, activation: 'softmax' })] };
    const replica = new Replica(tf, buildModel(tf, bn));
    // Move the moving statistics away from their initial values, as training would.
    replica.weights.forEach((w, i) => {
      if (!w.trainable) replica.write(i, Float32Array.from({ length: w.size }, (_, k) => 0.5 + (k % 7) / 10));
    });
    const test = loadMnist('test');
    const batcher = new Batcher(test, selectExamples(test, { classes: null, limit: 101 }, 1), 'categoricalCrossentropy');
    const one = await evaluate(new LocalGradients(tf, replica), batcher, 50, 10);
    const par = await ParallelGradients.start(tf, replica, bn, 'cpu', 2);
    try {
      const two = await evaluate(par, batcher, 50, 10);
      expect(two.confusion).toEqual(one.confusion);
      expect(two.loss).toBeCloseTo(one.loss, 5);
    } finally {
      await par.close();
    }
  });

  it('computes the same training as one thread, up to summation order', async () => {
    // Without dropout the two are the same function of the data; dropout masks differ per share.
    const saved = exp.layers[2];
    exp.layers[2] = layer(2, 'dropout', { rate: 0 });
    try {
      const one = await train(1);
      const two = await train(2);
      expect(two.loss).toBeCloseTo(one.loss, 4);
      one.weights.forEach((w, i) => {
        let max = 0;
        for (let k = 0; k < w.length; k++) max = Math.max(max, Math.abs(w[k] - two.weights[i][k]));
        expect(max).toBeLessThan(1e-4);
      });
    } finally {
      exp.layers[2] = saved;
    }
  });
});
