/**
 * Fixtures for the comparison code: configs derived from the shipped ones, and run directories
 * written through the real recorder API with plausible (made-up) training numbers. They exercise
 * reading and comparing records; they are not results of any training.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFile } from '../../src/check.js';
import { environmentInfo, type RunStatus } from '../../src/record/manifest.js';
import { Recorder } from '../../src/record/recorder.js';
import { configHash, createRunDir } from '../../src/record/run-dir.js';
import { toCanonicalYaml } from '../../src/canonical.js';
import { formatSummary } from '../../src/summary.js';

/** A copy of `configs/<base>` with text replacements, written into `dir`. */
export function variant(dir: string, base: string, name: string, edits: [string | RegExp, string][]): string {
  let text = readFileSync(join('configs', base), 'utf8');
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`fixture edit ${String(from)} matched nothing in ${base}`);
    text = next;
  }
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export interface FakeRun {
  config: string;
  startedAt: string;
  /** Seconds after startedAt; omitted = still running. */
  seconds?: number;
  status?: RunStatus;
  backend?: string;
  /** The manifest's seed; the config's when omitted. */
  seed?: number;
  /** Per train/finetune stage index: the loss of each epoch (accuracy is derived from it). */
  losses?: Record<number, number[]>;
  /** Per evaluate stage index: test accuracy (loss is derived from it). */
  accuracy?: Record<number, number>;
  /** Write summary.json without totalParams, so readers must fall back to resolved.yaml. */
  bareSummary?: boolean;
}

export function fakeRun(runsDir: string, r: FakeRun): string {
  const checked = checkFile(r.config);
  if (!checked.experiment || !checked.inference) throw new Error(`fixture config ${r.config} does not check`);
  const exp = checked.experiment;
  const resolved = toCanonicalYaml(exp);
  const hash = configHash(resolved);
  const dir = createRunDir(runsDir, exp.name, hash, new Date(r.startedAt));
  const rec = new Recorder(dir);
  rec.start({
    ...environmentInfo(),
    configHash: hash,
    configFile: r.config,
    dataFiles: [],
    seed: r.seed ?? exp.seed,
    backend: { name: r.backend ?? 'wasm', version: '4.22.0', workers: 4 },
    startedAt: r.startedAt,
    endedAt: null,
    status: 'running',
  });
  rec.writeConfig(checked.text ?? '', resolved);
  rec.writeSummary(formatSummary(checked.inference, exp.name), r.bareSummary ? { name: exp.name } : { totalParams: checked.inference.totalParams });
  exp.stages.forEach((stage, i) => {
    const losses = r.losses?.[i];
    losses?.forEach((loss, e) =>
      rec.epoch({ stage: stage.kind, stageIndex: i, epoch: e + 1, loss, accuracy: 1 - loss / 3, seconds: 40, imagesPerSecond: 1500 }),
    );
    const acc = r.accuracy?.[i];
    if (acc !== undefined) {
      rec.result({ stage: stage.kind, stageIndex: i, loss: (1 - acc) * 1.2, accuracy: acc, perClassAccuracy: Array(10).fill(acc), confusion: [] });
    }
  });
  if (r.seconds !== undefined) {
    const endedAt = new Date(Date.parse(r.startedAt) + r.seconds * 1000).toISOString();
    rec.updateManifest({ status: r.status ?? 'complete', endedAt });
  }
  return dir;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
