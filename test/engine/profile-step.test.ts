import { beforeAll, describe, expect, it } from 'vitest';
import { formatStepProfile, profileTrainingStep } from '../../src/engine/profile-step.js';
import { setupBackends, tf } from './helpers.js';

beforeAll(setupBackends);

describe('profileTrainingStep', () => {
  it('times reference-net steps on wasm and breaks them down by kernel', async () => {
    await tf.setBackend('wasm');
    const tensors = tf.memory().numTensors;
    const p = await profileTrainingStep(tf, { batch: 4, warmup: 1, steps: 2, profiledSteps: 1 });
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
  });
});
