import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../src/diagnostics.js';
import { loadText } from '../src/load.js';
import { closest, editDistance } from '../src/suggest.js';
import { validate } from '../src/validate.js';

/** Validation diagnostics of a YAML text, as the CLI prints them. */
function check(text: string): string[] {
  const loaded = loadText('x.yaml', text);
  if (!loaded.ok) throw new Error(`fixture does not parse: ${loaded.diagnostics.map(formatDiagnostic).join('; ')}`);
  return validate(loaded).map(formatDiagnostic);
}

/** A valid experiment with `layers` and `stages` replaced by the given YAML blocks. */
function experiment({ layers, stages, top }: { layers?: string; stages?: string; top?: string } = {}): string {
  return [
    'name: t',
    'input: [28, 28, 1]',
    top ?? '',
    'layers:',
    layers ?? '  - flatten: {}\n  - dense: {units: 10, activation: softmax}',
    'stages:',
    stages ?? '  - train: {optimizer: {name: adam}}',
    '',
  ].join('\n');
}

describe('validate', () => {
  it('accepts a minimal experiment', () => {
    expect(check(experiment())).toEqual([]);
  });

  it('points at an unknown key and suggests the known one (the issue example)', () => {
    expect(check('layers:\n  - conv2d: {filtres: 32, kernelSize: 3}\n').filter((l) => l.includes('filtres'))).toEqual([
      "x.yaml:2:14: error: unknown key 'filtres' in conv2d — did you mean 'filters'?",
    ]);
  });

  it('refuses an epoch count that would never finish, on its value', () => {
    expect(check(experiment({ stages: '  - train: {epochs: 1e300, optimizer: {name: adam}}' }))).toEqual([
      'x.yaml:8:21: error: epochs must be at most 10000, got 1e+300',
    ]);
  });

  it('reports a misspelt required key once, not also as missing', () => {
    expect(check(experiment({ layers: '  - conv2d: {filtres: 32, kernelSize: 3}' }))).toEqual([
      "x.yaml:5:14: error: unknown key 'filtres' in conv2d — did you mean 'filters'?",
    ]);
  });

  it('lists the allowed keys when nothing is close', () => {
    expect(check(experiment({ layers: '  - maxPooling2d: {window: 2}' }))).toEqual([
      "x.yaml:5:20: error: unknown key 'window' in maxPooling2d — allowed keys: name, poolSize, strides, padding",
    ]);
  });

  it('names the expected type and the value found, at the value', () => {
    expect(check(experiment({ layers: '  - conv2d: {filters: abc, kernelSize: 3}' }))).toEqual([
      "x.yaml:5:23: error: filters must be an integer, got 'abc'",
    ]);
    expect(check(experiment({ layers: '  - dropout: {rate: [0.5]}' }))).toEqual([
      'x.yaml:5:21: error: rate must be a number, got a list',
    ]);
  });

  it('lists enum values and suggests the closest', () => {
    expect(check(experiment({ layers: '  - conv2d: {filters: 8, kernelSize: 3, padding: sme}' }))).toEqual([
      "x.yaml:5:50: error: padding must be one of valid, same; got 'sme' — did you mean 'same'?",
    ]);
  });

  it('says which key a mapping needs, at the mapping key', () => {
    expect(check(experiment({ layers: '  - dense: {activation: relu}' }))).toEqual([
      "x.yaml:5:5: error: dense needs 'units'",
    ]);
    expect(check('name: t\ninput: [28, 28, 1]\nlayers: [flatten: {}]\n')).toEqual([
      "x.yaml:1:1: error: the experiment needs 'stages'",
    ]);
    expect(check('seed: 1\n')).toEqual([
      "x.yaml:1:1: error: the experiment needs 'name', 'input', 'layers' and 'stages'",
    ]);
    expect(check(experiment({ layers: '  - conv2d: {padding: same}' }))).toEqual([
      "x.yaml:5:5: error: conv2d needs 'filters' and 'kernelSize'",
    ]);
  });

  it('reports an unknown layer kind once, with a suggestion', () => {
    expect(check(experiment({ layers: '  - conv2D: {filters: 8, kernelSize: 3}\n  - Dense: {units: 10}\n  - pool: {}' }))).toEqual([
      "x.yaml:5:5: error: unknown layer kind 'conv2D' — did you mean 'conv2d'?",
      "x.yaml:6:5: error: unknown layer kind 'Dense' — did you mean 'dense'?",
      'x.yaml:7:5: error: unknown layer kind \'pool\' — known layer kinds: conv2d, maxPooling2d, averagePooling2d, globalAveragePooling2d, flatten, dense, dropout, batchNormalization, activation',
    ]);
  });

  it('validates a layer against its own kind only', () => {
    // Without dispatch, ajv would report this item against all nine kinds.
    expect(check(experiment({ layers: '  - dense: {units: 0, activation: relu, filters: 3}' }))).toEqual([
      'x.yaml:5:20: error: units must be at least 1, got 0',
      "x.yaml:5:41: error: unknown key 'filters' in dense — allowed keys: name, units, activation, useBias, kernelInitializer, biasInitializer",
    ]);
  });

  it('explains layer items that are not single-key mappings', () => {
    expect(check(experiment({ layers: '  - conv2d:\n    filters: 8\n    kernelSize: 3' }))).toEqual([
      "x.yaml:6:5: error: layers[0] has 3 keys (conv2d, filters, kernelSize); expected one, the layer kind — indent the arguments under 'conv2d:', or write 'conv2d: {filters: …, kernelSize: …}'",
    ]);
    expect(check(experiment({ layers: '  - {flatten: {}, dense: {units: 3}}' }))).toEqual([
      "x.yaml:5:19: error: layers[0] has 2 keys (flatten, dense); expected one, the layer kind — each item has exactly one key, the layer kind; start another item with '- '",
    ]);
    expect(check(experiment({ layers: '  - flatten\n  - flatten:\n  - {}' }))).toEqual([
      "x.yaml:5:5: error: layers[0] must be a single-key mapping naming the layer kind, got 'flatten' — write 'flatten: {}'",
      "x.yaml:6:5: error: flatten must be a mapping, got an empty value — write 'flatten: {}' for no arguments",
      'x.yaml:7:5: error: layers[2] is empty; it needs one key naming the layer kind — one of: conv2d, maxPooling2d, averagePooling2d, globalAveragePooling2d, flatten, dense, dropout, batchNormalization, activation',
    ]);
  });

  it('follows int-or-pair arguments by type', () => {
    expect(check(experiment({ layers: '  - maxPooling2d: {poolSize: [2, 2, 2], strides: x}\n  - conv2d: {filters: 1, kernelSize: 2.5}' }))).toEqual([
      'x.yaml:5:30: error: poolSize must have exactly 2 items, got 3',
      "x.yaml:5:50: error: strides must be an integer or a list, got 'x'",
      'x.yaml:6:38: error: kernelSize must be an integer, got 2.5',
    ]);
  });

  it('checks stages and optimizers by their names', () => {
    expect(check(experiment({
      stages: [
        '  - trian: {}',
        '  - train: {optimizer: {name: adma}}',
        '  - train: {optimizer: {name: sgd, beta1: 0.9, learningRate: 0}}',
        '  - finetune: {optimizer: {name: adam}}',
        '  - evaluate:',
        '  - evaluate: {batchSize: 0, data: {dataset: mnist}}',
        '  - train: {epochs: 2}',
      ].join('\n'),
    }))).toEqual([
      "x.yaml:8:5: error: unknown stage 'trian' — did you mean 'train'?",
      "x.yaml:9:31: error: unknown optimizer 'adma' — did you mean 'adam'?",
      "x.yaml:10:36: error: unknown key 'beta1' in optimizer — allowed keys: name, learningRate, momentum, nesterov",
      'x.yaml:10:62: error: learningRate must be greater than 0, got 0',
      "x.yaml:11:5: error: finetune needs 'freeze'",
      "x.yaml:12:5: error: evaluate must be a mapping, got an empty value — write 'evaluate: {}' for no arguments",
      'x.yaml:13:27: error: batchSize must be at least 1, got 0',
      "x.yaml:13:37: error: unknown key 'dataset' in data — the dataset is set once, in the top-level data",
      "x.yaml:14:5: error: train needs 'optimizer'",
    ]);
  });

  it('checks the top-level keys, data and shapes', () => {
    expect(check(experiment({
      top: 'seed: -1\nlayer: []\ndata: {dataset: mnsit, classes: [1, 1, 12], limit: {train: 0}}\nshapeFlow: [28, 0]\nx-anchors: {a: 1}',
    }).replace('input: [28, 28, 1]', 'input: [28, 28]').replace('name: t', 'name: my run'))).toEqual([
      "x.yaml:1:7: error: name 'my run' may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit",
      'x.yaml:2:8: error: input must have exactly 3 items, got 2',
      'x.yaml:3:7: error: seed must be at least 0, got -1',
      "x.yaml:4:1: error: unknown key 'layer' at the top level — did you mean 'layers'?",
      "x.yaml:5:17: error: dataset must be 'mnist'; got 'mnsit' — did you mean 'mnist'?",
      'x.yaml:5:37: error: classes lists 1 twice — each item may appear once',
      'x.yaml:5:40: error: classes[2] must be at most 9, got 12',
      'x.yaml:5:60: error: limit.train must be at least 1, got 0',
      'x.yaml:6:17: error: shapeFlow[1] must be at least 1, got 0',
    ]);
  });

  it('rejects .nan and .inf wherever they appear, once', () => {
    expect(check(experiment({ layers: '  - dropout: {rate: .nan}\n  - dense: {units: .inf}', stages: '  - train: {optimizer: {name: adam, learningRate: -.inf}}' }))).toEqual([
      'x.yaml:5:21: error: rate must be a finite number, got .nan',
      'x.yaml:6:20: error: units must be a finite number, got .inf',
      'x.yaml:8:51: error: learningRate must be a finite number, got -.inf',
    ]);
  });

  it('rejects a document that is not a mapping', () => {
    expect(check('- a\n- b\n')).toEqual(['x.yaml:1:1: error: the experiment must be a mapping, got a list']);
    expect(check('hello\n')).toEqual(["x.yaml:1:1: error: the experiment must be a mapping, got 'hello'"]);
  });

  it('never leaks ajv wording and always has a position', () => {
    const value = fc.oneof(
      fc.constantFrom('null', 'abc', '-1', '0', '2.5', '[]', '{}', '[1, 2]', '{a: 1}', 'same', 'true', '.nan'),
    );
    const key = fc.constantFrom('name', 'seed', 'data', 'input', 'layers', 'stages', 'shapeFlow', 'bogus');
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 7 }), (doc) => {
        const text = Object.entries(doc).map(([k, v]) => `${k}: ${v}`).join('\n') || '{}';
        for (const line of check(text)) {
          expect(line).toMatch(/^x\.yaml:\d+:\d+: error: /);
          expect(line).not.toMatch(/must NOT|should|must match|oneOf|anyOf|passingSchemas/);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('suggestions', () => {
  it('counts a transposition as one edit', () => {
    expect(editDistance('filtres', 'filters')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests only plausible typos', () => {
    expect(closest('conv2D', ['conv2d', 'dense'])).toBe('conv2d');
    expect(closest('sme', ['valid', 'same'])).toBe('same');
    expect(closest('dense1', ['dense_1', 'dense_2'])).toBe('dense_1');
    expect(closest('zzz', ['valid', 'same'])).toBeUndefined();
  });
});
