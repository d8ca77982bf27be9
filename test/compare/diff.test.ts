import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { compare, comparisonJson, formatComparison, sparkline } from '../../src/compare/diff.js';
import { SourceError, loadSource } from '../../src/compare/sources.js';
import { fakeRun, tempDir, variant } from './helpers.js';

const dir = tempDir('cnnc-diff-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pair = (a: string, b: string) => compare([loadSource(a), loadSource(b)]);

describe('two configs', () => {
  const c = pair('configs/mnist.yaml', 'configs/mnist-valid.yaml');

  it('lists the config paths that differ, padding included', () => {
    expect(c.config.map((r) => r.path)).toEqual(['name', 'layers[0].conv2d.padding', 'layers[2].conv2d.padding', 'shapeFlow']);
    expect(c.config[1].values).toEqual(['same', 'valid']);
  });

  it('compares layers by position and the totals', () => {
    expect(c.layers.filter((r) => r.differs).map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(c.layers[5].cells.map((x) => x?.params)).toEqual([401_536, 204_928]);
    expect(c.totals.totalParams).toEqual([421_642, 225_034]);
    expect(c.totals.shapeFlow).toEqual([[28, 28, 14, 14, 7], [28, 26, 13, 11, 5]]);
    expect(c.metrics).toEqual([]);
  });

  it('renders the differences as text', () => {
    const text = formatComparison(c);
    expect(text).toMatch(/^A {2}configs\/mnist\.yaml +config, mnist-cnn$/m);
    expect(text).toMatch(/layers\[0\]\.conv2d\.padding: +same → valid/);
    expect(text).toMatch(/5 +dense_1 \(dense\) +\[128\] +401,536 → 204,928/);
    expect(text).toMatch(/4 +flatten_1 \(flatten\) +\[3136\] → \[1600\]/);
    expect(text).toContain('total params       421,642 → 225,034  (−196,608, −46.6%)');
    expect(text).toContain('28 → 28 → 14 → 14 → 7  vs  28 → 26 → 13 → 11 → 5');
    expect(text).not.toContain('dense_2'); // the unchanged head is left out
  });

  it('carries the same in JSON', () => {
    const j = JSON.parse(JSON.stringify(comparisonJson(c)));
    expect(j.sources).toEqual([
      { label: 'configs/mnist.yaml', kind: 'config', name: 'mnist-cnn', totalParams: 421_642, finalTestAccuracy: null },
      { label: 'configs/mnist-valid.yaml', kind: 'config', name: 'mnist-cnn-valid', totalParams: 225_034, finalTestAccuracy: null },
    ]);
    expect(j.sameConfig).toBe(false);
    expect(j.config).toContainEqual({ path: 'layers[2].conv2d.padding', values: ['same', 'valid'] });
    expect(j.layers).toHaveLength(7);
    expect(j.layers[6]).toEqual({
      index: 6,
      differs: false,
      cells: [0, 1].map(() => ({ name: 'dense_2', type: 'dense', outputShape: [10], params: 1290 })),
    });
    expect(j.totals.shapeFlow[1]).toEqual([28, 26, 13, 11, 5]);
    expect(j.metrics).toEqual([]);
  });

  it('a dense units change', () => {
    const narrow = variant(dir, 'mnist.yaml', 'narrow.yaml', [['units: 128', 'units: 64']]);
    const d = pair('configs/mnist.yaml', narrow);
    expect(d.config.map((r) => [r.path, ...r.values])).toEqual([['layers[5].dense.units', 128, 64]]);
    expect(d.layers.filter((r) => r.differs).map((r) => r.index)).toEqual([5, 6]);
    expect(formatComparison(d)).toContain('layers[5].dense.units:  128 → 64');
  });

  it('identical configs say so', () => {
    const text = formatComparison(pair('configs/mnist.yaml', 'configs/mnist.yaml'));
    expect(text).toContain('config: the same');
    expect(text).toContain('layers: the same (7)');
  });

  it('absent keys show as (absent) in text and in JSON', () => {
    const extra = variant(dir, 'mnist.yaml', 'extra.yaml', [['  - dense: {units: 10', '  - dropout: {rate: 0.5}\n  - dense: {units: 10']]);
    const d = pair('configs/mnist.yaml', extra);
    expect(formatComparison(d)).toMatch(/layers\[7\]: +\(absent\) → \{dense: /);
    const row = comparisonJson(d).config.find((r) => r.path === 'layers[7]');
    expect(row).toMatchObject({ values: [null, expect.any(Object)], absent: [0] });
  });
});

describe('three sources', () => {
  it('one table: a row per source, differing paths as columns', () => {
    const narrow = variant(dir, 'mnist.yaml', 'narrow3.yaml', [['units: 128', 'units: 64'], ['name: mnist-cnn', 'name: mnist-narrow']]);
    const c = compare(['configs/mnist.yaml', 'configs/mnist-valid.yaml', narrow].map(loadSource));
    const lines = formatComparison(c).split('\n');
    expect(lines[0]).toBe('config: 5 paths differ');
    expect(lines[1].split(/ {2,}/)).toEqual([
      'source', 'name', 'layers[0].conv2d.padding', 'layers[2].conv2d.padding', 'layers[5].dense.units', 'shapeFlow', 'total params', 'test accuracy',
    ]);
    expect(lines[3].split(/ {2,}/)).toEqual(['configs/mnist-valid.yaml', 'mnist-cnn-valid', 'valid', 'valid', '128', '[28, 26, 13, 11, 5]', '225,034', '—']);
    expect(lines[4]).toMatch(/narrow3\.yaml +mnist-narrow +same +same +64 /);
  });

  it('a stage that only inherits the top-level data is not repeated', () => {
    const c = compare(['configs/mnist.yaml', 'configs/mnist-valid.yaml', 'configs/mnist-transfer.yaml'].map(loadSource));
    const paths = c.config.map((r) => r.path);
    expect(paths).toContain('data.classes');
    expect(paths).not.toContain('stages[0].train.data.classes'); // inherited from data.classes
    expect(paths).toContain('stages[2].finetune.data.classes'); // overridden: digits 5–9
    expect(formatComparison(c).split('\n')[1]).toMatch(/^source +name +data\.classes +layers\[0\]/);
    // Eleven paths are too wide for a 160-column terminal: the table is turned.
    const text = formatComparison(c, { width: 160 });
    expect(text).toMatch(/^shapeFlow +\[28, 28, 14, 14, 7\] +\[28, 26, 13, 11, 5\] +\[28, 28, 14, 14, 7\]$/m);
    expect(text).toMatch(/^total params +421,642 +225,034 +420,997$/m);
  });
});

describe('runs', () => {
  const runs = tempDir('cnnc-diff-runs-');
  afterAll(() => rmSync(runs, { recursive: true, force: true }));
  const a = fakeRun(runs, {
    config: 'configs/mnist.yaml',
    startedAt: '2026-12-04T15:30:12.000Z',
    seconds: 312,
    losses: { 0: [0.1523, 0.0452, 0.0311, 0.0234, 0.0178], 2: [0.0102, 0.0089] },
    accuracy: { 1: 0.9905, 3: 0.9912 },
  });
  const b = fakeRun(runs, {
    config: 'configs/mnist-valid.yaml',
    startedAt: '2026-12-04T16:02:40.000Z',
    seconds: 221,
    losses: { 0: [0.1611, 0.0498, 0.035, 0.0271, 0.0205], 2: [0.0121, 0.0104] },
    accuracy: { 1: 0.9879, 3: 0.9887 },
  });

  it('loads a run from its record', () => {
    const s = loadSource(a);
    expect(s.kind).toBe('run');
    expect(s.experiment.name).toBe('mnist-cnn');
    expect(s.inference.totalParams).toBe(421_642);
    expect(s.epochs).toHaveLength(7);
    expect(s.results?.map((r) => r.stageIndex)).toEqual([1, 3]);
    expect(s.manifest?.status).toBe('complete');
  });

  it('puts each stage’s final metrics side by side', () => {
    const c = pair(a, b);
    expect(c.metrics.map((m) => `${m.stageIndex} ${m.kind}`)).toEqual(['0 train', '1 evaluate', '2 finetune', '3 evaluate']);
    expect(c.metrics[0].cells[0]).toMatchObject({ loss: 0.0178, epochs: { loss: [0.1523, 0.0452, 0.0311, 0.0234, 0.0178] } });
    expect(c.sources.map((s) => s.finalTestAccuracy)).toEqual([0.9912, 0.9887]);
    const text = formatComparison(c);
    expect(text).toMatch(/^A {2}\S+ +run of mnist-cnn, complete, started 2026-12-04T15:30Z, wasm$/m);
    expect(text).toMatch(/stage 3 evaluate +loss +0\.0106 → 0\.0136 +\(\+0\.0030\)/);
    expect(text).toMatch(/^ +accuracy +99\.12% → 98\.87% +\(−0\.25 pt\)$/m);
    expect(text).toMatch(/stage 0 train +A +█▂▂▁▁ +0\.1523 → 0\.0178/);
    expect(text).toMatch(/^ +B +█▃▂▁▁ +0\.1611 → 0\.0205$/m);
  });

  it('compares a run with a config (metrics on the run side only)', () => {
    const c = pair(a, 'configs/mnist.yaml');
    expect(c.config).toEqual([]);
    expect(c.metrics[1].cells[1]).toBeNull();
    expect(formatComparison(c)).toMatch(/accuracy +99\.05% → —/);
  });

  it('sparklines share one scale', () => {
    expect(sparkline([4, 3, 2, 1], 0, 4)).toBe('█▆▅▃');
    expect(sparkline([1, 1], 1, 1)).toBe('▁▁');
  });

  it('refuses what is not a run, with exit code 2', () => {
    const bad = (p: string) => {
      try {
        loadSource(p);
      } catch (e) {
        return e as SourceError;
      }
      throw new Error('loaded');
    };
    expect(bad(`${runs}/nowhere`)).toMatchObject({ exitCode: 2, message: expect.stringContaining('no such file or directory') });
    const parent = bad(`${runs}/mnist-cnn`);
    expect(parent.exitCode).toBe(2);
    expect(parent.message).toMatch(/not a cnnc run directory .* holds 1 run\(s\); pass one, e\.g\. /);
  });
});
