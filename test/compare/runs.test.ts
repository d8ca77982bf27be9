import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDuration, formatRuns, listRuns, RunsDirError } from '../../src/compare/runs-list.js';
import { fakeRun, tempDir } from './helpers.js';

const runs = tempDir('cnnc-runs-');
afterAll(() => rmSync(runs, { recursive: true, force: true }));

const done = fakeRun(runs, {
  config: 'configs/mnist.yaml',
  startedAt: '2026-12-04T15:30:12.000Z',
  seconds: 312,
  seed: 7,
  losses: { 0: [0.15, 0.045, 0.031, 0.023, 0.018], 2: [0.01, 0.009] },
  accuracy: { 1: 0.9905, 3: 0.9912 },
});
const bare = fakeRun(runs, {
  config: 'configs/mnist-valid.yaml',
  startedAt: '2026-12-04T16:02:40.000Z',
  seconds: 3780,
  backend: 'tensorflow',
  accuracy: { 1: 0.9879 },
  bareSummary: true,
});
const running = fakeRun(runs, { config: 'configs/mnist.yaml', startedAt: '2026-12-05T09:00:00.000Z', losses: { 0: [0.16, 0.05] } });
const failed = fakeRun(runs, { config: 'configs/mnist.yaml', startedAt: '2026-12-03T08:00:00.000Z', seconds: 42, status: 'failed' });
const corrupt = fakeRun(runs, { config: 'configs/mnist-valid.yaml', startedAt: '2026-12-02T07:06:05.000Z', seconds: 10 });
writeFileSync(join(corrupt, 'manifest.json'), '{"status": "comp');
// Leftovers a listing must step over: a staging directory and a stray file.
mkdirSync(join(runs, 'mnist-cnn', '.staging-abc'));
writeFileSync(join(runs, 'notes.txt'), 'not a run\n');

describe('listRuns', () => {
  const rows = listRuns(runs);

  it('lists every run newest first', () => {
    expect(rows.map((r) => r.dir)).toEqual([running, bare, done, failed, corrupt].map((d) => join(runs, basename(join(d, '..')), basename(d))));
  });

  it('reads status, backend, parameters, accuracy and duration', () => {
    expect(rows[2]).toMatchObject({
      name: 'mnist-cnn',
      when: '2026-12-04T15:30Z',
      status: 'complete',
      backend: 'wasm',
      seed: 7,
      params: 421_642,
      testAccuracy: 0.9912,
      durationSeconds: 312,
    });
    // No totalParams in summary.json: counted again from resolved.yaml.
    expect(rows[1]).toMatchObject({ name: 'mnist-cnn-valid', params: 225_034, testAccuracy: 0.9879, backend: 'tensorflow', seed: 42 });
    expect(rows[0]).toMatchObject({ status: 'running', durationSeconds: null, testAccuracy: null, endedAt: null });
    expect(rows[3]).toMatchObject({ status: 'failed', durationSeconds: 42 });
  });

  it('a corrupt manifest is a row marked unreadable, dated from the directory name', () => {
    expect(rows[4]).toMatchObject({ name: 'mnist-cnn-valid', status: 'unreadable', when: '2026-12-02T07:06Z', backend: null, seed: null, params: 225_034 });
    expect(rows[4].error).toMatch(/^manifest\.json: /);
  });

  it('formats a table', () => {
    const lines = formatRuns(rows).split('\n');
    expect(lines[0].split(/ {2,}/)).toEqual(['name', 'started (UTC)', 'status', 'backend', 'seed', 'params', 'test acc', 'duration', 'run directory']);
    expect(lines[1].split(/ {2,}/).slice(0, 8)).toEqual(['mnist-cnn', '2026-12-05T09:00Z', 'running', 'wasm', '42', '421,642', '—', '—']);
    expect(lines[2].split(/ {2,}/).slice(0, 8)).toEqual(['mnist-cnn-valid', '2026-12-04T16:02Z', 'complete', 'tensorflow', '42', '225,034', '98.79%', '1h 03m']);
    expect(lines[3]).toMatch(/wasm +7 +421,642 +99\.12% +5m 12s/);
    expect(lines[5]).toMatch(/unreadable +— +— +225,034 +— +— /);
  });

  it('a missing directory has no runs; a file is refused', () => {
    expect(listRuns(join(runs, 'nowhere'))).toEqual([]);
    expect(() => listRuns(join(runs, 'notes.txt'))).toThrow(RunsDirError);
  });

  it('durations read at a glance', () => {
    expect([null, 42, 252, 3780].map(formatDuration)).toEqual(['—', '42s', '4m 12s', '1h 03m']);
  });
});
