// Builds every kind with real tfjs-layers and compares what tfjs computes with the static rules:
// the proof that `cnnc check` agrees with the model `cnnc train` will run.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Experiment, LayerSpec } from '../../src/experiment.js';
import { infer } from '../../src/infer.js';
import { ACTIVATIONS } from '../../src/layers/common.js';
import { layerKind } from '../../src/layers/index.js';

type Decl = Record<string, Record<string, unknown>>;

function experiment(input: [number, number, number], decls: Decl[]): Experiment {
  const seen = new Map<string, number>();
  const layers: LayerSpec[] = decls.map((d, index) => {
    const [kind, raw] = Object.entries(d)[0];
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    return { index, kind, name: `${kind}_${seen.get(kind)}`, args: layerKind(kind)!.resolve(raw), path: ['layers', index] };
  });
  const data = { dataset: 'mnist' as const, classes: null, limit: { train: null, test: null } };
  return { name: 't', seed: 7, data, input, layers, shapeFlow: null, stages: [] };
}

function build(exp: Experiment): tf.Sequential {
  const model = tf.sequential();
  for (const spec of exp.layers) {
    const ctx = { name: spec.name, seed: 1000 + spec.index, inputShape: spec.index === 0 ? exp.input : undefined };
    model.add(layerKind(spec.kind)!.build(tf, spec.args, ctx));
  }
  return model;
}

const CONFIGS: [string, [number, number, number], Decl[]][] = [
  ['reference net', [28, 28, 1], [
    { conv2d: { filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { maxPooling2d: {} },
    { conv2d: { filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { maxPooling2d: {} },
    { flatten: {} },
    { dense: { units: 128, activation: 'relu' } },
    { dropout: { rate: 0.5 } },
    { dense: { units: 10, activation: 'softmax' } },
  ]],
  ['odd sizes, strides, same and valid', [7, 9, 3], [
    { conv2d: { filters: 4, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: 'heNormal' } },
    { averagePooling2d: { poolSize: 2, strides: 1, padding: 'same' } },
    { conv2d: { filters: 5, kernelSize: [2, 3], strides: [1, 2], useBias: false, kernelInitializer: 'leCunUniform' } },
    { maxPooling2d: { poolSize: [2, 1], padding: 'same' } },
    { flatten: {} },
    { dense: { units: 3 } },
  ]],
  ['non-square kernel, batch norm, global pooling', [28, 28, 1], [
    { conv2d: { filters: 6, kernelSize: [3, 5], kernelInitializer: 'glorotNormal' } },
    { batchNormalization: { momentum: 0.9 } },
    { activation: { activation: 'relu6' } },
    { averagePooling2d: { poolSize: 3 } },
    { globalAveragePooling2d: {} },
    { batchNormalization: {} },
    { dense: { units: 10, activation: 'softmax', kernelInitializer: 'heUniform' } },
  ]],
  ['dense on rank 3', [6, 5, 4], [
    { dense: { units: 7, activation: 'tanh', biasInitializer: 'ones' } },
    { dropout: { rate: 0.25 } },
    { conv2d: { filters: 2, kernelSize: 1, kernelInitializer: 'leCunNormal' } },
    { flatten: {} },
  ]],
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(CONFIGS)('%s', (_name, input, decls) => {
  it('has the shapes and parameter counts tfjs computes', () => {
    const exp = experiment(input, decls);
    const inf = infer(exp, 'x.yaml', () => ({ line: 1, column: 1 }));
    expect(inf.complete).toBe(true);
    const model = build(exp);
    try {
      expect(model.outputShape).toEqual([null, ...inf.outputShape!]);
      expect(model.countParams()).toBe(inf.totalParams);
      const trainable = model.trainableWeights.reduce((a, w) => a + w.shape.reduce((x, y) => x * (y ?? 1), 1), 0);
      expect(trainable).toBe(inf.trainableParams);
      model.layers.forEach((layer, i) => {
        expect(layer.outputShape, layer.name).toEqual([null, ...inf.layers[i].outputShape]);
        expect(layer.countParams(), layer.name).toBe(inf.layers[i].params);
      });
      const y = tf.tidy(() => (model.predict(tf.zeros([2, ...input])) as tf.Tensor).shape);
      expect(y).toEqual([2, ...inf.outputShape!]);
    } finally {
      model.dispose();
    }
  });

  it('builds the same weights from the same seeds', () => {
    const exp = experiment(input, decls);
    const a = build(exp);
    const b = build(exp);
    try {
      const wa = a.getWeights().map((w) => Array.from(w.dataSync()));
      const wb = b.getWeights().map((w) => Array.from(w.dataSync()));
      expect(wa).toEqual(wb);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});

describe('activations', () => {
  it.each(ACTIVATIONS)('tfjs-layers knows %s', (activation) => {
    const layer = tf.layers.activation({ activation });
    const out = tf.tidy(() => Array.from((layer.apply(tf.tensor2d([[-1, 0, 2]])) as tf.Tensor).dataSync()));
    expect(out.every(Number.isFinite)).toBe(true);
  });
});
