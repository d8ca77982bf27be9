import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { checkWritable, configHash, createRunDir, runTimestamp, RunDirError } from '../../src/record/run-dir.js';

const root = mkdtempSync(join(tmpdir(), 'cnnc-runs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const HASH = configHash('name: x\n');
const NOW = new Date('2026-12-04T15:30:12.345Z');

describe('createRunDir', () => {
  it('runs/<name>/<UTC timestamp>-<8 hex>/', () => {
    expect(HASH).toMatch(/^[0-9a-f]{64}$/);
    expect(runTimestamp(NOW)).toBe('20261204T153012Z');
    const d = createRunDir(join(root, 'runs'), 'mnist-small', HASH, NOW);
    expect(d).toBe(join(root, 'runs', 'mnist-small', `20261204T153012Z-${HASH.slice(0, 8)}`));
    expect(statSync(d).isDirectory()).toBe(true);
  });

  it('10 concurrent runs in the same second get 10 distinct directories', async () => {
    const runs = join(root, 'concurrent');
    const dirs = await Promise.all(
      Array.from({ length: 10 }, () => Promise.resolve().then(() => createRunDir(runs, 'exp', HASH, NOW))),
    );
    expect(new Set(dirs).size).toBe(10);
    const base = `20261204T153012Z-${HASH.slice(0, 8)}`;
    expect(dirs.map((d) => basename(d)).sort()).toEqual(
      [base, ...Array.from({ length: 9 }, (_, i) => `${base}-${i + 2}`)].sort(),
    );
    for (const d of dirs) expect(dirname(d)).toBe(join(runs, 'exp'));
  });

  it('10 separate processes racing for the same name get 10 distinct directories', async () => {
    // run-dir.ts imports only node:*, so a plain transpile runs it in child processes.
    const js = ts.transpileModule(readFileSync(resolve('src/record/run-dir.ts'), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const work = mkdtempSync(join(root, 'procs-'));
    writeFileSync(join(work, 'run-dir.mjs'), js);
    writeFileSync(
      join(work, 'child.mjs'),
      `import { createRunDir } from './run-dir.mjs';
       process.stdout.write(createRunDir(process.argv[2], 'exp', '${HASH}', new Date('${NOW.toISOString()}')));`,
    );
    const runs = join(work, 'runs');
    const outs = await Promise.all(
      Array.from({ length: 10 }, () =>
        new Promise<string>((ok, fail) =>
          execFile(process.execPath, [join(work, 'child.mjs'), runs], (err, stdout) => (err ? fail(err) : ok(stdout))),
        ),
      ),
    );
    expect(new Set(outs).size).toBe(10);
    expect(readdirSync(join(runs, 'exp')).length).toBe(10);
  });

  it('refuses names that would escape the runs directory', () => {
    for (const bad of ['..', '../x', 'a/b', '/etc', 'a\\b', '.hidden', '', 'a/../../b', 'x..y']) {
      expect(() => createRunDir(join(root, 'runs'), bad, HASH, NOW)).toThrow(RunDirError);
    }
    expect(existsSync(join(root, 'x'))).toBe(false);
  });

  it('refuses a hash that is not hex', () => {
    expect(() => createRunDir(join(root, 'runs'), 'ok', '../../../', NOW)).toThrow(/not hex/);
  });

  it('explains a file in the way', () => {
    const runs = join(root, 'blocked');
    mkdirSync(runs);
    writeFileSync(join(runs, 'exp'), 'not a dir');
    expect(() => createRunDir(runs, 'exp', HASH, NOW)).toThrow(/regular file, not a directory/);
  });
});

describe('checkWritable', () => {
  it('creates the runs directory and leaves nothing behind', () => {
    const runs = join(root, 'fresh', 'runs');
    expect(checkWritable(runs)).toBeNull();
    expect(readdirSync(runs)).toEqual([]);
  });

  it('runs dir is an existing regular file', () => {
    const f = join(root, 'afile');
    writeFileSync(f, 'x');
    const msg = checkWritable(f);
    expect(msg).toMatch(/regular file, not a directory/);
    expect(msg).toContain(f);
  });

  it('a parent of the runs dir is a regular file (ENOTDIR)', () => {
    const f = join(root, 'afile2');
    writeFileSync(f, 'x');
    expect(checkWritable(join(f, 'runs'))).toMatch(/regular file, not a directory/);
  });
});
