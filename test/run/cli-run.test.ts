// cnnc run / rerun / run --resume end to end, through the compiled CLI, on tiny real-MNIST slices.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/engine/save.js';

const CLI = join(import.meta.dirname, '../../bin/cnnc.js');
const tmp = mkdtempSync(join(tmpdir(), 'cnnc-run-'));

function config(name: string, body: string): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nseed: 5\ninput: [28, 28, 1]\n${body}`);
  return file;
}

const SMALL = `data:
  dataset: mnist
  limit: {train: 320, test: 200}
layers:
  - conv2d: {filters: 4, kernelSize: 3, padding: same, activation: relu}
  - maxPooling2d: {poolSize: 2}
  - flatten: {}
  - dropout: {rate: 0.2}
  - dense: {units: 10, activation: softmax}
stages:
  - train: {epochs: 2, batchSize: 32, optimizer: {name: adam, learningRate: 0.005}, validationSplit: 0.25}
  - evaluate: {}
  - finetune: {freeze: ":2", epochs: 1, batchSize: 32, optimizer: {name: sgd, learningRate: 0.05, momentum: 0.9}}
  - evaluate: {}
`;

function cnnc(args: string[]) {
  const r = spawnSync('node', [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runDirs(runsDir: string, name: string): string[] {
  const parent = join(runsDir, name);
  return existsSync(parent) ? readdirSync(parent).sort().map((d) => join(parent, d)) : [];
}

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
/** metrics.jsonl without what depends on the clock. */
function metrics(dir: string) {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { seconds, imagesPerSecond, ...rest } = JSON.parse(l);
    expect(seconds).toBeGreaterThan(0);
    expect(imagesPerSecond).toBeGreaterThan(0);
    return rest;
  });
}

describe('cnnc run arguments', () => {
  const cfg = config('args', SMALL);

  it('refuses bad options with exit 2 before doing anything', () => {
    const cases: [string[], string][] = [
      [['run', cfg, '--backend', 'gpu'], "--backend must be one of auto, tensorflow, wasm, cpu, got 'gpu'"],
      [['run', cfg, '--workers', 'two'], "--workers needs a number, got 'two'"],
      [['run', cfg, '--runs-dir'], '--runs-dir needs a value'],
      [['run', cfg, '--resum', 'x'], 'unknown option --resum; did you mean --resume?'],
      [['run', cfg, '--seed', 'x'], "--seed needs a number, got 'x'"],
      [['rerun', 'somewhere', '--seed', '3'], 'unknown option --seed'],
      [['rerun'], 'missing <dir>: a run directory'],
      [['rerun', 'a', 'b'], "unexpected argument 'b'"],
    ];
    for (const [args, message] of cases) {
      const r = cnnc(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(`cnnc: ${message} (see 'cnnc --help')\n`);
    }
    // The handler's own checks: a config or --resume, and the worker range.
    expect(cnnc(['run']).code).toBe(2);
    expect(cnnc(['run', cfg, '--workers', '65']).stderr).toMatch(/--workers must be a whole number from 0 to 64/);
    for (const seed of ['1.5', '4294967296', '-1']) {
      const r = cnnc(['run', cfg, `--seed=${seed}`]);
      expect(r.code, seed).toBe(2);
      expect(r.stderr).toBe(`cnnc: error: --seed must be a whole number from 0 to 4294967295, got ${seed}\n`);
    }
    const resumed = cnnc(['run', '--resume', tmp, '--seed', '3']);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/--seed cannot change a run being resumed/);
  });

  it('shows each command its options', () => {
    const run = cnnc(['run', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: cnnc run \[config\] \[options\]$/m);
    expect(run.stdout).toMatch(/--workers <n> .*\[default: 0\]/s);
    expect(run.stdout).toContain('--resume <run-dir>');
    const rerun = cnnc(['rerun', '--help']);
    expect(rerun.stdout).toMatch(/^Usage: cnnc rerun <dir> \[options\]$/m);
    expect(rerun.stdout).not.toContain('--resume');
  });
});

describe('cnnc run', () => {
  const runs = join(tmp, 'runs-a');
  const cfg = config('small', SMALL);

  it('trains, evaluates, fine-tunes and writes a complete record', async () => {
    const r = cnnc(['run', cfg, '--backend', 'wasm', '--runs-dir', runs, '--workers', '1']);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^cnnc: backend wasm — tfjs-backend-wasm \d+\.\d+\.\d+/);
    const [dir] = runDirs(runs, 'small');
    expect(dir).toMatch(/small[\\/]\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    const m = json(join(dir, 'manifest.json'));
    expect(m).toMatchObject({ status: 'complete', seed: 5, backend: { name: 'wasm', workers: 1 } });
    expect(m.dataFiles).toHaveLength(4);
    expect(m.endedAt).not.toBeNull();
    for (const f of ['config.yaml', 'resolved.yaml', 'summary.txt', 'summary.json', 'log.txt']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(readFileSync(join(dir, 'config.yaml'), 'utf8')).toBe(readFileSync(cfg, 'utf8'));
    const lines = metrics(dir);
    expect(lines.map((l) => [l.stage, l.stageIndex, l.epoch])).toEqual([['train', 0, 1], ['train', 0, 2], ['finetune', 2, 1]]);
    expect(lines[0].valAccuracy).toBeGreaterThanOrEqual(0);
    const results = json(join(dir, 'results.json'));
    expect(results.map((r: { stageIndex: number }) => r.stageIndex)).toEqual([1, 3]);
    expect(results[0].confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(200);
    expect(existsSync(join(dir, 'checkpoint.json'))).toBe(false);
    // Each weight-changing stage's model loads in plain tfjs and reproduces the recorded accuracy's shape.
    await tf.setBackend('cpu');
    for (const d of ['model-0-train', 'model-2-finetune']) {
      const model = await loadModel(tf, join(dir, d));
      expect(model.countParams()).toBe(json(join(dir, 'summary.json')).totalParams);
      expect(model.outputs[0].shape).toEqual([null, 10]);
      model.dispose();
    }
    const ft = json(join(dir, 'model-2-finetune', 'model.json'));
    const trainable = ft.modelTopology.config.layers.map((l: { config: { trainable: boolean } }) => l.config.trainable);
    expect(trainable).toEqual([false, false, true, true, true]);
  });

  it('rerun reproduces the metrics bit for bit from the record alone', () => {
    const [dir] = runDirs(runs, 'small');
    const r = cnnc(['rerun', dir]);
    expect(r.code).toBe(0);
    const dirs = runDirs(runs, 'small');
    expect(dirs).toHaveLength(2);
    const again = dirs.find((d) => d !== dir)!;
    expect(json(join(again, 'manifest.json')).rerunOf).toBe(dir);
    expect(metrics(again)).toEqual(metrics(dir));
    expect(json(join(again, 'results.json'))).toEqual(json(join(dir, 'results.json')));
  });

  it('--seed runs exactly what the config with that seed written into it runs, and records it', () => {
    const seeded = join(tmp, 'runs-seed');
    const edited = join(tmp, 'small-seed9.yaml');
    writeFileSync(edited, readFileSync(cfg, 'utf8').replace('seed: 5', 'seed: 9'));
    expect(cnnc(['run', cfg, '--seed', '9', '--backend', 'wasm', '--runs-dir', seeded, '--workers', '1', '-q']).code).toBe(0);
    expect(cnnc(['run', edited, '--backend', 'wasm', '--runs-dir', seeded, '--workers', '1', '-q']).code).toBe(0);
    const dirs = runDirs(seeded, 'small');
    expect(dirs).toHaveLength(2);
    // config.yaml is the file as given: the flag's run keeps seed 5 there, its resolved.yaml has 9.
    const flagDir = dirs.find((d) => readFileSync(join(d, 'config.yaml'), 'utf8').includes('seed: 5'))!;
    const fileDir = dirs.find((d) => d !== flagDir)!;
    const [flagRun, fileRun] = [flagDir, fileDir].map((d) => json(join(d, 'manifest.json')));
    expect(flagRun.seed).toBe(9);
    expect(flagRun.configHash).toBe(fileRun.configHash);
    expect(readFileSync(join(flagDir, 'resolved.yaml'), 'utf8')).toBe(readFileSync(join(fileDir, 'resolved.yaml'), 'utf8'));
    expect(metrics(flagDir)).toEqual(metrics(fileDir));
    const unseeded = join(tmp, 'runs-seed5');
    expect(cnnc(['run', cfg, '--backend', 'wasm', '--runs-dir', unseeded, '--workers', '1', '-q']).code).toBe(0);
    expect(metrics(flagDir)).not.toEqual(metrics(runDirs(unseeded, 'small')[0]));
  });

  it('rerun refuses a record whose data changed', () => {
    const [dir] = runDirs(runs, 'small');
    const manifest = json(join(dir, 'manifest.json'));
    manifest.dataFiles[0].sha256 = '0'.repeat(64);
    const copy = join(tmp, 'tampered');
    spawnSync('cp', ['-r', dir, copy]);
    writeFileSync(join(copy, 'manifest.json'), JSON.stringify(manifest));
    const r = cnnc(['rerun', copy, '--runs-dir', join(tmp, 'runs-t')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has changed since the run .* cannot be reproduced on different data/);
    expect(runDirs(join(tmp, 'runs-t'), 'small')).toHaveLength(0);
  });

  it('is deterministic on the cpu backend too, and across worker counts each count is reproducible', () => {
    const cpuRuns = join(tmp, 'runs-cpu');
    const tiny = config('tinycpu', SMALL.replace('limit: {train: 320, test: 200}', 'limit: {train: 64, test: 32}'));
    expect(cnnc(['run', tiny, '--backend', 'cpu', '--runs-dir', cpuRuns, '--workers', '2', '-q']).code).toBe(0);
    expect(cnnc(['run', tiny, '--backend', 'cpu', '--runs-dir', cpuRuns, '--workers', '2', '-q']).code).toBe(0);
    const [a, b] = runDirs(cpuRuns, 'tinycpu');
    expect(metrics(b)).toEqual(metrics(a));
  });

  it('refuses an unusable runs directory before training', () => {
    const file = join(tmp, 'not-a-dir');
    writeFileSync(file, 'x');
    const r = cnnc(['run', cfg, '--runs-dir', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is a regular file, not a directory/);
    expect(r.stdout).not.toMatch(/Epoch/);
  });

  it('stops a diverging run with a diagnosis and keeps the record marked failed', () => {
    const wild = config('wild', SMALL.replace('{name: adam, learningRate: 0.005}', '{name: sgd, learningRate: 1.0e+35}'));
    const r = cnnc(['run', wild, '--backend', 'wasm', '--runs-dir', join(tmp, 'runs-w'), '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the (loss|weights) became (NaN|-?Infinity) at epoch 1, batch \d+ \(learning rate 1e\+35\).*smaller learningRate/);
    const [dir] = runDirs(join(tmp, 'runs-w'), 'wild');
    expect(json(join(dir, 'manifest.json'))).toMatchObject({ status: 'failed' });
  });

  it('gives two concurrent runs of one config two complete records', async () => {
    const both = join(tmp, 'runs-c');
    const start = () => new Promise<number | null>((res) => spawn('node', [CLI, 'run', cfg, '--backend', 'wasm', '--runs-dir', both, '-q']).on('exit', res));
    expect(await Promise.all([start(), start()])).toEqual([0, 0]);
    const dirs = runDirs(both, 'small');
    expect(dirs).toHaveLength(2);
    for (const d of dirs) expect(json(join(d, 'manifest.json')).status).toBe('complete');
  });
});

describe('interrupting and resuming', () => {
  const long = config('long', SMALL.replace('limit: {train: 320, test: 200}', 'limit: {train: 1600, test: 200}').replace('epochs: 2,', 'epochs: 4,'));

  function interrupt(signal: 'SIGINT' | 'SIGTERM' | 'SIGKILL', runsDir: string): Promise<{ code: number | null; stdout: string }> {
    return new Promise((res) => {
      const child = spawn('node', [CLI, 'run', long, '--backend', 'wasm', '--workers', '1', '--runs-dir', runsDir, '-q']);
      let stdout = '';
      let sent = false;
      child.stdout.on('data', (d) => {
        stdout += d;
        // After the first complete epoch, so there is a checkpoint to resume from.
        if (!sent && /Epoch 1:/.test(stdout)) {
          sent = true;
          child.kill(signal);
        }
      });
      child.on('exit', (code) => res({ code, stdout }));
    });
  }

  it('Ctrl-C stops at a batch boundary, marks the record, and --resume ends where an uninterrupted run ends', async () => {
    const runsDir = join(tmp, 'runs-i');
    const r = await interrupt('SIGINT', runsDir);
    expect(r.code).toBe(130);
    const [dir] = runDirs(runsDir, 'long');
    const m = json(join(dir, 'manifest.json'));
    expect(m.status).toBe('interrupted');
    expect(existsSync(join(dir, 'checkpoint.json'))).toBe(true);
    const done = metrics(dir).length;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(5);

    const resumed = cnnc(['run', '--resume', dir, '-q']);
    expect(resumed.code).toBe(0);
    expect(json(join(dir, 'manifest.json')).status).toBe('complete');

    const whole = cnnc(['run', long, '--backend', 'wasm', '--workers', '1', '--runs-dir', join(tmp, 'runs-u'), '-q']);
    expect(whole.code).toBe(0);
    const [ref] = runDirs(join(tmp, 'runs-u'), 'long');
    expect(metrics(dir)).toEqual(metrics(ref));
    expect(json(join(dir, 'results.json'))).toEqual(json(join(ref, 'results.json')));
  });

  it('a run killed outright mid-epoch leaves a readable record that --resume completes', async () => {
    const runsDir = join(tmp, 'runs-kill');
    const r = await interrupt('SIGKILL', runsDir);
    expect(r.code).toBeNull();
    const [dir] = runDirs(runsDir, 'long');
    // It could not mark itself, so it still says running, honestly; every file parses whole.
    expect(json(join(dir, 'manifest.json')).status).toBe('running');
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(json(join(dir, 'checkpoint.json')).epochsDone).toBeGreaterThanOrEqual(1);
    for (const f of readdirSync(dir)) expect(f, 'no model half-written').not.toMatch(/^model-/);

    expect(cnnc(['run', '--resume', dir, '-q']).code).toBe(0);
    const [ref] = runDirs(join(tmp, 'runs-u'), 'long');
    expect(metrics(dir)).toEqual(metrics(ref));
    expect(json(join(dir, 'manifest.json')).status).toBe('complete');
  });

  it('SIGTERM exits 143 with the record marked interrupted', async () => {
    const runsDir = join(tmp, 'runs-term');
    const r = await interrupt('SIGTERM', runsDir);
    expect(r.code).toBe(143);
    const [dir] = runDirs(runsDir, 'long');
    expect(json(join(dir, 'manifest.json')).status).toBe('interrupted');
  });

  it('--resume refuses a complete run and a directory that is not a run', () => {
    const [dir] = runDirs(join(tmp, 'runs-u'), 'long');
    expect(cnnc(['run', '--resume', dir]).code).toBe(2);
    const r = cnnc(['run', '--resume', tmp]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a cnnc run directory/);
  });
});
