/**
 * Crash-safe file writes for the run record. A reader (or a later `cnnc` command) must never see
 * half a results.json: we write a temp file in the same directory (same file system, so rename
 * is atomic), fsync it, then rename over the target. A crash leaves at most a stray
 * `.<name>.<pid>.<random>.tmp`, never a partial target.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** fsync a directory so a rename/create in it survives power loss; not all platforms allow it. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows and some file systems refuse to open/fsync directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The temp name used for `path`; exported for tests and for cleaning up after a crash. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = tempNameFor(path);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    try {
      writeAll(fd, toBytes(data));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone (or never created): nothing to clean up
    }
    throw e;
  }
  fsyncDir(dirname(path));
}

/** Pretty-printed JSON with a trailing newline, written atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Appends `line + "\n"` with a single write on an O_APPEND descriptor, so concurrent appenders
 * never interleave inside a line and a crash loses at most the last line. `fsync: true` is for
 * boundaries worth surviving a power cut (the end of an epoch).
 */
export function appendLine(path: string, line: string, opts: { fsync?: boolean } = {}): void {
  const buf = Buffer.from(`${line}\n`, 'utf8');
  const fd = openSync(path, 'a', 0o644);
  try {
    writeAll(fd, buf);
    if (opts.fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
