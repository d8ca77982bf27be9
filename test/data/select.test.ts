import { describe, expect, it } from 'vitest';
import { fillBatch, oneHot, sparseLabels } from '../../src/data/batch.js';
import { loadMnist } from '../../src/data/mnist.js';
import { epochOrder, selectExamples, splitValidation } from '../../src/data/select.js';

/** 100 examples, label i % 10. */
const toy = { labels: Uint8Array.from({ length: 100 }, (_, i) => i % 10) };

describe('selectExamples', () => {
  it('no classes, no limit: everything in dataset order', () => {
    const s = selectExamples(toy, { classes: null, limit: null }, 1);
    expect(s.numClasses).toBe(10);
    expect(Array.from(s.indices)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(s.labels)).toEqual(Array.from(toy.labels));
  });

  it('classes [5..9] keeps only those and relabels 5→0 … 9→4', () => {
    const s = selectExamples(toy, { classes: [5, 6, 7, 8, 9], limit: null }, 1);
    expect(s.numClasses).toBe(5);
    expect(s.indices.length).toBe(50);
    for (let i = 0; i < s.indices.length; i++) expect(s.labels[i]).toBe(toy.labels[s.indices[i]!]! - 5);
  });

  it('relabels in the given order', () => {
    const s = selectExamples(toy, { classes: [3, 1], limit: null }, 1);
    expect(Array.from(s.indices.slice(0, 4))).toEqual([1, 3, 11, 13]);
    expect(Array.from(s.labels.slice(0, 4))).toEqual([1, 0, 1, 0]);
  });

  it('limit is deterministic for a seed, differs across seeds, and ignores class order', () => {
    const a = selectExamples(toy, { classes: null, limit: 20 }, 7);
    const b = selectExamples(toy, { classes: null, limit: 20 }, 7);
    const c = selectExamples(toy, { classes: null, limit: 20 }, 8);
    expect(a.indices.length).toBe(20);
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    expect(Array.from(a.indices)).not.toEqual(Array.from(c.indices));
    const x = selectExamples(toy, { classes: [1, 2, 3], limit: 10 }, 7);
    const y = selectExamples(toy, { classes: [3, 2, 1], limit: 10 }, 7);
    expect(Array.from(x.indices)).toEqual(Array.from(y.indices));
    expect(x.labels.every((l, i) => l === 2 - y.labels[i]!)).toBe(true);
    // ascending: a subset in dataset order
    expect(Array.from(a.indices)).toEqual(Array.from(a.indices).sort((p, q) => p - q));
  });

  it('limit above what is available takes all', () => {
    const s = selectExamples(toy, { classes: [0], limit: 500 }, 1);
    expect(s.indices.length).toBe(10);
    expect(selectExamples(toy, { classes: null, limit: 100 }, 1).indices.length).toBe(100);
  });

  it('rejects bad classes', () => {
    expect(() => selectExamples(toy, { classes: [10], limit: null }, 1)).toThrow(/not in 0..9/);
    expect(() => selectExamples(toy, { classes: [1, 1], limit: null }, 1)).toThrow(/twice/);
  });

  it('on real MNIST, a limit of 1000 of classes 5..9 gives 1000 examples of those classes', () => {
    const train = loadMnist('train');
    const s = selectExamples(train, { classes: [5, 6, 7, 8, 9], limit: 1000 }, 42);
    expect(s.indices.length).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(train.labels[s.indices[i]!]).toBe(s.labels[i]! + 5);
    expect(new Set(s.labels).size).toBe(5);
  });
});

describe('splitValidation', () => {
  it('holds out the last ⌊n·fraction⌋', () => {
    const s = selectExamples(toy, { classes: null, limit: null }, 1);
    const { train, validation } = splitValidation(s, 0.15, 1);
    expect(train.indices.length).toBe(85);
    expect(validation.indices.length).toBe(15);
    expect(Array.from(validation.indices)).toEqual(Array.from(s.indices.slice(85)));
    expect(Array.from(validation.labels)).toEqual(Array.from(s.labels.slice(85)));
    expect(splitValidation(s, 0, 1).validation.indices.length).toBe(0);
    expect(() => splitValidation(s, 1, 1)).toThrow();
  });
});

describe('epochOrder', () => {
  it('is a permutation, different per epoch, same for the same (seed, epoch)', () => {
    const e0 = epochOrder(500, 9, 0);
    const e1 = epochOrder(500, 9, 1);
    for (const e of [e0, e1]) expect(Array.from(e).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(Array.from(e0)).not.toEqual(Array.from(e1));
    expect(Array.from(epochOrder(500, 9, 1))).toEqual(Array.from(e1));
    expect(Array.from(epochOrder(500, 10, 1))).not.toEqual(Array.from(e1));
  });
});

describe('batches', () => {
  // 4 images of 2 pixels: image i has pixels [i*50, 255]
  const images = Uint8Array.from([0, 255, 50, 255, 100, 255, 150, 255]);
  const indices = Uint32Array.of(3, 1, 2);
  const labels = Uint8Array.of(2, 0, 1);

  it('fillBatch gathers through indices and order and scales to [0, 1]', () => {
    const out = new Float32Array(4).fill(-1);
    const order = Uint32Array.of(2, 0, 1);
    expect(fillBatch(images, 2, indices, order, 0, 2, out)).toBe(2);
    expect(Array.from(out)).toEqual([Math.fround(100 / 255), 1, Math.fround(150 / 255), 1]);
    // the last batch is clipped
    expect(fillBatch(images, 2, indices, order, 2, 2, out)).toBe(1);
    expect(out[0]).toBeCloseTo(50 / 255);
    // null order = selection order
    fillBatch(images, 2, indices, null, 0, 1, out);
    expect(out[0]).toBeCloseTo(150 / 255);
  });

  it('oneHot and sparseLabels follow the same order', () => {
    const out = new Float32Array(6).fill(7);
    expect(oneHot(labels, Uint32Array.of(1, 2, 0), 0, 2, 3, out)).toBe(2);
    expect(Array.from(out)).toEqual([1, 0, 0, 0, 1, 0]);
    const sp = new Int32Array(3);
    expect(sparseLabels(labels, Uint32Array.of(1, 2, 0), 0, 3, sp)).toBe(3);
    expect(Array.from(sp)).toEqual([0, 1, 2]);
  });

  it('refuses a too-small buffer', () => {
    expect(() => fillBatch(images, 2, indices, null, 0, 3, new Float32Array(4))).toThrow(RangeError);
  });
});
