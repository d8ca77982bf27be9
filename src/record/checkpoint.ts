/**
 * The last complete epoch of a run, enough to continue it exactly: every weight (batch norm's
 * moving statistics included), the optimizer's state, and where in the stage list it stood.
 * Each checkpoint is a fresh directory; `checkpoint.json` names the current one and is replaced
 * atomically, so a crash while saving leaves the previous checkpoint in force.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from './atomic.js';

export interface Checkpoint {
  /** Index of the stage in progress. */
  stageIndex: number;
  /** Complete epochs of that stage. */
  epochsDone: number;
  weights: Float32Array[];
  optimizer: { step: number; slots: Float32Array[][] };
}

interface Pointer {
  dir: string;
  stageIndex: number;
  epochsDone: number;
  optimizerStep: number;
  weightSizes: number[];
  slots: number;
}

const POINTER = 'checkpoint.json';

function concat(arrays: Float32Array[]): Uint8Array {
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return new Uint8Array(out.buffer);
}

function split(bytes: Buffer, sizes: number[]): Float32Array[] {
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out: Float32Array[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(all.slice(at, at + n));
    at += n;
  }
  if (at !== all.length) throw new Error(`checkpoint holds ${all.length} values, expected ${at}`);
  return out;
}

export function saveCheckpoint(runDir: string, c: Checkpoint): void {
  const name = `checkpoint-${c.stageIndex}-${c.epochsDone}`;
  const dir = join(runDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  writeFileAtomic(join(dir, 'weights.bin'), concat(c.weights));
  writeFileAtomic(join(dir, 'optimizer.bin'), concat(c.optimizer.slots.flat()));
  const pointer: Pointer = {
    dir: name,
    stageIndex: c.stageIndex,
    epochsDone: c.epochsDone,
    optimizerStep: c.optimizer.step,
    weightSizes: c.weights.map((w) => w.length),
    slots: c.optimizer.slots.length,
  };
  writeJsonAtomic(join(runDir, POINTER), pointer);
  // Older checkpoints are garbage once the pointer names the new one.
  for (const entry of readdirSync(runDir)) {
    if (entry.startsWith('checkpoint-') && entry !== name) rmSync(join(runDir, entry), { recursive: true, force: true });
  }
}

export function hasCheckpoint(runDir: string): boolean {
  return existsSync(join(runDir, POINTER));
}

export function loadCheckpoint(runDir: string): Checkpoint {
  const p = JSON.parse(readFileSync(join(runDir, POINTER), 'utf8')) as Pointer;
  const dir = join(runDir, p.dir);
  const weights = split(readFileSync(join(dir, 'weights.bin')), p.weightSizes);
  const flat = split(readFileSync(join(dir, 'optimizer.bin')), Array.from({ length: p.slots }, () => p.weightSizes).flat());
  const slots = Array.from({ length: p.slots }, (_, s) => flat.slice(s * p.weightSizes.length, (s + 1) * p.weightSizes.length));
  return { stageIndex: p.stageIndex, epochsDone: p.epochsDone, weights, optimizer: { step: p.optimizerStep, slots } };
}

/** Once a run is complete its checkpoint is no longer needed: the stage models are the result. */
export function removeCheckpoints(runDir: string): void {
  rmSync(join(runDir, POINTER), { force: true });
  for (const entry of readdirSync(runDir)) {
    if (entry.startsWith('checkpoint-')) rmSync(join(runDir, entry), { recursive: true, force: true });
  }
}
