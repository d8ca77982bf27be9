/**
 * The executor's single handle on a run directory. Every file is either rewritten atomically
 * (config, summary, results, manifest) or appended a line at a time (metrics.jsonl, log.txt), so
 * the directory is readable at any moment — including after a crash mid-run.
 */
import { chmodSync, existsSync, mkdtempSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appendLine, fsyncDir, writeFileAtomic, writeJsonAtomic } from './atomic.js';
import { type Manifest, type RunStatus, updateManifest, writeManifest } from './manifest.js';
import { readEpochs, readResults } from './read.js';
import type { EpochResult } from '../engine/trainer.js';

/** One metrics.jsonl line: a training epoch's figures, with the stage they belong to. */
export type EpochRecord = { stage: string; stageIndex: number } & EpochResult;

export interface EvalResult {
  stage: string;
  stageIndex: number;
  loss: number;
  accuracy: number;
  /** Indexed by (relabelled) class; null for a class with no examples in the evaluated data. */
  perClassAccuracy: (number | null)[];
  /** confusion[actual][predicted] = count. */
  confusion: number[][];
}

export const RUN_FILES = {
  manifest: 'manifest.json',
  config: 'config.yaml',
  resolved: 'resolved.yaml',
  summaryText: 'summary.txt',
  summaryJson: 'summary.json',
  metrics: 'metrics.jsonl',
  results: 'results.json',
  log: 'log.txt',
} as const;

const withNewline = (s: string): string => (s.endsWith('\n') ? s : `${s}\n`);

export class Recorder {
  private readonly results: EvalResult[] = [];

  /** `dir` is an existing run directory (see createRunDir). */
  constructor(readonly dir: string) {}

  /**
   * An existing record, to be continued from a checkpoint at (stageIndex, epochsDone): epoch
   * lines and results after that point (written after the checkpoint, before the run died) are
   * dropped, since the resumed run will produce them again.
   */
  static resume(dir: string, stageIndex: number, epochsDone: number): Recorder {
    const r = new Recorder(dir);
    const keep = (e: EpochRecord) => e.stageIndex < stageIndex || (e.stageIndex === stageIndex && e.epoch <= epochsDone);
    const lines = readEpochs(r.path(RUN_FILES.metrics)).filter(keep).map((e) => JSON.stringify(e) + '\n');
    writeFileAtomic(r.path(RUN_FILES.metrics), lines.join(''));
    r.results.push(...readResults(dir).filter((e) => e.stageIndex < stageIndex));
    writeJsonAtomic(r.path(RUN_FILES.results), r.results);
    return r;
  }

  path(file: string): string {
    return join(this.dir, file);
  }

  /** Writes the initial manifest (normally status 'running', endedAt null). */
  start(manifest: Manifest): void {
    writeManifest(this.dir, manifest);
  }

  updateManifest(patch: Partial<Manifest>): Manifest {
    return updateManifest(this.dir, patch);
  }

  /** The config exactly as the user wrote it, and the fully resolved form that was run. */
  writeConfig(originalText: string, resolvedYamlText: string): void {
    writeFileAtomic(this.path(RUN_FILES.config), originalText);
    writeFileAtomic(this.path(RUN_FILES.resolved), withNewline(resolvedYamlText));
  }

  writeSummary(text: string, json: unknown): void {
    writeFileAtomic(this.path(RUN_FILES.summaryText), withNewline(text));
    writeJsonAtomic(this.path(RUN_FILES.summaryJson), json);
  }

  /** One metrics.jsonl line; fsynced, since an epoch boundary is the progress worth keeping. */
  epoch(record: EpochRecord): void {
    appendLine(this.path(RUN_FILES.metrics), JSON.stringify(record), { fsync: true });
  }

  /** Adds an evaluate result; results.json always holds all results so far. */
  result(r: EvalResult): void {
    this.results.push(r);
    writeJsonAtomic(this.path(RUN_FILES.results), this.results);
  }

  /** Appends to log.txt (a trailing newline is added; embedded newlines are kept). */
  log(line: string): void {
    appendLine(this.path(RUN_FILES.log), line.endsWith('\n') ? line.slice(0, -1) : line);
  }

  /** Where stage `stageIndex`'s model belongs: `<run>/model-<index>-<kind>`. Not created. */
  modelDir(stageIndex: number, stageKind: string): string {
    return this.path(`model-${stageIndex}-${stageKind}`);
  }

  /**
   * A fresh empty directory inside the run directory (same file system, so commitDir's rename is
   * atomic): save the model there, then commitDir it to modelDir(...).
   */
  stagingDir(): string {
    return mkdtempSync(join(this.dir, '.staging-'));
  }

  /** Renames a finished staging directory into place; a model directory is never half-written. */
  commitDir(tmp: string, final: string): void {
    if (existsSync(final)) throw new Error(`cannot save model: ${final} already exists`);
    renameSync(tmp, final);
    chmodSync(final, 0o755); // mkdtemp makes it private; a saved model is for sharing
    fsyncDir(dirname(final));
  }

  /** Marks the run finished: endedAt = now, status, and the error message if any. */
  finish(status: RunStatus, error?: string): Manifest {
    return updateManifest(this.dir, { status, endedAt: new Date().toISOString(), ...(error !== undefined ? { error } : {}) });
  }
}
