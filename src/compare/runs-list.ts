/**
 * `cnnc runs`: one row per run directory under `<runsDir>/<name>/<run>/`. Listing must survive
 * whatever a crash or a hand edit left behind, so a run whose manifest cannot be read becomes a
 * row with status 'unreadable' instead of an exception.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkFile } from '../check.js';
import { count } from '../infer.js';
import type { Manifest } from '../record/manifest.js';
import { RUN_FILES } from '../record/recorder.js';
import { finalTestAccuracy, minuteUtc, percent, table } from './diff.js';
import { readResults } from '../record/read.js';

export interface RunRow {
  /** The experiment's directory: runs/<name>. */
  name: string;
  /** The run directory, as `<runsDir>/<name>/<run>`. */
  dir: string;
  startedAt: string | null;
  endedAt: string | null;
  /** startedAt as ISO UTC to the minute, '—' when unknown. */
  when: string;
  /** The manifest's status, or 'unreadable'. */
  status: string;
  backend: string | null;
  /** From the manifest: runs of one config told apart in a seed study. */
  seed: number | null;
  params: number | null;
  /** The last evaluate stage's accuracy. */
  testAccuracy: number | null;
  /** endedAt − startedAt; null while running or when either is unknown. */
  durationSeconds: number | null;
  /** Why the row is 'unreadable', or the manifest's error for a failed run. */
  error?: string;
}

export class RunsDirError extends Error {}

/** [] when the directory does not exist; throws RunsDirError when it cannot be listed. */
export function listRuns(runsDir: string): RunRow[] {
  if (!existsSync(runsDir)) return [];
  if (!isDir(runsDir)) throw new RunsDirError(`${runsDir} is not a directory`);
  let names: string[];
  try {
    names = subdirs(runsDir);
  } catch (e) {
    throw new RunsDirError(`cannot list ${runsDir}: ${(e as Error).message}`);
  }
  const rows: RunRow[] = [];
  for (const name of names) {
    let runs: string[];
    try {
      runs = subdirs(join(runsDir, name));
    } catch {
      continue; // an unlistable experiment directory has no rows to show
    }
    for (const run of runs) rows.push(runRow(runsDir, name, run));
  }
  return rows.sort((a, b) => sortKey(b) - sortKey(a) || b.dir.localeCompare(a.dir));
}

/** Dot entries are the recorder's staging and temp files, never runs. */
function subdirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && isDir(join(dir, n)))
    .sort();
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function runRow(runsDir: string, name: string, run: string): RunRow {
  const dir = join(runsDir, name, run);
  const row: RunRow = {
    name,
    dir,
    startedAt: null,
    endedAt: null,
    when: minuteUtc(timestampFromDirName(run)),
    status: 'unreadable',
    backend: null,
    seed: null,
    params: readParams(dir),
    testAccuracy: finalTestAccuracy(readResults(dir)),
    durationSeconds: null,
  };
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(readFileSync(join(dir, RUN_FILES.manifest), 'utf8')) as Partial<Manifest>;
    if (typeof m !== 'object' || m === null || typeof m.status !== 'string') throw new Error('not a cnnc manifest');
  } catch (e) {
    return { ...row, error: `${RUN_FILES.manifest}: ${(e as Error).message}` };
  }
  const startedAt = typeof m.startedAt === 'string' ? m.startedAt : null;
  const endedAt = typeof m.endedAt === 'string' ? m.endedAt : null;
  const started = Date.parse(startedAt ?? '');
  const ended = Date.parse(endedAt ?? '');
  const seconds = m.status !== 'running' && ended >= started ? (ended - started) / 1000 : null;
  return {
    ...row,
    startedAt,
    endedAt,
    when: startedAt ? minuteUtc(startedAt) : row.when,
    status: m.status,
    backend: typeof m.backend?.name === 'string' ? m.backend.name : null,
    seed: Number.isInteger(m.seed) ? (m.seed as number) : null,
    durationSeconds: seconds,
    ...(typeof m.error === 'string' ? { error: m.error } : {}),
  };
}

/** Run directories are named `20261204T153012Z-<hash>`: a start time even without a manifest. */
function timestampFromDirName(run: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(run);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : null;
}

function sortKey(r: RunRow): number {
  const t = Date.parse(r.startedAt ?? timestampFromDirName(r.dir.split(/[\\/]/).at(-1) ?? '') ?? '');
  return Number.isNaN(t) ? -Infinity : t;
}

/**
 * The parameter count recorded in summary.json (its `totalParams`, at the top or one level
 * down); failing that, from re-checking resolved.yaml, which needs no TensorFlow.js.
 */
function readParams(dir: string): number | null {
  try {
    const s = JSON.parse(readFileSync(join(dir, RUN_FILES.summaryJson), 'utf8')) as Record<string, unknown>;
    const found = findTotalParams(s);
    if (found !== null) return found;
  } catch {
    // fall through to the resolved config
  }
  const resolved = join(dir, RUN_FILES.resolved);
  if (!existsSync(resolved)) return null;
  const r = checkFile(resolved);
  return r.ok && r.inference ? r.inference.totalParams : null;
}

function findTotalParams(v: unknown): number | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.totalParams === 'number') return o.totalParams;
  for (const x of Object.values(o)) {
    if (typeof x === 'object' && x !== null && typeof (x as Record<string, unknown>).totalParams === 'number') {
      return (x as Record<string, number>).totalParams;
    }
  }
  return null;
}

/** 42 → "42s", 252 → "4m 12s", 3780 → "1h 03m". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatRuns(rows: readonly RunRow[]): string {
  const header = ['name', 'started (UTC)', 'status', 'backend', 'seed', 'params', 'test acc', 'duration', 'run directory'];
  const body = rows.map((r) => [
    r.name,
    r.when,
    r.status,
    r.backend ?? '—',
    r.seed === null ? '—' : String(r.seed),
    r.params === null ? '—' : count(r.params),
    r.testAccuracy === null ? '—' : percent(r.testAccuracy),
    formatDuration(r.durationSeconds),
    r.dir,
  ]);
  return table([header, ...body], 'llllrrrrl').join('\n');
}
