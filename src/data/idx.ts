/**
 * A reader for the IDX format MNIST ships in (http://yann.lecun.com/exdb/mnist/): a 4-byte magic
 * (0, 0, type, ndims), ndims big-endian uint32 sizes, then the values. We only accept the
 * unsigned-byte type (0x08), because that is all MNIST uses; everything else is a DataError
 * naming the file, so a corrupt download never reaches the engine as garbage pixels.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Diagnostic } from '../diagnostics.js';

export interface IdxArray {
  dims: number[];
  /** The values after the header, as a view into the file buffer (no copy). */
  data: Uint8Array;
}

/** `images` = 3 dimensions (count, rows, cols); `labels` = 1 dimension (count), values 0..9. */
export type IdxKind = 'images' | 'labels';

const UNSIGNED_BYTE = 0x08;
const EXPECTED_DIMS: Record<IdxKind, number> = { images: 3, labels: 1 };

/** A problem with a data file. `message` is `file: reason`; `reason` is without the file. */
export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'DataError';
  }

  /** For the CLI: a whole-file diagnostic (line 0 = no position). */
  toDiagnostic(): Diagnostic {
    return { file: this.file, line: 0, column: 0, path: '', severity: 'error', message: this.reason };
  }
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const hex8 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

function magicFor(kind: IdxKind): number {
  return (UNSIGNED_BYTE << 8) | EXPECTED_DIMS[kind];
}

function describeMagic(kind: IdxKind): string {
  const n = EXPECTED_DIMS[kind];
  return `${hex8(magicFor(kind))} (IDX unsigned-byte, ${n} dimension${n === 1 ? '' : 's'})`;
}

/** Guesses the kind from MNIST's naming (`…-idx3-…` / `…-idx1-…`); null when it can't. */
function kindFromName(path: string): IdxKind | null {
  if (/idx3/i.test(path)) return 'images';
  if (/idx1/i.test(path)) return 'labels';
  return null;
}

function readWhole(path: string): Buffer {
  try {
    // stat first: readFileSync on a directory gives EISDIR on Linux but not everywhere.
    if (statSync(path).isDirectory()) throw new DataError(path, 'is a directory, not an IDX file');
    return readFileSync(path);
  } catch (e) {
    if (e instanceof DataError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(path, 'not found');
    if (code === 'EISDIR') throw new DataError(path, 'is a directory, not an IDX file');
    if (code === 'EACCES' || code === 'EPERM') throw new DataError(path, 'permission denied');
    throw new DataError(path, `cannot read: ${(e as Error).message}`);
  }
}

/**
 * Reads and checks one IDX file. `kind` defaults to a guess from the file name; when neither
 * works, any unsigned-byte IDX file with 1 or 3 dimensions is accepted.
 */
export function readIdx(path: string, kind: IdxKind | null = kindFromName(path)): IdxArray {
  const buf = readWhole(path);
  if (buf.length < 4) {
    throw new DataError(path, `truncated: ${fmt(buf.length)} bytes, too short for the 4-byte IDX magic number`);
  }
  const magic = buf.readUInt32BE(0);
  const ndims = buf[3]!;
  const kinds: IdxKind[] = kind ? [kind] : ['images', 'labels'];
  const matched = kinds.find((k) => magic === magicFor(k));
  if (!matched) {
    const expected = kinds.map(describeMagic).join(' or ');
    let why = '';
    if (buf[0] !== 0 || buf[1] !== 0) why = ' — not an IDX file';
    else if (buf[2] !== UNSIGNED_BYTE) why = ` — element type 0x${buf[2]!.toString(16).padStart(2, '0')} is not unsigned byte`;
    else why = ` — ${ndims} dimension${ndims === 1 ? '' : 's'}`;
    throw new DataError(path, `wrong magic ${hex8(magic)}, expected ${expected}${why}`);
  }

  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes) {
    throw new DataError(
      path,
      `truncated header: ${ndims} dimensions need a ${headerBytes}-byte header but the file has ${fmt(buf.length)} bytes`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const expectedData = dims.reduce((a, b) => a * b, 1);
  const actualData = buf.length - headerBytes;
  const what = matched === 'images' ? 'bytes of pixels' : 'labels';
  if (actualData < expectedData) {
    throw new DataError(
      path,
      `truncated: header says ${dims.join('×')} = ${fmt(expectedData)} ${what} but the file has ${fmt(actualData)}`,
    );
  }
  if (actualData > expectedData) {
    throw new DataError(
      path,
      `${fmt(actualData - expectedData)} unexpected trailing bytes: header says ${dims.join('×')} = ${fmt(expectedData)} ${what} but the file has ${fmt(actualData)}`,
    );
  }

  const data = new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, expectedData);
  if (matched === 'labels') {
    for (let i = 0; i < data.length; i++) {
      if (data[i]! > 9) throw new DataError(path, `label ${data[i]} at index ${fmt(i)} is outside 0..9`);
    }
  }
  return { dims, data };
}

/** Reads an images file and its labels file and checks they describe the same examples. */
export function readIdxPair(imagesPath: string, labelsPath: string): { images: IdxArray; labels: IdxArray } {
  const images = readIdx(imagesPath, 'images');
  const labels = readIdx(labelsPath, 'labels');
  if (images.dims[0] !== labels.dims[0]) {
    throw new DataError(
      labelsPath,
      `has ${fmt(labels.dims[0]!)} labels but ${imagesPath} has ${fmt(images.dims[0]!)} images`,
    );
  }
  return { images, labels };
}
