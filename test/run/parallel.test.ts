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
import { trainStage, trainStep } from '../../src/engine/trainer.js';
import { evaluate } from '../../src/engine/evaluate.js';
import { type GradientSource, LocalGradients, type StepInput } from '../../src/engine/gradients.js';
import { createOptimizer } from '../../src/engine/optimizers.js';

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

describe('ParallelGradients sharing the Adam update among the threads', () => {
  const adam: TrainSpec = { ...spec, epochs: 2, optimizer: { name: 'adam', learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } };

  /** The same source without train(): gradients from the workers, the update on this thread. */
  const unshared = (g: GradientSource): GradientSource => ({
    workers: g.workers,
    compute: (st) => g.compute(st),
    predict: (b, l) => g.predict(b, l),
    push: (w, which) => g.push(w, which),
    close: () => g.close(),
  });

  /** Two stages (all layers, then the first frozen), each with its own Adam, on 3 threads. */
  async function twoStages(share: boolean) {
    const replica = new Replica(tf, buildModel(tf, exp));
    const weights = replica.readAll();
    const split = loadMnist('train');
    const sel = selectExamples(split, { classes: null, limit: 200 }, exp.seed);
    const par = await ParallelGradients.start(tf, replica, exp, 'cpu', 3);
    const gradients = share ? par : unshared(par);
    try {
      const states = [];
      const losses = [];
      const inShared = [];
      for (const frozen of [new Set<number>(), new Set([0])]) {
        const optimizer = createOptimizer(adam.optimizer, replica.weights.map((w) => w.size));
        const out = await trainStage({ tf, replica, spec: adam, train: new Batcher(split, sel, adam.loss), frozen, seed: 7, weights, gradients, optimizer });
        losses.push(...out.epochs.map((e) => e.loss));
        states.push({ step: optimizer.state.step, slots: optimizer.state.slots.map((ws) => ws.map((a) => Array.from(a))) });
        inShared.push(optimizer.state.slots[0][0].buffer instanceof SharedArrayBuffer);
      }
      return { losses, states, weights: weights.map((w) => Array.from(w)), inShared };
    } finally {
      await par.close();
    }
  }

  it('gives the bits of one thread updating everything, frozen layers untouched', async () => {
    const shared = await twoStages(true);
    const plain = await twoStages(false);
    // The moments lived in the threads' shared memory only when the update was shared.
    expect(shared.inShared).toEqual([true, true]);
    expect(plain.inShared).toEqual([false, false]);
    expect(shared.losses).toEqual(plain.losses);
    expect(shared.states).toEqual(plain.states);
    expect(shared.weights).toEqual(plain.weights);
    // The second stage froze layer 0: its moments stayed zero.
    expect(shared.states[1].slots[0][0].every((v) => v === 0)).toBe(true);
  });

  it('stops when the shared update overflows a weight', async () => {
    const replica = new Replica(tf, buildModel(tf, exp));
    const split = loadMnist('train');
    const sel = selectExamples(split, { classes: null, limit: 200 }, exp.seed);
    const par = await ParallelGradients.start(tf, replica, exp, 'cpu', 2);
    const wild: TrainSpec = { ...adam, optimizer: { ...adam.optimizer, learningRate: 1e39 } as TrainSpec['optimizer'] };
    try {
      await expect(
        trainStage({ tf, replica, spec: wild, train: new Batcher(split, sel, wild.loss), frozen: new Set(), seed: 7, weights: replica.readAll(), gradients: par }),
      ).rejects.toThrow(/weights became (Infinity|-Infinity) at epoch 1, batch 1/);
    } finally {
      await par.close();
    }
  });

  it('drops a step posted early when another call comes instead, and skips a non-finite loss', async () => {
    const split = loadMnist('train');
    const sel = selectExamples(split, { classes: null, limit: 200 }, exp.seed);
    const batcher = new Batcher(split, sel, adam.loss);
    const order = Uint32Array.from({ length: 200 }, (_, i) => (i * 37) % 200);
    const which = [0, 1, 2, 3];
    const step = (start: number): StepInput => ({ batcher, order, start, size: 50, which, dropoutSeed: start + 1 });
    const test = loadMnist('test');
    const evalBatcher = new Batcher(test, selectExamples(test, { classes: null, limit: 60 }, 1), adam.loss);
    const run = async (share: boolean) => {
      const replica = new Replica(tf, buildModel(tf, exp));
      const weights = replica.readAll();
      const par = await ParallelGradients.start(tf, replica, exp, 'cpu', 2);
      const source = share ? par : unshared(par);
      const optimizer = createOptimizer(adam.optimizer, replica.weights.map((w) => w.size));
      try {
        // Step 0 announces step 50 next, but step 100 comes, then an evaluation, then step 50.
        await trainStep(source, optimizer, weights, step(0), step(50));
        await trainStep(source, optimizer, weights, step(100), step(150));
        const ev = await evaluate(source, evalBatcher, 30, 10);
        await trainStep(source, optimizer, weights, step(50));
        // A weight that is not finite makes the loss not finite: nothing may change.
        const before = weights.map((w) => Float32Array.from(w));
        const bad = weights.map((w) => Float32Array.from(w));
        bad[0][0] = NaN;
        source.push(bad, which);
        const r = await trainStep(source, optimizer, bad, step(150), step(0));
        expect(r.applied).toBe(false);
        expect(optimizer.state.step).toBe(3);
        source.push(before, which);
        const after = await trainStep(source, optimizer, before, step(0));
        return { ev: ev.loss, r: after.lossSum, step: optimizer.state.step, weights: before.map((w) => Array.from(w)) };
      } finally {
        await par.close();
      }
    };
    const shared = await run(true);
    const plain = await run(false);
    expect(shared).toEqual(plain);
    expect(shared.step).toBe(4);
  });
});
