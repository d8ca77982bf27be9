import { beforeAll, describe, expect, it } from 'vitest';
import { formatStepProfile, profileStep } from '../../src/engine/profile-step.js';
import { setupBackends, tf } from './helpers.js';

beforeAll(setupBackends);

describe('profileStep', () => {
  it('times conv-net training steps on wasm and breaks them down by kernel', async () => {
    await tf.setBackend('wasm');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 5, activation: 'softmax' }),
      ],
    });
    const optimizer = tf.train.sgd(0.01);
    const xs = tf.randomUniform([4, 12, 12, 1], 0, 1, 'float32', 1);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5).toFloat();
    const step = () => {
      const cost = optimizer.minimize(() => tf.mean(tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor)) as tf.Scalar, true);
      cost?.dataSync();
      cost?.dispose();
    };
    step();
    const tensors = tf.memory().numTensors;
    const p = await profileStep(tf, step, 4, { warmup: 1, steps: 2, profiledSteps: 1 });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(p.backend).toBe('wasm');
    expect(p.stepMs).toHaveLength(2);
    expect(p.medianMs).toBeGreaterThan(0);
    expect(p.wasm?.simd).toBe(true);
    const names = new Set(p.kernels.map((k) => k.name));
    for (const name of ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'BatchMatMul']) {
      expect(names.has(name), name).toBe(true);
    }
    expect(formatStepProfile(p)).toContain('Conv2DBackpropFilter');
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
