import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, readIdx, readIdxPair } from '../../src/data/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnc-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX file: magic (0, 0, type, ndims), big-endian dims, then `data` (or `dataBytes` zeros). */
function idx(name: string, dims: number[], data: Uint8Array | number, opts: { type?: number; magic?: number } = {}): string {
  const header = Buffer.alloc(4 + 4 * dims.length);
  if (opts.magic !== undefined) header.writeUInt32BE(opts.magic, 0);
  else header.set([0, 0, opts.type ?? 0x08, dims.length]);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([header, body]));
  return path;
}

function dataError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('readIdx', () => {
  it('reads a valid images file and a valid labels file', () => {
    const pixels = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    const img = readIdx(idx('ok-images-idx3-ubyte', [2, 3, 4], pixels));
    expect(img.dims).toEqual([2, 3, 4]);
    expect(Array.from(img.data)).toEqual(Array.from(pixels));
    const lab = readIdx(idx('ok-labels-idx1-ubyte', [3], Uint8Array.of(0, 9, 5)));
    expect(lab.dims).toEqual([3]);
    expect(Array.from(lab.data)).toEqual([0, 9, 5]);
  });

  it('missing file → not found, naming the file', () => {
    const p = join(dir, 'nope-images-idx3-ubyte');
    const e = dataError(() => readIdx(p));
    expect(e.file).toBe(p);
    expect(e.message).toBe(`${p}: not found`);
  });

  it('a directory instead of a file', () => {
    const p = join(dir, 'adir-images-idx3-ubyte');
    mkdirSync(p);
    expect(dataError(() => readIdx(p)).reason).toMatch(/is a directory/);
  });

  it('file shorter than the magic number', () => {
    const p = join(dir, 'tiny-images-idx3-ubyte');
    writeFileSync(p, Uint8Array.of(0, 0));
    expect(dataError(() => readIdx(p)).reason).toMatch(/^truncated: 2 bytes/);
  });

  it('truncated header', () => {
    const p = join(dir, 'hdr-images-idx3-ubyte');
    writeFileSync(p, Uint8Array.of(0, 0, 8, 3, 0, 0, 0, 1));
    expect(dataError(() => readIdx(p)).reason).toBe('truncated header: 3 dimensions need a 16-byte header but the file has 8 bytes');
  });

  it('truncated data, with the sizes spelled out', () => {
    const p = idx('train-images-idx3-ubyte', [60000, 28, 28], 1000);
    const e = dataError(() => readIdx(p));
    expect(e.reason).toBe('truncated: header says 60000×28×28 = 47,040,000 bytes of pixels but the file has 1,000');
    expect(e.message.startsWith(p)).toBe(true);
  });

  it('trailing bytes', () => {
    expect(dataError(() => readIdx(idx('long-labels-idx1-ubyte', [2], 5))).reason).toMatch(/3 unexpected trailing bytes/);
  });

  it('wrong magic', () => {
    const p = idx('bad-images-idx3-ubyte', [1, 1, 1], 1, { magic: 0x12345678 });
    expect(dataError(() => readIdx(p)).reason).toBe(
      'wrong magic 0x12345678, expected 0x00000803 (IDX unsigned-byte, 3 dimensions) — not an IDX file',
    );
  });

  it('wrong element type', () => {
    const p = idx('float-images-idx3-ubyte', [1, 1, 1], 4, { type: 0x0d });
    expect(dataError(() => readIdx(p)).reason).toMatch(/element type 0x0d is not unsigned byte/);
  });

  it('wrong number of dimensions for the kind', () => {
    const p = idx('flat-images-idx3-ubyte', [4], 4);
    expect(dataError(() => readIdx(p)).reason).toBe(
      'wrong magic 0x00000801, expected 0x00000803 (IDX unsigned-byte, 3 dimensions) — 1 dimension',
    );
    const q = idx('cube-labels-idx1-ubyte', [1, 1, 1], 1);
    expect(dataError(() => readIdx(q)).reason).toMatch(/expected 0x00000801 \(IDX unsigned-byte, 1 dimension\)/);
  });

  it('kind can be given explicitly, or left open for unconventional names', () => {
    const p = idx('whatever.bin', [2], Uint8Array.of(1, 2));
    expect(readIdx(p).dims).toEqual([2]);
    expect(dataError(() => readIdx(p, 'images')).reason).toMatch(/^wrong magic/);
  });

  it('label above 9', () => {
    const p = idx('big-labels-idx1-ubyte', [4], Uint8Array.of(1, 2, 10, 3));
    expect(dataError(() => readIdx(p)).reason).toBe('label 10 at index 2 is outside 0..9');
  });

  it('images/labels count mismatch names both files', () => {
    const im = idx('pair-images-idx3-ubyte', [3, 2, 2], 12);
    const lb = idx('pair-labels-idx1-ubyte', [2], 2);
    const e = dataError(() => readIdxPair(im, lb));
    expect(e.file).toBe(lb);
    expect(e.reason).toBe(`has 2 labels but ${im} has 3 images`);
  });

  it('converts to a whole-file diagnostic', () => {
    const d = dataError(() => readIdx(join(dir, 'gone-labels-idx1-ubyte'))).toDiagnostic();
    expect(d).toMatchObject({ line: 0, column: 0, severity: 'error', message: 'not found' });
  });
});
