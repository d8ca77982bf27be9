import { describe, expect, it } from 'vitest';
import { type Diagnostic, type Locate, type PathSegment, formatPath } from '../src/diagnostics.js';
import type { DataSelection, Experiment, LayerSpec, Stage } from '../src/experiment.js';
import {
  MAX_ACTIVATION_BYTES_PER_EXAMPLE, MAX_BATCH_ACTIVATION_BYTES, MAX_PARAMS, bytes, count, infer, overLimit, ranges,
} from '../src/infer.js';

type Decl = Record<string, Record<string, unknown>>;

const MNIST: DataSelection = { dataset: 'mnist', classes: null, limit: { train: null, test: null } };

function train(index: number, over: Partial<Extract<Stage, { kind: 'train' }>> = {}): Stage {
  return {
    kind: 'train',
    data: MNIST,
    path: ['stages', index],
    epochs: 1,
    batchSize: 32,
    optimizer: { name: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    validationSplit: 0,
    ...over,
  };
}

function finetune(index: number, freeze: number[], over: Partial<Extract<Stage, { kind: 'finetune' }>> = {}): Stage {
  return { ...(train(index) as Extract<Stage, { kind: 'train' }>), kind: 'finetune', freeze, ...over };
}

/** Args are passed unresolved: infer resolves them again, as the kinds' resolve is idempotent. */
function experiment(decls: Decl[], over: Partial<Experiment> = {}): Experiment {
  const seen = new Map<string, number>();
  const layers: LayerSpec[] = decls.map((d, index) => {
    const [kind, args] = Object.entries(d)[0];
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    return { index, kind, name: `${kind}_${seen.get(kind)}`, args, path: ['layers', index] };
  });
  return { name: 't', seed: 1, data: MNIST, input: [28, 28, 1], layers, shapeFlow: null, stages: [train(0)], ...over };
}

/** Lines by path for the nodes the document holds; others fall back to their nearest ancestor. */
function locator(exp: Experiment): Locate {
  const lines = new Map<string, number>();
  const add = (p: PathSegment[]) => lines.set(formatPath(p), lines.size + 1);
  add(['input']);
  add(['shapeFlow']);
  add(['layers']);
  for (const l of exp.layers) {
    add(l.path);
    add([...l.path, l.kind]);
    for (const k of Object.keys(l.args)) add([...l.path, l.kind, k]);
  }
  add(['stages']);
  for (const s of exp.stages) {
    add(s.path);
    add([...s.path, s.kind]);
    add([...s.path, s.kind, 'batchSize']);
  }
  return (path) => {
    for (let n = path.length; n > 0; n--) {
      const line = lines.get(formatPath(path.slice(0, n)));
      if (line) return { line, column: 3 };
    }
    return { line: 0, column: 0 };
  };
}

function run(exp: Experiment) {
  return infer(exp, 'exp.yaml', locator(exp));
}

function only(ds: Diagnostic[], severity: 'error' | 'warning'): Diagnostic {
  const hits = ds.filter((d) => d.severity === severity);
  expect(hits, JSON.stringify(ds, null, 2)).toHaveLength(1);
  return hits[0];
}

const conv = (filters: number, padding = 'same') => ({ conv2d: { filters, kernelSize: 3, padding, activation: 'relu' } });
const pool = { maxPooling2d: {} };
const REFERENCE: Decl[] = [
  conv(32),
  pool,
  conv(64),
  pool,
  { flatten: {} },
  { dense: { units: 128, activation: 'relu' } },
  { dropout: { rate: 0.5 } },
  { dense: { units: 10, activation: 'softmax' } },
];
const VALID: Decl[] = [conv(32, 'valid'), pool, conv(64, 'valid'), pool, { flatten: {} }, ...REFERENCE.slice(5)];

describe('shape inference', () => {
  it('infers the reference net: 28 → 28 → 14 → 14 → 7, 421,642 parameters', () => {
    const inf = run(experiment(REFERENCE, { shapeFlow: [28, 28, 14, 14, 7] }));
    expect(inf.diagnostics).toEqual([]);
    expect(inf.complete).toBe(true);
    expect(inf.layers.map((l) => l.outputShape)).toEqual([
      [28, 28, 32], [14, 14, 32], [14, 14, 64], [7, 7, 64], [3136], [128], [128], [10],
    ]);
    expect(inf.layers.map((l) => l.params)).toEqual([320, 0, 18_496, 0, 0, 401_536, 0, 1_290]);
    expect(inf.layers[2].inputShape).toEqual([14, 14, 32]);
    expect(inf.layers.map((l) => l.name)).toEqual([
      'conv2d_1', 'maxPooling2d_1', 'conv2d_2', 'maxPooling2d_2', 'flatten_1', 'dense_1', 'dropout_1', 'dense_2',
    ]);
    expect(inf.totalParams).toBe(421_642);
    expect(inf.trainableParams).toBe(421_642);
    expect(inf.nonTrainableParams).toBe(0);
    expect(inf.shapeFlow).toEqual([28, 28, 14, 14, 7]);
    expect(inf.spatialFlow).toEqual([[28, 28], [28, 28], [14, 14], [14, 14], [7, 7]]);
    expect(inf.inputShape).toEqual([28, 28, 1]);
    expect(inf.outputShape).toEqual([10]);
    // conv2d_1: 3·3·1 multiply-adds per output element, plus bias and relu.
    expect(inf.layers[0].flops).toBe(28 * 28 * 32 * (2 * 9 + 2));
    expect(inf.layers[5].flops).toBe(128 * (2 * 3136 + 2));
    expect(inf.totalFlops).toBe(inf.layers.reduce((a, l) => a + l.flops, 0));
    expect(inf.layers[0].activationBytes).toBe(4 * 28 * 28 * 32);
    const elements = 28 * 28 * 32 + 14 * 14 * 32 + 14 * 14 * 64 + 7 * 7 * 64 + 3136 + 128 + 128 + 10;
    expect(inf.activationBytes).toBe(4 * elements);
  });

  it('infers the valid-padding net: 28 → 26 → 13 → 11 → 5, 225,034 parameters', () => {
    const inf = run(experiment(VALID, { shapeFlow: [28, 26, 13, 11, 5] }));
    expect(inf.diagnostics).toEqual([]);
    expect(inf.shapeFlow).toEqual([28, 26, 13, 11, 5]);
    expect(inf.layers[4].outputShape).toEqual([1600]);
    expect(inf.layers[5].params).toBe(204_928);
    expect(inf.totalParams).toBe(225_034);
  });

  it('tracks non-square sizes in spatialFlow and heights in shapeFlow', () => {
    const inf = run(experiment([
      { conv2d: { filters: 8, kernelSize: [3, 5] } },
      { averagePooling2d: { poolSize: 2, strides: 2, padding: 'same' } },
      { conv2d: { filters: 8, kernelSize: 3, strides: 2, padding: 'same' } },
      { globalAveragePooling2d: {} },
      { dense: { units: 10, activation: 'softmax' } },
    ]));
    expect(inf.diagnostics).toEqual([]);
    expect(inf.spatialFlow).toEqual([[28, 28], [26, 24], [13, 12], [7, 6]]);
    expect(inf.shapeFlow).toEqual([28, 26, 13, 7]);
    expect(inf.layers[3].outputShape).toEqual([8]);
  });

  it('counts batch norm as 4 per channel, 2 trainable', () => {
    const inf = run(experiment([
      { conv2d: { filters: 16, kernelSize: 3 } },
      { batchNormalization: {} },
      { activation: { activation: 'relu' } },
      { flatten: {} },
      { dense: { units: 10, activation: 'softmax' } },
    ]));
    expect(inf.diagnostics).toEqual([]);
    expect(inf.layers[1].params).toBe(64);
    expect(inf.layers[1].trainableParams).toBe(32);
    expect(inf.nonTrainableParams).toBe(32);
    expect(inf.totalParams).toBe(160 + 64 + 26 * 26 * 16 * 10 + 10);
  });

  it('applies dense to the last axis of a rank-3 input', () => {
    const inf = run(experiment([{ conv2d: { filters: 32, kernelSize: 3, strides: 2, padding: 'same' } }, { dense: { units: 16 } }, { flatten: {} }, { dense: { units: 10, activation: 'softmax' } }]));
    expect(inf.layers[1].outputShape).toEqual([14, 14, 16]);
    expect(inf.layers[1].params).toBe(32 * 16 + 16);
    expect(inf.diagnostics).toEqual([]);
  });
});

describe('shape faults', () => {
  it('points at poolSize when pooling reduces 1×1 to 0×0, and stops there', () => {
    const exp = experiment([
      { conv2d: { filters: 4, kernelSize: 3, strides: 3 } }, // 28 → 9
      pool, // 4
      pool, // 2
      pool, // 1
      pool, // 0
      { flatten: {} },
      { dense: { units: 10, activation: 'softmax' } },
    ]);
    const inf = run(exp);
    const d = only(inf.diagnostics, 'error');
    expect(d.path).toBe('layers[4].maxPooling2d.poolSize');
    expect(d.message).toContain("maxPooling2d 'maxPooling2d_4' reduces 1×1 to 0×0");
    expect(d.hint).toBe('use padding: same or a smaller poolSize');
    expect(d.file).toBe('exp.yaml');
    expect(d.line).toBeGreaterThan(0);
    expect(inf.complete).toBe(false);
    expect(inf.outputShape).toBeNull();
    expect(inf.layers).toHaveLength(4);
    expect(inf.shapeFlow).toEqual([28, 9, 4, 2, 1]);
  });

  it('points at kernelSize when the kernel is larger than its input', () => {
    const d = only(run(experiment([{ conv2d: { filters: 4, kernelSize: [30, 3] } }, { flatten: {} }])).diagnostics, 'error');
    expect(d.path).toBe('layers[0].conv2d.kernelSize');
    expect(d.message).toContain("conv2d 'conv2d_1' reduces 28×28 to 0×26");
    expect(d.hint).toContain('padding: same');
  });

  it('refuses a convolution after flatten at the layer', () => {
    const d = only(run(experiment([{ flatten: {} }, conv(8), { dense: { units: 10 } }])).diagnostics, 'error');
    expect(d.path).toBe('layers[1].conv2d');
    expect(d.message).toBe("conv2d 'conv2d_1' needs a [height, width, channels] input, got [784]");
    expect(d.hint).toContain('flatten');
  });

  it('refuses an unknown kind', () => {
    const d = only(run(experiment([{ conv3d: {} }])).diagnostics, 'error');
    expect(d.path).toBe('layers[0].conv3d');
    expect(d.message).toContain("unknown layer kind 'conv3d'");
  });
});

describe('semantic errors', () => {
  it('needs a flat output: [14, 14, 10] is not [10]', () => {
    const inf = run(experiment([conv(32), pool, { dense: { units: 10, activation: 'softmax' } }]));
    const d = only(inf.diagnostics, 'error');
    expect(d.path).toBe('layers[2].dense');
    expect(d.message).toBe("the model's output is [14, 14, 10] but classification needs [10]");
    expect(d.hint).toBe('add flatten: {} (or globalAveragePooling2d: {}) before the dense head');
  });

  it('needs as many outputs as classes, at the last dense units', () => {
    const wrong = [...REFERENCE.slice(0, -1), { dense: { units: 5, activation: 'softmax' } }];
    const d = only(run(experiment(wrong)).diagnostics, 'error');
    expect(d.path).toBe('layers[7].dense.units');
    expect(d.message).toContain('outputs 5 values');
    expect(d.message).toContain('10 classes');
    expect(d.hint).toContain('units: 10');
  });

  it('counts data.classes, and looks through trailing dropout and activation', () => {
    const decls = [...REFERENCE.slice(0, -1), { dense: { units: 10 } }, { activation: { activation: 'softmax' } }];
    const data = { ...MNIST, classes: [0, 1, 2] };
    const exp = experiment(decls, { data, stages: [train(0, { data })] });
    const d = only(run(exp).diagnostics, 'error');
    expect(d.path).toBe('layers[7].dense.units');
    expect(d.message).toContain('data.classes selects 3');
    expect(d.message).toContain('outputs 10');
  });

  it("checks each stage's own classes, at the stage's data.classes", () => {
    const data = { ...MNIST, classes: [3, 5] };
    const exp = experiment(REFERENCE, { stages: [train(0), finetune(1, [0], { data })] });
    const d = only(run(exp).diagnostics, 'error');
    expect(d.path).toBe('stages[1].finetune.data.classes');
    expect(d.message).toContain('2 classes');
    expect(d.message).toContain('outputs 10');
    // The document has no data mapping under the stage: the line falls back to the stage's key.
    expect(d.line).toBe(locator(exp)(['stages', 1, 'finetune']).line);
  });

  it('needs the dataset’s input shape', () => {
    const d = only(run(experiment(REFERENCE, { input: [32, 32, 3] })).diagnostics, 'error');
    expect(d.path).toBe('input');
    expect(d.message).toBe('input is [32, 32, 3] but mnist images are [28, 28, 1]');
    expect(d.hint).toBe('set input: [28, 28, 1]');
  });

  it('refuses a freeze that leaves nothing to train', () => {
    const exp = experiment(REFERENCE, { stages: [train(0), finetune(1, [0, 1, 2, 3, 4, 5, 6, 7])] });
    const d = only(run(exp).diagnostics, 'error');
    expect(d.path).toBe('stages[1].finetune.freeze');
    expect(d.message).toBe('freezing layers 0–7 leaves nothing to train');
    expect(d.hint).toContain('dense_2');

    const gaps = experiment(REFERENCE, { stages: [finetune(0, [0, 2, 5, 7])] });
    expect(only(run(gaps).diagnostics, 'error').message).toBe('freezing layers 0, 2, 5, 7 leaves nothing to train');

    const ok = experiment(REFERENCE, { stages: [finetune(0, [0, 1, 2, 3, 4, 5, 6])] });
    expect(run(ok).diagnostics).toEqual([]);
  });

  it('accepts a stage path that already ends with the stage kind', () => {
    const stage = { ...finetune(0, [0, 2, 5, 7]), path: ['stages', 0, 'finetune'] };
    const d = only(run(experiment(REFERENCE, { stages: [stage] })).diagnostics, 'error');
    expect(d.path).toBe('stages[0].finetune.freeze');
  });

  it('checks a declared shapeFlow against the layers', () => {
    const d = only(run(experiment(VALID, { shapeFlow: [28, 28, 14, 14, 7] })).diagnostics, 'error');
    expect(d.path).toBe('shapeFlow');
    expect(d.message).toBe('shapeFlow says 28 → 28 → 14 → 14 → 7 but the layers give 28 → 26 → 13 → 11 → 5');
    expect(run(experiment(VALID, { shapeFlow: [28, 26, 13, 11] })).diagnostics).toHaveLength(1);
  });
});

describe('resource limits', () => {
  it('refuses a layer with too many parameters, at that layer only', () => {
    const exp = experiment([{ flatten: {} }, { dense: { units: 2_000_000_000 } }, { dense: { units: 10, activation: 'softmax' } }]);
    const ds = run(exp).diagnostics.filter((d) => d.severity === 'error');
    expect(ds.map((d) => d.path)).toContain('layers[1].dense');
    expect(ds.map((d) => d.path)).not.toContain('layers');
    const d = ds.find((x) => x.path === 'layers[1].dense')!;
    expect(d.message).toContain("dense 'dense_1' would hold 1,570,000,000,000 parameters");
    expect(d.message).toContain(count(MAX_PARAMS));
    // dense_2 reads 2e9 inputs: its own 20 billion weights are its own fault.
    expect(ds.map((x) => x.path)).toContain('layers[2].dense');
  });

  it('refuses absurd filters from the estimates alone', () => {
    const inf = run(experiment([{ conv2d: { filters: 1e9, kernelSize: 3, padding: 'same' } }, { activation: { activation: 'relu' } }, { flatten: {} }, { dense: { units: 10, activation: 'softmax' } }]));
    const errors = inf.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.filter((d) => d.path === 'layers[0].conv2d').map((d) => d.message)).toEqual([
      expect.stringContaining('parameters'),
      expect.stringContaining('per example'),
    ]);
    // The relu only inherits the size: no second activation error.
    expect(errors.some((d) => d.path === 'layers[1].activation')).toBe(false);
    expect(errors.some((d) => d.path === 'layers[3].dense')).toBe(true);
  });

  it('refuses a model over the parameter limit whose layers are each within it', () => {
    const exp = experiment([
      { flatten: {} },
      { dense: { units: 10_000 } },
      { dense: { units: 6_000 } },
      { dense: { units: 6_000 } },
      { dense: { units: 10, activation: 'softmax' } },
    ]);
    const inf = run(exp);
    expect(inf.totalParams).toBeGreaterThan(MAX_PARAMS);
    const d = only(inf.diagnostics, 'error');
    expect(d.path).toBe('layers');
    expect(d.message).toContain(count(inf.totalParams));
  });

  it('refuses one layer whose activations are over the per-example limit', () => {
    const inf = run(experiment([{ conv2d: { filters: 100_000, kernelSize: 3, padding: 'same' } }, { globalAveragePooling2d: {} }, { dense: { units: 10, activation: 'softmax' } }]));
    const d = only(inf.diagnostics, 'error');
    expect(d.path).toBe('layers[0].conv2d');
    expect(d.message).toContain('[28, 28, 100000]');
    expect(d.message).toContain(bytes(MAX_ACTIVATION_BYTES_PER_EXAMPLE));
  });

  it('refuses a model whose activations add up over the per-example limit', () => {
    const wide = { conv2d: { filters: 30_000, kernelSize: 1, padding: 'same' } };
    const inf = run(experiment([wide, { batchNormalization: {} }, { activation: { activation: 'relu' } }, { globalAveragePooling2d: {} }, { dense: { units: 10, activation: 'softmax' } }]));
    expect(inf.layers[0].activationBytes).toBeLessThan(MAX_ACTIVATION_BYTES_PER_EXAMPLE);
    const d = only(inf.diagnostics, 'error');
    expect(d.path).toBe('layers');
    expect(d.message).toContain('per example');
  });

  it('refuses a batch whose training activations exceed the memory limit, at its batchSize', () => {
    const exp = experiment(REFERENCE, {
      stages: [train(0), train(1, { batchSize: 100_000 }), { kind: 'evaluate', data: MNIST, path: ['stages', 2], batchSize: 10_000 }],
    });
    const inf = run(exp);
    const d = only(inf.diagnostics, 'error');
    expect(d.path).toBe('stages[1].train.batchSize');
    expect(d.message).toContain('batchSize 100,000');
    expect(d.message).toContain(bytes(MAX_BATCH_ACTIVATION_BYTES));
    const fits = Number(/≤ ([\d,]+)/.exec(d.hint!)![1].replace(/,/g, ''));
    expect(fits * inf.activationBytes * 3).toBeLessThanOrEqual(MAX_BATCH_ACTIVATION_BYTES);
    expect((fits + 1) * inf.activationBytes * 3).toBeGreaterThan(MAX_BATCH_ACTIVATION_BYTES);
  });

  it('treats non-finite and unsafe products as over the limit', () => {
    expect(overLimit(Number.NaN, 10)).toBe(true);
    expect(overLimit(Infinity, Infinity)).toBe(true);
    expect(overLimit(2 ** 53 + 2, Infinity)).toBe(true);
    expect(overLimit(10, 10)).toBe(false);
    const inf = run(experiment([{ conv2d: { filters: 1e300, kernelSize: 3 } }, { flatten: {} }, { dense: { units: 1e300 } }]));
    // An overflowed count is worded, not printed as 'Infinity'.
    expect(inf.diagnostics.some((d) => d.path === 'layers[2].dense' && d.message.includes('more than 1e308 parameters'))).toBe(true);
    expect(inf.diagnostics.every((d) => !/Infinity|NaN/.test(d.message))).toBe(true);
  });
});

describe('warnings', () => {
  it('warns about softmax before the output layer', () => {
    const decls = [...REFERENCE.slice(0, 5), { dense: { units: 128, activation: 'softmax' } }, ...REFERENCE.slice(6)];
    const d = only(run(experiment(decls)).diagnostics, 'warning');
    expect(d.path).toBe('layers[5].dense.activation');
    expect(d.message).toBe("dense 'dense_1' applies softmax but is not the output layer");
  });

  it('warns when a cross-entropy loss meets an output that is not softmax', () => {
    const decls = [...REFERENCE.slice(0, -1), { dense: { units: 10 } }];
    const d = only(run(experiment(decls)).diagnostics, 'warning');
    expect(d.path).toBe('layers[7].dense.activation');
    expect(d.message).toBe('the loss expects probabilities; end with activation: softmax');
    expect(d.hint).toContain('categoricalCrossentropy');
    expect(d.hint).toContain('linear');
  });

  it('has no loss to warn about with only an evaluate stage', () => {
    const decls = [...REFERENCE.slice(0, -1), { dense: { units: 10 } }];
    const exp = experiment(decls, { stages: [{ kind: 'evaluate', data: MNIST, path: ['stages', 0], batchSize: 32 }] });
    expect(run(exp).diagnostics).toEqual([]);
  });

  it('warns about dropout as the last layer, and reads the output activation before it', () => {
    const d = only(run(experiment([...REFERENCE, { dropout: { rate: 0.1 } }])).diagnostics, 'warning');
    expect(d.path).toBe('layers[8].dropout');
    expect(d.message).toContain("dropout 'dropout_2' is the last layer");
  });
});

describe('helpers', () => {
  it('formats counts, byte sizes and index ranges', () => {
    expect(count(421_642)).toBe('421,642');
    expect(count(0)).toBe('0');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(8 * 2 ** 30)).toBe('8 GiB');
    expect(bytes(12)).toBe('12 B');
    expect(ranges([0, 1, 2, 3, 4, 5, 6])).toBe('0–6');
    expect(ranges([7, 0, 2, 3])).toBe('0, 2–3, 7');
  });
});
