/**
 * manifest.json: everything needed to say what produced a run and to reproduce it — the code
 * (version + git commit), the config (hash), the data (file hashes), the seed and the machine.
 * It is written at start with status 'running' and updated at the end, so a run that died
 * without finishing is recognisable by `status: 'running'` and `endedAt: null`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';

export type RunStatus = 'running' | 'complete' | 'failed' | 'interrupted';

/** Per-stage summary; `index` and `kind` always, the rest as the executor reports it. */
export interface ManifestStage {
  index: number;
  kind: string;
  status?: 'pending' | 'running' | 'complete' | 'failed' | 'skipped';
  seconds?: number;
  [key: string]: unknown;
}

export interface Manifest {
  cnncVersion: string;
  /** HEAD of the git checkout cnnc ran in, or null outside a repository / without git. */
  gitCommit: string | null;
  /** Full hex sha256 of the resolved config text. */
  configHash: string;
  configFile: string;
  dataFiles: { path: string; sha256: string }[];
  seed: number;
  backend: { name: string; version: string; workers?: number };
  node: string;
  platform: string;
  arch: string;
  cpu: { model: string; count: number };
  command: string[];
  /** ISO 8601 UTC. */
  startedAt: string;
  endedAt: string | null;
  status: RunStatus;
  error?: string;
  stages?: ManifestStage[];
  /** The run directory this one reproduces (cnnc rerun). */
  rerunOf?: string;
  /** When `cnnc run --resume` continued this record. */
  resumedAt?: string[];
}

export const MANIFEST_FILE = 'manifest.json';

/** cnnc's own package.json version; the file is two levels up from both src/record and dist/record. */
export function cnncVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `git rev-parse HEAD` in `cwd`, or null: no git, not a repository, no commits, or too slow. */
export function gitCommit(cwd: string = process.cwd()): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 3000,
      windowsHide: true,
    }).trim();
    return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(out) ? out : null;
  } catch {
    return null;
  }
}

/** The fields describing this process and machine (everything except the run-specific ones). */
export function environmentInfo(): Pick<
  Manifest,
  'cnncVersion' | 'gitCommit' | 'node' | 'platform' | 'arch' | 'cpu' | 'command'
> {
  const cs = cpus();
  return {
    cnncVersion: cnncVersion(),
    gitCommit: gitCommit(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpu: { model: cs[0]?.model?.trim() ?? 'unknown', count: cs.length },
    command: [...process.argv],
  };
}

export function writeManifest(dir: string, m: Manifest): void {
  writeJsonAtomic(join(dir, MANIFEST_FILE), m);
}

export function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
}

/**
 * Shallow-merges `patch` into the manifest on disk and rewrites it atomically; returns the result.
 * Keys whose value is undefined are left unchanged. Single writer (the executor), so no locking.
 */
export function updateManifest(dir: string, patch: Partial<Manifest>): Manifest {
  const merged: Manifest = { ...readManifest(dir) };
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  writeManifest(dir, merged);
  return merged;
}
