/**
 * Creates `runs/<name>/<UTC timestamp>-<config hash>/`. The last level is created with a
 * non-recursive mkdir, which fails with EEXIST instead of silently sharing a directory, so two
 * runs started in the same second with the same config get `…-2`, `…-3` rather than colliding.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_SUFFIX = 1000;

export class RunDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunDirError';
  }
}

/** Full hex sha256 of the resolved config text; run directories use its first 8 characters. */
export function configHash(resolvedText: string): string {
  return createHash('sha256').update(resolvedText, 'utf8').digest('hex');
}

/** `20261204T153012Z` */
export function runTimestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Creates the run directory and returns its absolute path. Throws RunDirError on a bad name. */
export function createRunDir(runsDir: string, name: string, configHashHex: string, now: Date = new Date()): string {
  // The schema already restricts names; checked again because this is where a bad one would escape.
  if (!NAME.test(name) || name.includes('..') || name.includes('/') || name.includes('\\')) {
    throw new RunDirError(
      `experiment name ${JSON.stringify(name)} cannot be a directory name: use letters, digits, '.', '_' and '-', starting with a letter or digit, and no '..'`,
    );
  }
  const short = configHashHex.slice(0, 8).toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(short)) throw new RunDirError(`config hash ${JSON.stringify(configHashHex)} is not hex`);

  const root = resolve(runsDir);
  const parent = resolve(root, name);
  const rel = relative(root, parent);
  // exactly one path segment below root
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.includes(sep)) {
    throw new RunDirError(`experiment name ${JSON.stringify(name)} would place the run outside ${root}`);
  }
  try {
    mkdirSync(parent, { recursive: true });
  } catch (e) {
    throw new RunDirError(explainFsError(runsDir, e));
  }

  const base = `${runTimestamp(now)}-${short}`;
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const dir = join(parent, n === 1 ? base : `${base}-${n}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new RunDirError(explainFsError(runsDir, e));
    }
  }
  throw new RunDirError(`more than ${MAX_SUFFIX} runs of ${name} named ${base} already exist in ${parent}`);
}

/** Plain-words explanation of a file-system error while preparing `runsDir`. */
export function explainFsError(runsDir: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return `cannot write to the runs directory ${runsDir}: permission denied (check its owner and permissions, or pass another --runs-dir)`;
    case 'ENOSPC':
      return `cannot write to the runs directory ${runsDir}: the disk is full`;
    case 'EDQUOT':
      return `cannot write to the runs directory ${runsDir}: your disk quota is exhausted`;
    case 'EROFS':
      return `cannot write to the runs directory ${runsDir}: it is on a read-only file system`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `cannot use ${runsDir} as the runs directory: it (or one of its parent folders) is a regular file, not a directory`;
    case 'ENAMETOOLONG':
      return `cannot use ${runsDir} as the runs directory: the path is too long`;
    default:
      return `cannot write to the runs directory ${runsDir}: ${err.message ?? String(e)}`;
  }
}

/**
 * Creates `runsDir` if needed and proves it writable by creating and removing a probe file —
 * before training, so a long run never fails at the end for want of somewhere to save.
 * Returns null when writable, else a message for the user (never throws).
 */
export function checkWritable(runsDir: string): string | null {
  try {
    mkdirSync(runsDir, { recursive: true });
    if (!statSync(runsDir).isDirectory()) {
      return explainFsError(runsDir, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
    }
    const probe = join(runsDir, `.cnnc-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    writeFileSync(probe, 'probe\n', { flag: 'wx' });
    unlinkSync(probe);
    return null;
  } catch (e) {
    return explainFsError(runsDir, e);
  }
}
