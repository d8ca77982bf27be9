/**
 * Differences between experiment configs, as document paths with their values. Configs are
 * compared in their resolved form (every default written out), so `padding: valid` written and
 * `padding` omitted are the same config, and `kernelSize: 3` equals `kernelSize: [3, 3]`.
 */
import { parse } from 'yaml';
import { type PathSegment, formatPath } from '../diagnostics.js';
import type { Experiment } from '../experiment.js';
import { toCanonicalYaml } from '../canonical.js';

export interface Change {
  /** As diagnostics print it: `layers[5].dense.units`; '' for the whole document. */
  path: string;
  segments: PathSegment[];
  /** undefined = the key (or list item) is absent on that side. */
  from: unknown;
  to: unknown;
}

/** One path that differs among several values; `values[i]` undefined = absent in source i. */
export interface MultiChange {
  path: string;
  segments: PathSegment[];
  values: unknown[];
}

/**
 * The experiment as the user would write it (layers as `{conv2d: {name, ...args}}`, stages as
 * `{train: {...}}`), every default filled in. Built from the canonical YAML so that there is one
 * definition of the document form, the one whose hash names run directories.
 */
export function experimentDocument(exp: Experiment): Record<string, unknown> {
  return parse(toCanonicalYaml(exp)) as Record<string, unknown>;
}

export function diffValues(a: unknown, b: unknown): Change[] {
  return diffAll([a, b]).map(({ path, segments, values: [from, to] }) => ({ path, segments, from, to }));
}

/**
 * Walks all values at once, so that with three or more sources each differing path is reported
 * once, in document order, with every source's value. Mappings are compared key by key and lists
 * of mappings (layers, stages) position by position; a list of scalars (`kernelSize: [3, 3]`,
 * `shapeFlow`, `freeze`) is one value, since `shapeFlow[2]: 14 → 13` would read worse than the
 * whole list.
 */
export function diffAll(values: readonly unknown[]): MultiChange[] {
  const out: MultiChange[] = [];
  walk(values, [], out);
  return out;
}

function walk(values: readonly unknown[], segments: PathSegment[], out: MultiChange[]): void {
  if (values.every(isRecord)) {
    const keys: string[] = [];
    for (const v of values as Record<string, unknown>[]) for (const k of Object.keys(v)) if (!keys.includes(k)) keys.push(k);
    for (const k of keys) walk(values.map((v) => (v as Record<string, unknown>)[k]), [...segments, k], out);
    return;
  }
  if (values.every((v) => Array.isArray(v) && !v.every(isScalar))) {
    const n = Math.max(...values.map((v) => (v as unknown[]).length));
    for (let i = 0; i < n; i++) walk(values.map((v) => (v as unknown[])[i]), [...segments, i], out);
    return;
  }
  if (values.every((v) => deepEqual(v, values[0]))) return;
  out.push({ path: formatPath(segments), segments, values: [...values] });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function');
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** A value the way the YAML would show it, on one line: `[3, 3]`, `{units: 10}`, `(absent)`. */
export function formatValue(v: unknown): string {
  if (v === undefined) return '(absent)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  if (isRecord(v)) return `{${Object.entries(v).map(([k, x]) => `${k}: ${formatValue(x)}`).join(', ')}}`;
  if (typeof v === 'string') return v === '' || /^[\s[\]{},:#&*!|>'"%@`-]|[:#]\s|\s$/.test(v) ? JSON.stringify(v) : v;
  return String(v);
}
