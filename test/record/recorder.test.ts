import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { environmentInfo, gitCommit, type Manifest, readManifest, updateManifest, writeManifest } from '../../src/record/manifest.js';
import { Recorder } from '../../src/record/recorder.js';

const root = mkdtempSync(join(tmpdir(), 'cnnc-rec-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function manifest(): Manifest {
  return {
    ...environmentInfo(),
    configHash: 'ab'.repeat(32),
    configFile: 'configs/x.yaml',
    dataFiles: [{ path: '/d/train', sha256: '00'.repeat(32) }],
    seed: 42,
    backend: { name: 'cpu', version: '4.22.0' },
    startedAt: '2026-12-04T15:30:12.000Z',
    endedAt: null,
    status: 'running',
  };
}

describe('manifest', () => {
  it('environment info is filled in', () => {
    const e = environmentInfo();
    expect(e.cnncVersion).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    expect(e.node).toBe(process.version);
    expect(e.cpu.count).toBeGreaterThan(0);
    expect(e.command).toEqual(process.argv);
  });

  it('gitCommit is null outside a repository and never throws', () => {
    expect(gitCommit(root)).toBeNull();
    expect(gitCommit(join(root, 'does-not-exist'))).toBeNull();
  });

  it('update merges shallowly and keeps untouched fields', () => {
    const dir = mkdtempSync(join(root, 'm-'));
    writeManifest(dir, manifest());
    const m = updateManifest(dir, { status: 'failed', error: 'boom', endedAt: '2026-12-04T16:00:00.000Z', seed: undefined });
    expect(m).toEqual({ ...manifest(), status: 'failed', error: 'boom', endedAt: '2026-12-04T16:00:00.000Z' });
    expect(readManifest(dir)).toEqual(m);
    expect(updateManifest(dir, { stages: [{ index: 0, kind: 'train', seconds: 3 }] }).error).toBe('boom');
    expect(readdirSync(dir)).toEqual(['manifest.json']);
  });

  it('update of a missing manifest throws', () => {
    expect(() => updateManifest(join(root, 'nowhere'), { status: 'complete' })).toThrow();
  });
});

describe('Recorder', () => {
  it('writes every run file', () => {
    const dir = mkdtempSync(join(root, 'run-'));
    const r = new Recorder(dir);
    r.start(manifest());
    r.writeConfig('name: x # mine\n', 'name: x');
    r.writeSummary('a summary', { params: 10 });
    r.epoch({ stage: 'train', stageIndex: 0, epoch: 1, loss: 0.5, accuracy: 0.8, seconds: 1.5, imagesPerSecond: 1000 });
    r.epoch({ stage: 'train', stageIndex: 0, epoch: 2, loss: 0.4, accuracy: 0.9, valLoss: 0.45, valAccuracy: 0.85, seconds: 1.4, imagesPerSecond: 1100 });
    const res = { stage: 'evaluate', stageIndex: 1, loss: 0.3, accuracy: 0.9, perClassAccuracy: [0.9, 0.9], confusion: [[9, 1], [1, 9]] };
    r.result(res);
    r.result({ ...res, stageIndex: 2 });
    r.log('starting');
    r.log('two\nlines\n');

    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    expect(read('config.yaml')).toBe('name: x # mine\n');
    expect(read('resolved.yaml')).toBe('name: x\n');
    expect(read('summary.txt')).toBe('a summary\n');
    expect(JSON.parse(read('summary.json'))).toEqual({ params: 10 });
    const lines = read('metrics.jsonl').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual([1, 2]);
    expect(lines[1].valAccuracy).toBe(0.85);
    expect(JSON.parse(read('results.json')).map((x: { stageIndex: number }) => x.stageIndex)).toEqual([1, 2]);
    expect(read('log.txt')).toBe('starting\ntwo\nlines\n');

    const m = r.finish('complete');
    expect(m.status).toBe('complete');
    expect(Date.parse(m.endedAt!)).toBeGreaterThan(0);
    expect(readManifest(dir).status).toBe('complete');
    expect(r.finish('failed', 'out of memory').error).toBe('out of memory');
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('stages a model directory and commits it by rename', () => {
    const dir = mkdtempSync(join(root, 'run-'));
    const r = new Recorder(dir);
    const final = r.modelDir(0, 'train');
    expect(final).toBe(join(dir, 'model-0-train'));
    expect(existsSync(final)).toBe(false);
    const tmp = r.stagingDir();
    expect(tmp.startsWith(join(dir, '.staging-'))).toBe(true);
    writeFileSync(join(tmp, 'model.json'), '{}');
    r.commitDir(tmp, final);
    expect(existsSync(tmp)).toBe(false);
    expect(readFileSync(join(final, 'model.json'), 'utf8')).toBe('{}');
    const tmp2 = r.stagingDir();
    expect(() => r.commitDir(tmp2, final)).toThrow(/already exists/);
  });
});
