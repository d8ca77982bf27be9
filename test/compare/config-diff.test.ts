import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFile } from '../../src/check.js';
import { diffAll, diffValues, experimentDocument, formatValue } from '../../src/compare/config-diff.js';
import { tempDir, variant } from './helpers.js';

const dir = tempDir('cnnc-cfgdiff-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function doc(file: string) {
  const r = checkFile(file);
  if (!r.experiment) throw new Error(`${file} does not resolve`);
  return experimentDocument(r.experiment);
}

describe('diffValues', () => {
  it('reports nested changes with diagnostic-style paths', () => {
    const a = { layers: [{ dense: { units: 128 } }], seed: 1 };
    const b = { layers: [{ dense: { units: 64 } }], seed: 1 };
    expect(diffValues(a, b)).toEqual([{ path: 'layers[0].dense.units', segments: ['layers', 0, 'dense', 'units'], from: 128, to: 64 }]);
  });

  it('added and removed keys have undefined on the missing side', () => {
    const changes = diffValues({ a: 1, b: 2 }, { b: 2, c: 3 });
    expect(changes.map(({ path, from, to }) => ({ path, from, to }))).toEqual([
      { path: 'a', from: 1, to: undefined },
      { path: 'c', from: undefined, to: 3 },
    ]);
    expect(formatValue(undefined)).toBe('(absent)');
  });

  it('compares lists of mappings by position, lists of scalars whole', () => {
    const a = { layers: [{ conv2d: { kernelSize: [3, 3] } }, { flatten: {} }], shapeFlow: [28, 14] };
    const b = { layers: [{ conv2d: { kernelSize: [5, 5] } }], shapeFlow: [28, 12] };
    expect(diffValues(a, b).map((c) => [c.path, c.from, c.to])).toEqual([
      ['layers[0].conv2d.kernelSize', [3, 3], [5, 5]],
      ['layers[1]', { flatten: {} }, undefined],
      ['shapeFlow', [28, 14], [28, 12]],
    ]);
  });

  it('distinguishes null from absent and equal values give nothing', () => {
    expect(diffValues({ classes: null }, {}).map((c) => [c.path, c.from, c.to])).toEqual([['classes', null, undefined]]);
    expect(diffValues({ x: [1, { y: 2 }] }, { x: [1, { y: 2 }] })).toEqual([]);
  });

  it('diffAll reports each path once with every value', () => {
    expect(diffAll([{ a: 1, b: 1 }, { a: 1, b: 2 }, { a: 3, b: 1 }])).toEqual([
      { path: 'a', segments: ['a'], values: [1, 1, 3] },
      { path: 'b', segments: ['b'], values: [1, 2, 1] },
    ]);
  });

  it('formats values the way the YAML reads', () => {
    expect(formatValue([3, 3])).toBe('[3, 3]');
    expect(formatValue({ units: 10, activation: 'softmax' })).toBe('{units: 10, activation: softmax}');
    expect(formatValue(':4')).toBe('":4"');
    expect(formatValue(null)).toBe('null');
  });
});

describe('experiment documents', () => {
  it('are the document form, every default filled in', () => {
    const d = doc('configs/mnist.yaml');
    expect((d.layers as unknown[])[5]).toEqual({
      dense: { name: 'dense_1', units: 128, activation: 'relu', useBias: true, kernelInitializer: 'glorotUniform', biasInitializer: 'zeros' },
    });
    expect(Object.keys((d.stages as Record<string, unknown>[])[0])).toEqual(['train']);
  });

  it('a default written out and the same default omitted are no difference', () => {
    const omitted = variant(dir, 'mnist-valid.yaml', 'omitted.yaml', [[/, padding: valid/g, '']]);
    expect(diffValues(doc('configs/mnist-valid.yaml'), doc(omitted))).toEqual([]);
  });

  it('a changed dense width is one path', () => {
    const narrow = variant(dir, 'mnist.yaml', 'narrow.yaml', [['units: 128', 'units: 64']]);
    expect(diffValues(doc('configs/mnist.yaml'), doc(narrow)).map((c) => [c.path, c.from, c.to])).toEqual([
      ['layers[5].dense.units', 128, 64],
    ]);
  });
});
