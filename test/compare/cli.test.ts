/**
 * Exit codes and streams of `cnnc diff` and `cnnc runs` through the compiled CLI
 * (`npm test` compiles before vitest runs).
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeRun, tempDir, variant } from './helpers.js';

const dir = tempDir('cnnc-cli-compare-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cnnc(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/cnnc.js', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cnnc diff', () => {
  it('exits 0 when the configs differ, and prints the differences', () => {
    const r = cnnc('diff', 'configs/mnist.yaml', 'configs/mnist-valid.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('layers[0].conv2d.padding:  same → valid');
    expect(r.stdout).toContain('421,642 → 225,034');
    expect(r.stderr).toBe('');
  });

  it('exits 0 when they do not, and --json is one JSON document', () => {
    const r = cnnc('diff', 'configs/mnist.yaml', 'configs/mnist.yaml', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.sameConfig).toBe(true);
    expect(j.config).toEqual([]);
    expect(j.totals.totalParams).toEqual([421_642, 421_642]);
  });

  it('compares three sources, runs among them', () => {
    const run = fakeRun(join(dir, 'runs'), {
      config: 'configs/mnist.yaml',
      startedAt: '2026-12-04T15:30:12.000Z',
      seconds: 300,
      losses: { 0: [0.15, 0.04, 0.03, 0.02, 0.018] },
      accuracy: { 1: 0.9905, 3: 0.9912 },
    });
    const r = cnnc('diff', run, 'configs/mnist.yaml', 'configs/mnist-valid.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\S+mnist-cnn\S+ +mnist-cnn +same +same +\[28, 28, 14, 14, 7\] +421,642 +99\.12%$/m);
  });

  it('exits 2 on fewer than two sources or a missing path', () => {
    const one = cnnc('diff', 'configs/mnist.yaml');
    expect(one.code).toBe(2);
    expect(one.stderr).toBe('cnnc: diff needs at least two experiment files or run directories (got 1)\n');
    const none = cnnc('diff');
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("cnnc: missing <sources...>: two or more experiment files or run directories (see 'cnnc --help')\n");
    const missing = cnnc('diff', 'configs/mnist.yaml', 'configs/nope.yaml');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('cnnc: configs/nope.yaml: no such file or directory\n');
    const notRun = cnnc('diff', 'configs/mnist.yaml', 'configs');
    expect(notRun.code).toBe(2);
    expect(notRun.stderr).toMatch(/configs: not a cnnc run directory/);
  });

  it('exits 1 with the diagnostics when a config has errors', () => {
    const broken = variant(dir, 'mnist.yaml', 'broken.yaml', [['units: 10,', 'units: 7,']]);
    const r = cnnc('diff', 'configs/mnist.yaml', broken);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+: error: the model outputs 7 values/);
    expect(r.stdout).toBe('');
  });
});

describe('cnnc runs', () => {
  it('says so when there are no runs, and exits 0', () => {
    const r = cnnc('runs', '--dir', join(dir, 'none'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`no runs in ${join(dir, 'none')}\n`);
    expect(JSON.parse(cnnc('runs', '--dir', join(dir, 'none'), '--json').stdout)).toEqual([]);
  });

  it('lists runs as a table and as JSON', () => {
    const runs = join(dir, 'listed');
    fakeRun(runs, { config: 'configs/mnist-valid.yaml', startedAt: '2026-12-04T16:02:40.000Z', seconds: 221, seed: 3, accuracy: { 3: 0.9887 } });
    const r = cnnc('runs', '--dir', runs);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^mnist-cnn-valid +2026-12-04T16:02Z +complete +wasm +3 +225,034 +98\.87% +3m 41s +\S+$/m);
    const j = JSON.parse(cnnc('runs', '--dir', runs, '--json').stdout);
    expect(j).toHaveLength(1);
    expect(j[0]).toMatchObject({ name: 'mnist-cnn-valid', status: 'complete', seed: 3, params: 225_034, testAccuracy: 0.9887, durationSeconds: 221 });
  });

  it('takes --runs-dir for --dir, and refuses a stray argument', () => {
    expect(cnnc('runs', '--runs-dir', join(dir, 'none')).stdout).toBe(`no runs in ${join(dir, 'none')}\n`);
    const r = cnnc('runs', join(dir, 'none'));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`cnnc: unexpected argument '${join(dir, 'none')}' (see 'cnnc --help')\n`);
  });

  it('exits 2 when --dir is a file', () => {
    const r = cnnc('runs', '--dir', 'package.json');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cnnc: package.json is not a directory\n');
  });
});
