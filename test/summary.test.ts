import { describe, expect, it } from 'vitest';
import type { DataSelection, Experiment, LayerSpec } from '../src/experiment.js';
import { infer } from '../src/infer.js';
import { compact, formatFlow, formatSummary } from '../src/summary.js';

type Decl = Record<string, Record<string, unknown>>;
const MNIST: DataSelection = { dataset: 'mnist', classes: null, limit: { train: null, test: null } };

function summarize(decls: Decl[], title?: string) {
  const layers: LayerSpec[] = decls.map((d, index) => {
    const [kind, args] = Object.entries(d)[0];
    return { index, kind, name: `${kind}_${index + 1}`, args, path: ['layers', index] };
  });
  const exp: Experiment = { name: 't', seed: 1, data: MNIST, input: [28, 28, 1], layers, shapeFlow: null, stages: [] };
  const inf = infer(exp, 'x.yaml', () => ({ line: 1, column: 1 }));
  return { inf, text: formatSummary(inf, title) };
}

const REFERENCE: Decl[] = [
  { conv2d: { filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' } },
  { maxPooling2d: {} },
  { conv2d: { filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' } },
  { maxPooling2d: {} },
  { flatten: {} },
  { dense: { units: 128, activation: 'relu' } },
  { dropout: { rate: 0.5 } },
  { dense: { units: 10, activation: 'softmax' } },
];

describe('formatSummary', () => {
  it('renders the reference net like Keras, with FLOPs and the spatial flow', () => {
    const { inf, text } = summarize(REFERENCE, 'mnist-cnn');
    const lines = text.split('\n');
    expect(lines[0]).toBe('Model: "mnist-cnn"');
    expect(lines[2]).toMatch(/^ Layer \(type\) +Output Shape +Param # +FLOPs$/);
    expect(text).toMatch(/ conv2d_1 \(conv2d\) +\[28, 28, 32\] +320 +501\.8K\n/);
    expect(text).toMatch(/ dense_6 \(dense\) +\[128\] +401,536 +803\.1K\n/);
    expect(text).toContain('Total params: 421,642 (1.6 MiB)');
    expect(text).toContain('Trainable params: 421,642');
    expect(text).toContain('Non-trainable params: 0');
    expect(text).toContain(`FLOPs per example: ${inf.totalFlops.toLocaleString('en-US')} (8.6M)`);
    expect(text).toContain('Activation memory per example: 197 KiB');
    expect(text).toContain('Spatial flow: 28 → 28 → 14 → 14 → 7');
    // Rules span the table; no row is wider.
    const width = lines[1].length;
    expect(lines.every((l) => l.length <= width)).toBe(true);
    expect(lines.filter((l) => /^ \w+_\d+ \(\w+\)/.test(l))).toHaveLength(8);
  });

  it('lines numbers up on their last digit', () => {
    const { text } = summarize(REFERENCE);
    const rows = text.split('\n').filter((l) => /^ (conv2d|dense)_/.test(l));
    const ends = rows.map((r) => r.search(/\d\s+\S+$/));
    expect(new Set(ends).size).toBe(1);
  });

  it('has no title line without a title', () => {
    expect(summarize(REFERENCE).text.startsWith('_')).toBe(true);
  });

  it('shows non-trainable batch-norm statistics', () => {
    const { text } = summarize([
      { conv2d: { filters: 8, kernelSize: 3 } },
      { batchNormalization: {} },
      { globalAveragePooling2d: {} },
      { dense: { units: 10, activation: 'softmax' } },
    ]);
    expect(text).toContain('Total params: 202');
    expect(text).toContain('Trainable params: 186');
    expect(text).toContain('Non-trainable params: 16');
  });

  it('renders non-square sizes as height×width', () => {
    const { text } = summarize([{ conv2d: { filters: 2, kernelSize: [3, 5] } }, { maxPooling2d: {} }, { flatten: {} }, { dense: { units: 10 } }]);
    expect(text).toContain('Spatial flow: 28 → 26×24 → 13×12');
  });

  it('says where inference stopped', () => {
    const { inf, text } = summarize([{ flatten: {} }, { conv2d: { filters: 2, kernelSize: 3 } }]);
    expect(inf.complete).toBe(false);
    expect(text).toContain('stopped before layers[1]');
    expect(text).toContain('Total params: 0');
  });
});

describe('helpers', () => {
  it('abbreviates FLOPs', () => {
    expect(compact(0)).toBe('0');
    expect(compact(999)).toBe('999');
    expect(compact(1_000)).toBe('1K');
    expect(compact(501_760)).toBe('501.8K');
    expect(compact(8_595_466)).toBe('8.6M');
    expect(compact(3e9)).toBe('3G');
    expect(compact(Infinity)).toBe('overflow');
    expect(compact(1e300)).toBe('overflow');
  });

  it('formats the flow', () => {
    expect(formatFlow([[28, 28], [14, 14]])).toBe('28 → 14');
    expect(formatFlow([[28, 28], [26, 24]])).toBe('28 → 26×24');
  });
});
