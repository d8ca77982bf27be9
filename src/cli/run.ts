/**
 * `cnnc run <config>`, `cnnc run --resume <run-dir>` and `cnnc rerun <run-dir>`: check, then
 * compile, execute and record. The CLI only wires the pipeline steps together and turns outcomes
 * into exit codes (README: 0 ok, 1 config/data, 2 usage, 130/143 interrupted).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { type CheckResult, checkFile } from '../check.js';
import { formatDiagnostic } from '../diagnostics.js';
import { DataError } from '../data/idx.js';
import { mnistFiles, sha256File } from '../data/mnist.js';
import { BACKENDS, type BackendName } from '../engine/backend-names.js';
import { toCanonicalYaml } from '../canonical.js';
import { MAX_SEED } from '../schema.js';
import { formatSummary } from '../summary.js';
import { type Checkpoint, hasCheckpoint, loadCheckpoint, removeCheckpoints } from '../record/checkpoint.js';
import { environmentInfo, type Manifest, readManifest } from '../record/manifest.js';
import { Recorder, RUN_FILES } from '../record/recorder.js';
import { checkWritable, configHash, createRunDir, RunDirError } from '../record/run-dir.js';
import type { ArgSpec, Option } from './args.js';
import { fileReport } from './check.js';
import { createPrinter, type OutputMode } from './progress.js';

export interface RunOptions {
  runsDir: string;
  backend: BackendName;
  /** Gradient threads; 0 = automatic (every core on wasm and cpu, 1 on the native backend). */
  workers: number;
  quiet: boolean;
  json: boolean;
  /** --backend was given (rerun otherwise keeps the record's backend). */
  backendGiven: boolean;
  /** --seed: replaces the config's seed for this run (a seed study without editing the file). */
  seed?: number;
}

const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);

/** A failure the user can act on: message, exit code. */
class Refusal {
  constructor(
    readonly message: string,
    readonly code: 1 | 2 = 1,
    readonly where = 'cnnc',
  ) {}
}

function refuse(r: Refusal): number {
  err(`${r.where}: error: ${r.message}\n`);
  return r.code;
}

function checked(file: string): CheckResult | Refusal {
  const c = checkFile(file);
  for (const d of c.diagnostics) err(formatDiagnostic(d) + '\n');
  if (!c.ok || !c.experiment || !c.inference) return new Refusal('', c.usage ? 2 : 1);
  return c;
}

function dataHashes(): { path: string; sha256: string }[] {
  return mnistFiles().map((path) => ({ path, sha256: sha256File(path) }));
}

/** A record can only be reproduced on the data it was made from. */
function sameData(m: Manifest, now: { path: string; sha256: string }[]): Refusal | null {
  for (const was of m.dataFiles) {
    const name = was.path.split(/[\\/]/).pop();
    const is = now.find((f) => f.path.split(/[\\/]/).pop() === name);
    if (!is) return new Refusal(`the run used ${name}, which cnnc no longer finds`);
    if (is.sha256 !== was.sha256) {
      return new Refusal(`${is.path} has changed since the run (sha256 ${was.sha256.slice(0, 12)}… then, ${is.sha256.slice(0, 12)}… now): the run cannot be reproduced on different data`);
    }
  }
  return null;
}

function runRecord(dir: string): { manifest: Manifest; resolved: string } | Refusal {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return new Refusal(`${dir}: no such run directory`, 2);
  const resolved = join(dir, RUN_FILES.resolved);
  if (!existsSync(join(dir, RUN_FILES.manifest)) || !existsSync(resolved)) {
    return new Refusal(`${dir}: not a cnnc run directory (it needs ${RUN_FILES.manifest} and ${RUN_FILES.resolved})`, 2);
  }
  try {
    return { manifest: readManifest(dir), resolved };
  } catch (e) {
    return new Refusal(`${join(dir, RUN_FILES.manifest)}: unreadable: ${(e as Error).message}`);
  }
}

interface Plan {
  check: CheckResult;
  configText: string;
  configFile: string;
  dataFiles: { path: string; sha256: string }[];
  backend: BackendName;
  workers: number;
  runsDir: string;
  /** Continue this record instead of creating one. */
  resume?: { dir: string; checkpoint: Checkpoint };
  rerunOf?: string;
}

export async function runCommand(config: string, o: RunOptions): Promise<number> {
  const checkedConfig = checked(config);
  if (checkedConfig instanceof Refusal) return checkedConfig.message ? refuse(checkedConfig) : checkedConfig.code;
  // The override lands in the resolved config, so resolved.yaml, the config hash, the manifest
  // and a later `cnnc rerun` all carry the seed the run actually used.
  const c = o.seed === undefined ? checkedConfig : { ...checkedConfig, experiment: { ...checkedConfig.experiment!, seed: o.seed } };
  let dataFiles;
  try {
    dataFiles = dataHashes();
  } catch (e) {
    if (e instanceof DataError) return refuse(new Refusal(e.message));
    throw e;
  }
  return execute({ check: c, configText: c.text ?? '', configFile: config, dataFiles, backend: o.backend, workers: o.workers, runsDir: o.runsDir }, o);
}

/** Same config, seed, backend and worker count as the record; a new run directory. */
export async function rerunCommand(dir: string, o: RunOptions): Promise<number> {
  const rec = runRecord(dir);
  if (rec instanceof Refusal) return refuse(rec);
  const c = checked(rec.resolved);
  if (c instanceof Refusal) return c.message ? refuse(c) : c.code;
  const dataFiles = dataHashes();
  const changed = sameData(rec.manifest, dataFiles);
  if (changed) return refuse(changed);
  const configText = readFileSync(join(dir, RUN_FILES.config), 'utf8');
  const backend = o.backendGiven ? o.backend : (rec.manifest.backend.name as BackendName);
  const workers = o.workers || rec.manifest.backend.workers || 1;
  const runsDir = o.runsDir || dirname(dirname(resolvePath(dir)));
  return execute({ check: c, configText, configFile: rec.manifest.configFile, dataFiles, backend, workers, runsDir, rerunOf: dir }, o);
}

/** Continues an interrupted record from its last complete epoch, in the same directory. */
export async function resumeCommand(dir: string, o: RunOptions): Promise<number> {
  const rec = runRecord(dir);
  if (rec instanceof Refusal) return refuse(rec);
  if (rec.manifest.status === 'complete') return refuse(new Refusal(`${dir} is complete; nothing to resume (use cnnc rerun to run it again)`, 2));
  if (!hasCheckpoint(dir)) return refuse(new Refusal(`${dir} has no checkpoint: it stopped before its first epoch ended; start it again with cnnc rerun`));
  const c = checked(rec.resolved);
  if (c instanceof Refusal) return c.message ? refuse(c) : c.code;
  const dataFiles = dataHashes();
  const changed = sameData(rec.manifest, dataFiles);
  if (changed) return refuse(changed);
  return execute({
    check: c, configText: '', configFile: rec.manifest.configFile, dataFiles,
    backend: rec.manifest.backend.name as BackendName, workers: rec.manifest.backend.workers || 1,
    runsDir: dirname(dirname(resolvePath(dir))), resume: { dir, checkpoint: loadCheckpoint(dir) },
  }, o);
}

async function execute(plan: Plan, o: RunOptions): Promise<number> {
  const exp = plan.check.experiment!;
  const unwritable = checkWritable(plan.runsDir);
  if (unwritable) return refuse(new Refusal(unwritable, 1, plan.runsDir));

  const { selectBackend, BackendError } = await import('../engine/backend.js');
  let backend;
  try {
    backend = await selectBackend(plan.backend);
  } catch (e) {
    if (e instanceof BackendError) return refuse(new Refusal(e.message));
    throw e;
  }
  const tf = await import('@tensorflow/tfjs');
  const workers = plan.workers > 0 ? plan.workers : backend.name === 'tensorflow' ? 1 : availableParallelism();

  let recorder: Recorder;
  const summary = formatSummary(plan.check.inference!, exp.name);
  const resolvedText = toCanonicalYaml(exp);
  if (plan.resume) {
    const { dir, checkpoint } = plan.resume;
    recorder = Recorder.resume(dir, checkpoint.stageIndex, checkpoint.epochsDone);
    recorder.updateManifest({ status: 'running', endedAt: null, resumedAt: [...(readManifest(dir).resumedAt ?? []), new Date().toISOString()] });
  } else {
    const hash = configHash(resolvedText);
    let dir: string;
    try {
      dir = createRunDir(plan.runsDir, exp.name, hash);
    } catch (e) {
      if (e instanceof RunDirError) return refuse(new Refusal(e.message, 1, plan.runsDir));
      throw e;
    }
    recorder = new Recorder(dir);
    recorder.start({
      ...environmentInfo(),
      configHash: hash,
      configFile: plan.configFile,
      dataFiles: plan.dataFiles,
      seed: exp.seed,
      backend: { name: backend.name, version: backend.version, workers },
      startedAt: new Date().toISOString(),
      endedAt: null,
      status: 'running',
      ...(plan.rerunOf ? { rerunOf: plan.rerunOf } : {}),
    });
    recorder.writeConfig(plan.configText, resolvedText);
    recorder.writeSummary(summary, fileReport(plan.check));
  }
  const dir = recorder.dir;

  const mode: OutputMode = o.json ? 'json' : o.quiet || !process.stdout.isTTY ? 'plain' : 'tty';
  const printer = createPrinter(mode, out, (line) => recorder.log(line));
  printer.line(`cnnc: backend ${backend.name} — ${backend.detail}, ${workers} gradient thread(s)`);
  printer.line(`cnnc: ${plan.resume ? `resuming ${dir} at stage ${plan.resume.checkpoint.stageIndex + 1}, after epoch ${plan.resume.checkpoint.epochsDone}` : `run directory ${dir}`}`);
  if (!o.quiet && mode !== 'json' && !plan.resume) out(summary + '\n');

  const signals = trapSignals(() => recorder.finish('interrupted', `stopped by ${signals.received}`));
  const { execute: run } = await import('../execute.js');
  const { NonFiniteLossError } = await import('../engine/trainer.js');
  try {
    const result = await run({
      tf, checked: plan.check, recorder, reporter: printer, backend: backend.name, workers,
      resume: plan.resume?.checkpoint, shouldStop: () => signals.received !== null,
    });
    if (result.stopped) {
      recorder.finish('interrupted', `stopped by ${signals.received}; continue with: cnnc run --resume ${dir}`);
      printer.line(`cnnc: interrupted by ${signals.received}; the record in ${dir} is marked interrupted — continue with: cnnc run --resume ${dir}`);
      return signals.received === 'SIGTERM' ? 143 : 130;
    }
    removeCheckpoints(dir);
    recorder.finish('complete');
    const finals = result.stages.filter((s) => s.evaluation).map((s) => `${(s.evaluation!.accuracy * 100).toFixed(2)}%`);
    printer.line(`cnnc: complete — test accuracy ${finals.join(' → ') || 'not evaluated'}; record in ${dir}`);
    if (mode === 'json') out(JSON.stringify({ event: 'done', status: 'complete', dir }) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof NonFiniteLossError) {
      const msg = `${e.message}: training diverged; try a smaller learningRate (the record is kept and marked failed)`;
      recorder.finish('failed', msg);
      printer.line(`cnnc: failed — ${msg}`);
      return refuse(new Refusal(msg, 1, plan.configFile));
    }
    if (e instanceof DataError) {
      recorder.finish('failed', e.message);
      return refuse(new Refusal(e.message));
    }
    const io = writeFailure(e);
    if (io) {
      // The record may be unwritable too (a full disk): mark it if we can, say so either way.
      try {
        recorder.finish('failed', io);
      } catch {
        /* nothing more can be written there */
      }
      return refuse(new Refusal(`${io}; the run stopped and its record in ${dir} holds what was written before`, 1, plan.runsDir));
    }
    recorder.finish('failed', e instanceof Error ? e.message : String(e));
    throw e;
  } finally {
    signals.release();
  }
}

/** A write that failed because of the file system (not a bug): a message, else null. */
function writeFailure(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException)?.code;
  const words: Record<string, string> = {
    ENOSPC: 'the disk is full', EDQUOT: 'the disk quota is exhausted', EROFS: 'the file system became read-only',
    EACCES: 'permission denied', EPERM: 'permission denied', EIO: 'an I/O error occurred',
  };
  return code && words[code] ? `cannot write the run record: ${words[code]}` : null;
}

/**
 * First Ctrl-C / SIGTERM: ask the loop to stop at the next batch boundary. Second: mark the
 * record and leave at once.
 */
function trapSignals(markNow: () => void) {
  const state = { received: null as null | 'SIGINT' | 'SIGTERM', release: () => {} };
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    if (state.received) {
      try {
        markNow();
      } finally {
        process.exit(sig === 'SIGTERM' ? 143 : 130);
      }
    }
    state.received = sig;
    err(`\ncnnc: ${sig} — stopping after this batch (press Ctrl-C again to stop now)\n`);
  };
  const int = () => onSignal('SIGINT');
  const term = () => onSignal('SIGTERM');
  process.on('SIGINT', int);
  process.on('SIGTERM', term);
  state.release = () => {
    process.off('SIGINT', int);
    process.off('SIGTERM', term);
  };
  return state;
}

/** Shared with rerun. No default for --runs-dir or --backend: rerun falls back to the record's. */
export const runOptions: Readonly<Record<string, Option>> = {
  'runs-dir': { type: 'string', arg: 'dir', describe: 'Where run directories are written (default: runs)' },
  backend: { type: 'string', arg: 'name', choices: BACKENDS, describe: 'The engine: auto picks tensorflow when tfjs-node loads, else wasm (embedded); cpu is the slow reference' },
  workers: { type: 'number', arg: 'n', default: 0, describe: 'Gradient threads (0 = one per core on wasm/cpu); results are reproducible for a given count' },
  quiet: { type: 'boolean', short: 'q', default: false, describe: 'One line per epoch, no summary table' },
  json: { type: 'boolean', default: false, describe: 'JSON lines on stdout: one per epoch, then the outcome' },
};

export const spec: ArgSpec = {
  // Optional: --resume names a run directory instead; the handler wants exactly one of the two.
  positionals: [{ name: 'config', describe: 'Experiment YAML file' }],
  options: {
    ...runOptions,
    seed: { type: 'number', arg: 'n', describe: "Use this seed instead of the config's (recorded in resolved.yaml and the manifest)" },
    resume: { type: 'string', arg: 'run-dir', describe: 'Continue an interrupted run directory from its last complete epoch' },
  },
};

export function options(args: Record<string, unknown>): RunOptions | string {
  const workers = Number(args.workers ?? 0);
  if (!Number.isInteger(workers) || workers < 0 || workers > 64) return `--workers must be a whole number from 0 to 64, got ${String(args.workers)}`;
  const seed = args.seed === undefined ? undefined : Number(args.seed);
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)) return `--seed must be a whole number from 0 to ${MAX_SEED}, got ${String(args.seed)}`;
  return {
    runsDir: args['runs-dir'] === undefined ? '' : String(args['runs-dir']),
    backend: (args.backend ?? 'auto') as BackendName,
    backendGiven: args.backend !== undefined,
    workers,
    quiet: Boolean(args.quiet),
    json: Boolean(args.json),
    ...(seed === undefined ? {} : { seed }),
  };
}

export async function handler(args: Record<string, unknown>): Promise<number> {
  const o = options(args);
  if (typeof o === 'string') return refuse(new Refusal(o, 2));
  if (typeof args.resume === 'string') {
    if (args.config !== undefined) return refuse(new Refusal('give either a config or --resume <run-dir>, not both', 2));
    if (o.seed !== undefined) return refuse(new Refusal('--seed cannot change a run being resumed; start a new one with cnnc run <config> --seed N', 2));
    return resumeCommand(args.resume, o);
  }
  if (args.config === undefined) return refuse(new Refusal('cnnc run needs a config file (or --resume <run-dir>)', 2));
  return runCommand(String(args.config), { ...o, runsDir: o.runsDir || 'runs' });
}
