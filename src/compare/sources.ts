/**
 * What `cnnc diff` compares: an experiment file, or a run directory. A run is re-checked from its
 * resolved.yaml (the exact experiment that ran, defaults included) rather than trusted from
 * summary.json, so its layer table has the same shape as a config's whatever version wrote it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkFile } from '../check.js';
import type { Diagnostic } from '../diagnostics.js';
import type { Experiment } from '../experiment.js';
import type { Inference } from '../infer.js';
import type { Manifest } from '../record/manifest.js';
import { type EpochRecord, type EvalResult, RUN_FILES } from '../record/recorder.js';
import { readEpochs, readResults } from '../record/read.js';

export interface Source {
  /** The path as given on the command line. */
  label: string;
  kind: 'run' | 'config';
  experiment: Experiment;
  inference: Inference;
  manifest?: Manifest;
  /** metrics.jsonl, in file order; [] for a run that has not finished an epoch. */
  epochs?: EpochRecord[];
  /** results.json; [] before the first evaluate stage. */
  results?: EvalResult[];
}

/** Why a source cannot be compared; `exitCode` 2 = the path is wrong, 1 = the config is. */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
    readonly diagnostics: Diagnostic[] = [],
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

export function loadSource(path: string): Source {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SourceError(code === 'ENOENT' || code === 'ENOTDIR' ? `${path}: no such file or directory` : `${path}: ${(e as Error).message}`, 2);
  }
  return isDir ? loadRun(path) : loadConfig(path, path, 'config');
}

function loadConfig(file: string, label: string, kind: Source['kind']): Source {
  const r = checkFile(file);
  if (r.usage) throw new SourceError(`${file}: ${r.diagnostics[0]?.message ?? 'cannot read the file'}`, 2);
  if (!r.ok || !r.experiment || !r.inference) {
    throw new SourceError(`${label}: the ${kind === 'run' ? "run's resolved config" : 'config'} has errors`, 1, r.diagnostics);
  }
  return { label, kind, experiment: r.experiment, inference: r.inference };
}

function loadRun(dir: string): Source {
  const manifestFile = join(dir, RUN_FILES.manifest);
  if (!existsSync(manifestFile)) throw new SourceError(notARun(dir), 2);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    if (typeof manifest !== 'object' || manifest === null) throw new Error('not a JSON object');
  } catch (e) {
    throw new SourceError(`${dir}: cannot read ${RUN_FILES.manifest}: ${(e as Error).message}`, 2);
  }
  const resolved = join(dir, RUN_FILES.resolved);
  if (!existsSync(resolved)) throw new SourceError(`${dir}: the run has no ${RUN_FILES.resolved} (it stopped before recording its config)`, 2);
  const source = loadConfig(resolved, dir, 'run');
  return { ...source, manifest, epochs: readEpochs(join(dir, RUN_FILES.metrics)), results: readResults(dir) };
}

/** A directory that is not a run: most often `runs/<name>`, whose runs are one level down. */
function notARun(dir: string): string {
  let runs: string[] = [];
  try {
    runs = readdirSync(dir).filter((d) => existsSync(join(dir, d, RUN_FILES.manifest))).sort();
  } catch {
    // unreadable: the plain message below is all we can say
  }
  const hint = runs.length > 0 ? ` — it holds ${runs.length} run(s); pass one, e.g. ${join(dir, runs[runs.length - 1])}` : '';
  return `${dir}: not a cnnc run directory (no ${RUN_FILES.manifest})${hint}`;
}
