/**
 * Which examples of a split a stage uses, and in what order it sees them. Everything is a pure
 * function of (labels, selection spec, seed), so a run directory's config reproduces the data.
 */
import { createRng, deriveSeed, permutation } from './rng.js';

/** The part of a loaded split selection needs. */
export interface LabelledSplit {
  labels: Uint8Array;
  /** Classes in the full dataset; 10 for MNIST when absent. */
  numClasses?: number;
}

export interface SelectionSpec {
  /** Original labels to keep, relabelled 0..k-1 in this order; null = all. */
  classes: number[] | null;
  /** Keep N examples chosen by a seeded shuffle; null = all. */
  limit: number | null;
}

export interface Selection {
  /** Indices into the split, ascending (dataset order). */
  indices: Uint32Array;
  /** Relabelled label of each selected example, aligned with `indices`. */
  labels: Uint8Array;
  numClasses: number;
}

const MNIST_CLASSES = 10;

export function selectExamples(split: LabelledSplit, spec: SelectionSpec, seed: number): Selection {
  const total = split.numClasses ?? MNIST_CLASSES;
  const { classes, limit } = spec;

  // original label → new label, or -1 = dropped
  const relabel = new Int16Array(total).fill(classes ? -1 : 0);
  if (classes) {
    classes.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c >= total) throw new RangeError(`class ${c} is not in 0..${total - 1}`);
      if (relabel[c] !== -1) throw new RangeError(`class ${c} is listed twice`);
      relabel[c] = i;
    });
  } else {
    for (let c = 0; c < total; c++) relabel[c] = c;
  }
  if (limit !== null && (!Number.isInteger(limit) || limit < 0)) {
    throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  }

  const labels = split.labels;
  const n = labels.length;
  let chosen: Uint32Array;
  if (limit === null || limit >= n) {
    chosen = new Uint32Array(n);
    for (let i = 0; i < n; i++) chosen[i] = i;
  } else {
    // Shuffle every index, not just the kept classes, so which examples a limit picks depends only
    // on the seed — listing classes in another order relabels them but selects the same images.
    const order = permutation(n, createRng(deriveSeed(seed, 'limit')));
    const kept: number[] = [];
    for (let i = 0; i < n && kept.length < limit; i++) {
      const idx = order[i]!;
      if (relabel[labels[idx]!]! >= 0) kept.push(idx);
    }
    // Back to dataset order: limit ≥ available then equals no limit, and the validation split
    // (the tail, as Keras does) is the tail of the data rather than of a shuffle.
    chosen = Uint32Array.from(kept).sort();
  }

  let count = 0;
  const indices = new Uint32Array(chosen.length);
  const out = new Uint8Array(chosen.length);
  for (let i = 0; i < chosen.length; i++) {
    const idx = chosen[i]!;
    const l = relabel[labels[idx]!]!;
    if (l < 0) continue;
    indices[count] = idx;
    out[count] = l;
    count++;
  }
  return { indices: indices.slice(0, count), labels: out.slice(0, count), numClasses: classes ? classes.length : total };
}

/**
 * Holds out the last ⌊n·fraction⌋ examples of the selection for validation, as Keras'
 * `validationSplit` does (taken before any shuffling). `_seed` is accepted so the call site reads
 * like the other data steps; the split itself needs no randomness.
 */
export function splitValidation(
  selection: Selection,
  fraction: number,
  _seed?: number,
): { train: Selection; validation: Selection } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`validation fraction must be in [0, 1), got ${fraction}`);
  const n = selection.indices.length;
  const cut = n - Math.floor(n * fraction);
  const part = (a: number, b: number): Selection => ({
    indices: selection.indices.slice(a, b),
    labels: selection.labels.slice(a, b),
    numClasses: selection.numClasses,
  });
  return { train: part(0, cut), validation: part(cut, n) };
}

/**
 * The order positions 0..n-1 of a selection are visited in during `epoch`: a fresh seeded
 * permutation per epoch. Two train stages sharing a seed should pass deriveSeed(seed, 'stage', i).
 */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  return permutation(n, createRng(deriveSeed(seed, 'epoch', epoch)));
}
