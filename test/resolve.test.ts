import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../src/diagnostics.js';
import { infer } from '../src/infer.js';
import type { Experiment } from '../src/experiment.js';
import { loadText } from '../src/load.js';
import { configHash, toCanonicalYaml } from '../src/canonical.js';
import { resolve, snakeCase } from '../src/resolve.js';
import { validate } from '../src/validate.js';

function resolveText(text: string) {
  const loaded = loadText('x.yaml', text);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  const invalid = validate(loaded);
  if (invalid.length > 0) throw new Error(invalid.map(formatDiagnostic).join('\n'));
  const r = resolve(loaded.doc, 'x.yaml', loaded.locate);
  return { ...r, lines: r.diagnostics.map(formatDiagnostic) };
}

function resolved(text: string): Experiment {
  const r = resolveText(text);
  if (!r.experiment) throw new Error(r.lines.join('\n'));
  return r.experiment;
}

const SEVEN = `name: seven
input: [28, 28, 1]
layers:
  - conv2d: {filters: 8, kernelSize: 3}
  - maxPooling2d: {}
  - conv2d: {filters: 8, kernelSize: 3, name: features}
  - conv2d: {filters: 8, kernelSize: 3}
  - flatten: {}
  - dense: {units: 32}
  - dense: {units: 10, activation: softmax}
stages:
`;

const finetune = (freeze: string) => `${SEVEN}  - finetune:\n      freeze: ${freeze}\n      optimizer: {name: sgd}\n`;

describe('resolve', () => {
  it('fills in every default', () => {
    const exp = resolved('name: t\ninput: [28, 28, 1]\nlayers: [flatten: {}, dense: {units: 10}]\nstages: [train: {optimizer: {name: adam}}, evaluate: {}]\n');
    expect(exp).toEqual({
      name: 't',
      seed: 42,
      data: { dataset: 'mnist', classes: null, limit: { train: null, test: null } },
      input: [28, 28, 1],
      layers: [
        { index: 0, kind: 'flatten', name: 'flatten_1', args: {}, path: ['layers', 0] },
        {
          index: 1, kind: 'dense', name: 'dense_1', path: ['layers', 1],
          args: { units: 10, activation: 'linear', useBias: true, kernelInitializer: 'glorotUniform', biasInitializer: 'zeros' },
        },
      ],
      shapeFlow: null,
      stages: [
        {
          kind: 'train', path: ['stages', 0],
          data: { dataset: 'mnist', classes: null, limit: { train: null, test: null } },
          epochs: 1, batchSize: 32,
          optimizer: { name: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
          loss: 'categoricalCrossentropy', metrics: ['accuracy'], validationSplit: 0,
        },
        { kind: 'evaluate', path: ['stages', 1], data: { dataset: 'mnist', classes: null, limit: { train: null, test: null } }, batchSize: 256 },
      ],
    });
  });

  it('fills optimizer defaults per optimizer', () => {
    const exp = resolved(`${SEVEN}  - train: {optimizer: {name: sgd}}\n  - train: {optimizer: {name: rmsprop, momentum: 0.5}}\n`);
    expect(exp.stages.map((s) => s.kind !== 'evaluate' && s.optimizer)).toEqual([
      { name: 'sgd', learningRate: 0.01, momentum: 0, nesterov: false },
      { name: 'rmsprop', learningRate: 0.001, rho: 0.9, momentum: 0.5, epsilon: 1e-7 },
    ]);
  });

  it('names layers like Keras, counting each kind over all its layers', () => {
    const exp = resolved(`${SEVEN}  - evaluate: {}\n`);
    expect(exp.layers.map((l) => l.name)).toEqual([
      'conv2d_1', 'max_pooling2d_1', 'features', 'conv2d_3', 'flatten_1', 'dense_1', 'dense_2',
    ]);
    expect(snakeCase('globalAveragePooling2d')).toBe('global_average_pooling2d');
    expect(snakeCase('batchNormalization')).toBe('batch_normalization');
  });

  it('rejects duplicate layer names at the second one', () => {
    expect(resolveText(`${SEVEN.replace('name: features', 'name: conv2d_1')}  - evaluate: {}\n`).lines).toEqual([
      "x.yaml:6:47: error: duplicate layer name 'conv2d_1' (also layers[0]) — layer names must be unique",
    ]);
    const generated = SEVEN.replace('{filters: 8, kernelSize: 3}\n  - maxPooling2d', '{filters: 8, kernelSize: 3, name: conv2d_3}\n  - maxPooling2d');
    expect(resolveText(`${generated}  - evaluate: {}\n`).lines).toEqual([
      "x.yaml:7:5: error: duplicate layer name 'conv2d_3' (also layers[0]) — the name is generated; rename layers[0]",
    ]);
  });

  it('freezes Python slices of the layer list', () => {
    const freezeOf = (spec: string) => {
      const s = resolved(finetune(JSON.stringify(spec))).stages[0];
      return s.kind === 'finetune' ? s.freeze : undefined;
    };
    expect(freezeOf(':4')).toEqual([0, 1, 2, 3]);
    expect(freezeOf('1:3')).toEqual([1, 2]);
    expect(freezeOf('-2:')).toEqual([5, 6]);
    expect(freezeOf(':-2')).toEqual([0, 1, 2, 3, 4]);
    expect(freezeOf(' 2 : 5 ')).toEqual([2, 3, 4]);
    // JavaScript's Array.prototype.slice has Python's bounds semantics: the reference.
    const bound = fc.option(fc.integer({ min: -9, max: 9 }), { nil: undefined });
    fc.assert(
      fc.property(bound, bound, (start, stop) => {
        const spec = `${start ?? ''}:${stop ?? ''}`;
        expect(freezeOf(spec)).toEqual([0, 1, 2, 3, 4, 5, 6].slice(start, stop));
      }),
      { numRuns: 200 },
    );
  });

  it('warns about slices that clamp or select nothing', () => {
    expect(resolveText(finetune('":9"')).lines).toEqual([
      "x.yaml:13:15: warning: freeze ':9' reaches past the 7 layers; Python slicing clamps it",
    ]);
    expect(resolveText(finetune('"3:1"')).lines).toEqual([
      "x.yaml:13:15: warning: freeze '3:1' selects no layers; finetune will train every layer",
    ]);
  });

  it('rejects strings that are not slices, with a hint', () => {
    expect(resolveText(finetune('"::2"')).lines).toEqual([
      "x.yaml:13:15: error: freeze '::2' is not a slice of the layer list — a step is not supported; write start:stop",
    ]);
    expect(resolveText(finetune('features')).lines).toEqual([
      "x.yaml:13:15: error: freeze 'features' is not a slice of the layer list — to freeze one layer by name, write freeze: [features]",
    ]);
    expect(resolveText(finetune('"a:b"')).lines).toEqual([
      "x.yaml:13:15: error: freeze 'a:b' is not a slice of the layer list — write a slice such as ':4', '1:3', '-2:', ':-2', or a list of layer indices and names",
    ]);
  });

  it('freezes lists of indices and names, sorted and unique', () => {
    const s = resolved(finetune('[dense_1, 0, -1, features, 0]')).stages[0];
    expect(s.kind === 'finetune' && s.freeze).toEqual([0, 2, 5, 6]);
  });

  it('points at list items that name no layer', () => {
    expect(resolveText(finetune('[0, dense1, 7, -8, conv]')).lines).toEqual([
      "x.yaml:13:19: error: no layer named 'dense1' — did you mean 'dense_1'?",
      'x.yaml:13:27: error: layer index 7 does not exist; the model has 7 layers — valid indices are 0..6 or -7..-1',
      'x.yaml:13:30: error: layer index -8 does not exist; the model has 7 layers — valid indices are 0..6 or -7..-1',
      "x.yaml:13:34: error: no layer named 'conv' — layer names: conv2d_1, max_pooling2d_1, features, conv2d_3, flatten_1, dense_1, dense_2",
    ]);
  });

  it('narrows the data per stage, field by field', () => {
    const exp = resolved(`${SEVEN.replace('layers:', 'data: {dataset: mnist, classes: [0, 1, 2], limit: {train: 1000, test: 500}}\nlayers:')}  - evaluate: {}
  - evaluate: {data: {classes: [7, 8], limit: {test: 100}}}
  - evaluate: {data: {classes: null, limit: {train: null}}}
`);
    expect(exp.stages.map((s) => s.data)).toEqual([
      { dataset: 'mnist', classes: [0, 1, 2], limit: { train: 1000, test: 500 } },
      { dataset: 'mnist', classes: [7, 8], limit: { train: 1000, test: 100 } },
      { dataset: 'mnist', classes: null, limit: { train: null, test: 500 } },
    ]);
  });
});

describe('canonical form', () => {
  const configs = ['mnist', 'mnist-valid', 'mnist-transfer'].map((n) => readFileSync(new URL(`../configs/${n}.yaml`, import.meta.url), 'utf8'));

  it('is generated, complete, and resolves to the same experiment', () => {
    for (const text of [...configs, finetune('[0, dense_1]'), `${SEVEN}  - train: {optimizer: {name: rmsprop}, data: {classes: [3]}}\n`]) {
      const exp = resolved(text);
      const canonical = toCanonicalYaml(exp);
      expect(canonical.split('\n')[0]).toMatch(/^# Generated by cnnc/);
      expect(resolved(canonical)).toEqual(exp);
      expect(toCanonicalYaml(resolved(canonical))).toBe(canonical);
    }
  });

  it('reads like the source', () => {
    const canonical = toCanonicalYaml(resolved(configs[0]));
    expect(canonical).toContain('\ninput: [28, 28, 1]\n');
    expect(canonical).toContain('\n  - maxPooling2d: {name: max_pooling2d_1, poolSize: [2, 2], strides: [2, 2], padding: valid}\n');
    expect(canonical).toContain('\n  - finetune:\n      freeze: [0, 1, 2, 3]\n      epochs: 2\n');
    expect(canonical).toContain('limit: {train: null, test: null}');
  });

  it('hashes equal experiments equal, however they are written', () => {
    const terse = 'name: t\ninput: [28, 28, 1]\nlayers: [flatten: {}, dense: {units: 10}]\nstages: [train: {optimizer: {name: adam}}]\n';
    const verbose = `# the same, spelt out
name: t
seed: 42
data: {dataset: mnist, classes: null}
input: [28, 28, 1]
layers:
  - flatten: {name: flatten_1}
  - dense: {units: 10, activation: linear, useBias: true}
stages:
  - train:
      epochs: 1
      batchSize: 32
      optimizer: {name: adam, learningRate: 0.001}
      loss: categoricalCrossentropy
`;
    const hash = configHash(resolved(terse));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(configHash(resolved(verbose))).toBe(hash);
    expect(configHash(resolved(terse.replace('units: 10', 'units: 11')))).not.toBe(hash);
    expect(configHash(resolved(terse.replace('name: t', 'name: u')))).not.toBe(hash);
  });
});

/** load → validate → resolve → infer on generated documents: robustness, not exact output. */
describe('pipeline', () => {
  const scalar = fc.oneof(
    fc.constantFrom(null, true, 0, 1, 2, 3, -1, 2.5, 'same', 'valid', 'relu', 'softmax', 'adam', 'sgd', ':2', '-1:', 'dense_1', 'conv2d_1', '', NaN),
    fc.integer({ min: -3, max: 40 }),
  );
  const keys = fc.constantFrom(
    'conv2d', 'dense', 'flatten', 'maxPooling2d', 'dropout', 'batchNormalization', 'filters', 'kernelSize', 'units', 'rate',
    'poolSize', 'strides', 'padding', 'activation', 'name', 'train', 'evaluate', 'finetune', 'optimizer', 'freeze', 'epochs',
    'batchSize', 'data', 'classes', 'limit', 'test', 'momentum', 'learningRate',
  );
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(keys, tie('v'), { maxKeys: 3 })),
  })).v;

  function run(layers: unknown[], stages: unknown[]) {
    const text = stringify({ name: 'f', input: [28, 28, 1], layers, stages });
    const loaded = loadText('f.yaml', text);
    if (!loaded.ok) throw new Error(`generated YAML does not parse:\n${text}`);
    const invalid = validate(loaded);
    const r = invalid.length ? undefined : resolve(loaded.doc, 'f.yaml', loaded.locate);
    const inferred = r?.experiment ? infer(r.experiment, 'f.yaml', loaded.locate) : undefined;
    return { text, diagnostics: [...invalid, ...(r?.diagnostics ?? []), ...(inferred?.diagnostics ?? [])], invalid };
  }

  it('never throws on schema-shaped garbage, and every diagnostic has a position', () => {
    const item = (maxKeys: number) => fc.dictionary(keys, value, { minKeys: 1, maxKeys });
    fc.assert(
      fc.property(fc.array(item(2), { maxLength: 5 }), fc.array(item(1), { maxLength: 4 }), (layers, stages) => {
        for (const d of run(layers, stages).diagnostics) expect(d.line).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('resolves generated valid experiments without throwing', () => {
    const layer = fc.oneof(
      fc.record({
        conv2d: fc.record({
          filters: fc.integer({ min: 1, max: 8 }),
          kernelSize: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }))),
          padding: fc.constantFrom('same', 'valid'),
        }, { requiredKeys: ['filters', 'kernelSize'] }),
      }),
      fc.record({ maxPooling2d: fc.record({ poolSize: fc.integer({ min: 1, max: 30 }) }, { requiredKeys: [] }) }),
      fc.constant({ flatten: {} }),
      fc.constant({ globalAveragePooling2d: {} }),
      fc.record({ dense: fc.record({ units: fc.integer({ min: 1, max: 12 }), name: fc.constantFrom('a', 'b', 'dense_1') }, { requiredKeys: ['units'] }) }),
    );
    const freeze = fc.oneof(
      fc.constantFrom(':2', '-1:', '1:3', ':9', 'x'),
      fc.array(fc.oneof(fc.integer({ min: -8, max: 8 }), fc.constantFrom('a', 'b', 'dense_1', 'conv2d_1')), { maxLength: 3 }),
    );
    const stage = fc.oneof(
      fc.constant({ evaluate: {} }),
      fc.record({ finetune: fc.record({ freeze, optimizer: fc.constant({ name: 'sgd' }), data: fc.record({ classes: fc.constantFrom([1, 2], null) }) }) }),
    );
    fc.assert(
      fc.property(fc.array(layer, { minLength: 1, maxLength: 6 }), fc.array(stage, { minLength: 1, maxLength: 3 }), (layers, stages) => {
        const r = run(layers, stages);
        expect(r.invalid, r.text).toEqual([]);
        for (const d of r.diagnostics) expect(d.line).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });
});
