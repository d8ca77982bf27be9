import { beforeAll, describe, expect, it } from 'vitest';
import { randomArray, relDiff, rng, setupBackends, size, tf } from './helpers.js';

/** The reference net: conv32-pool-conv64-pool-dense128-dense10. */
function referenceNet(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

const BATCH = 4;
const LR = 1e-3;

interface StepResult {
  loss: number;
  grads: Float32Array[];
  weights: Float32Array[];
}

async function oneStep(backend: 'cpu' | 'wasm', init: Float32Array[], xs: Float32Array, labels: number[]): Promise<StepResult> {
  await tf.setBackend(backend);
  const model = referenceNet();
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(init[i], w.shape)));
  const x = tf.tensor4d(xs, [BATCH, 28, 28, 1]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat());
  const lossFn = () => tf.mean(tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar;
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const { grads } = tf.variableGrads(lossFn, vars);
  const gradValues = vars.map((v) => grads[v.name].dataSync() as Float32Array);
  tf.dispose(grads);
  const optimizer = tf.train.adam(LR);
  const loss = optimizer.minimize(lossFn, true, vars) as tf.Scalar;
  const result = {
    loss: loss.dataSync()[0],
    grads: gradValues,
    weights: model.getWeights().map((w) => w.dataSync() as Float32Array),
  };
  tf.dispose([loss, x, y]);
  optimizer.dispose();
  model.dispose();
  return result;
}

beforeAll(setupBackends);

describe('one training step of the reference net', () => {
  it('gives the same loss, gradients and Adam-updated weights on wasm as on cpu', async () => {
    await tf.setBackend('cpu');
    const shapes = referenceNet().getWeights().map((w) => w.shape);
    const init = shapes.map((s, i) => {
      const fanIn = s.length > 1 ? size(s.slice(0, -1)) : 1;
      const scale = s.length > 1 ? Math.sqrt(6 / fanIn) : 0.05;
      return randomArray(size(s), 1000 + i, -scale, scale);
    });
    const xs = randomArray(BATCH * 28 * 28, 77, 0, 1);
    const r = rng(5);
    const labels = Array.from({ length: BATCH }, () => Math.floor(r() * 10));

    const ref = await oneStep('cpu', init, xs, labels);
    const got = await oneStep('wasm', init, xs, labels);

    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.loss)));
    for (let i = 0; i < ref.grads.length; i++) {
      expect(relDiff(got.grads[i], ref.grads[i]), `gradient ${i}`).toBeLessThan(1e-4);
    }
    // Adam's first step moves each weight by about LR·sign(g); weights whose
    // gradient is ~0 can legitimately differ by a fraction of LR.
    for (let i = 0; i < ref.weights.length; i++) {
      let worst = 0;
      for (let j = 0; j < ref.weights[i].length; j++) {
        worst = Math.max(worst, Math.abs(got.weights[i][j] - ref.weights[i][j]));
      }
      expect(worst, `weight ${i}`).toBeLessThan(LR * 0.05);
    }
  });
});

describe('training on wasm', () => {
  it('keeps memory flat across steps (batch 8)', async () => {
    await tf.setBackend('wasm');
    const model = referenceNet();
    const optimizer = tf.train.adam(LR);
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 3);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10).toFloat());
    const step = () => {
      const loss = optimizer.minimize(
        () => tf.mean(tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
        true,
      );
      const value = loss!.dataSync()[0];
      loss!.dispose();
      return value;
    };
    const first = step();
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    let last = first;
    for (let i = 0; i < 3; i++) last = step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    expect(Number.isFinite(last)).toBe(true);
    expect(last).toBeLessThan(first); // it learns this one batch
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  });
});

describe('other layer kinds', () => {
  it('strided conv, batch norm, average/global pooling, overlapping max pool: gradients match cpu', async () => {
    const build = () =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
          tf.layers.batchNormalization(),
          tf.layers.averagePooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 6, kernelSize: [2, 3], padding: 'valid', activation: 'elu' }),
          tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }),
          tf.layers.globalAveragePooling2d({}),
          tf.layers.dense({ units: 5, activation: 'tanh' }),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
    const xs = randomArray(4 * 12 * 12 * 3, 91, -1, 1);
    let init: Float32Array[] | undefined;
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const model = build();
      if (init == null) init = model.getWeights().map((w) => w.dataSync() as Float32Array);
      const weights = init;
      model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights[i], w.shape)));
      const x = tf.tensor4d(xs, [4, 12, 12, 3]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3).toFloat());
      const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
        vars,
      );
      const out = { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
      tf.dispose([value, x, y]);
      tf.dispose(grads);
      model.dispose();
      return out;
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5);
    for (let i = 0; i < ref.grads.length; i++) expect(relDiff(got.grads[i], ref.grads[i]), `gradient ${i}`).toBeLessThan(1e-4);
  });
});
