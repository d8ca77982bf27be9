/**
 * Step 3: a schema-valid document → the Experiment every later step reads: defaults filled in,
 * layers named, stage data merged, freeze specs turned into layer indices. The canonical YAML
 * of the result is canonical.ts (kept apart so that `cnnc check` never loads the yaml package).
 */
import { type Diagnostic, type Locate, type PathSegment, diagnosticAt, sortDiagnostics } from './diagnostics.js';
import type {
  DataSelection, Experiment, LayerSpec, LossName, OptimizerSpec, Stage, TrainSpec,
} from './experiment.js';
import { layerKind } from './layers/index.js';
import { DEFAULT_SEED, EVALUATE_DEFAULTS, OPTIMIZER_DEFAULTS, TRAIN_DEFAULTS } from './schema.js';
import { excerpt, suggest } from './validate.js';

type Obj = Record<string, unknown>;

export interface ResolveResult {
  experiment?: Experiment;
  diagnostics: Diagnostic[];
}

/** `doc` must have passed `validate`; resolve only adds the checks a schema cannot express. */
export function resolve(doc: unknown, file: string, locate: Locate): ResolveResult {
  const diagnostics: Diagnostic[] = [];
  const error = (path: PathSegment[], message: string, hint?: string, at: 'key' | 'value' = 'value') =>
    diagnostics.push(diagnosticAt(file, locate, path, 'error', message, hint, at));
  const warn = (path: PathSegment[], message: string, hint?: string, at: 'key' | 'value' = 'value') =>
    diagnostics.push(diagnosticAt(file, locate, path, 'warning', message, hint, at));

  const root = doc as Obj;
  const data = selection((root.data ?? { dataset: 'mnist' }) as Obj);
  // Whether the input fits the dataset is a shape question, left to infer.
  const input = root.input as [number, number, number];

  const layers = resolveLayers(root.layers as Obj[], error);
  const stages = (root.stages as Obj[]).map((item, i): Stage => {
    const [kind, raw] = Object.entries(item)[0] as [Stage['kind'], Obj];
    const path: PathSegment[] = ['stages', i];
    const args = raw ?? {};
    const stageData = mergeSelection(data, args.data as Obj | undefined);
    if (kind === 'evaluate') {
      return { kind, data: stageData, path, batchSize: num(args.batchSize, EVALUATE_DEFAULTS.batchSize) };
    }
    const train = trainSpec(args);
    if (kind === 'train') return { kind, data: stageData, path, ...train };
    const freezePath = [...path, kind, 'freeze'];
    const freeze = resolveFreeze(args.freeze as string | (string | number)[], layers, freezePath, error, warn);
    return { kind, data: stageData, path, freeze, ...train };
  });

  const experiment: Experiment = {
    name: root.name as string,
    seed: num(root.seed, DEFAULT_SEED),
    data,
    input: [...input] as [number, number, number],
    layers,
    shapeFlow: Array.isArray(root.shapeFlow) ? [...(root.shapeFlow as number[])] : null,
    stages,
  };
  const sorted = sortDiagnostics(diagnostics);
  return sorted.some((d) => d.severity === 'error') ? { diagnostics: sorted } : { experiment, diagnostics: sorted };
}

type Report = (path: PathSegment[], message: string, hint?: string, at?: 'key' | 'value') => void;

/** Keras' automatic layer name: MaxPooling2D → max_pooling2d. */
export function snakeCase(kind: string): string {
  return kind.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function resolveLayers(items: Obj[], error: Report): LayerSpec[] {
  const counters = new Map<string, number>();
  const byName = new Map<string, number>();
  return items.map((item, index) => {
    const [kind, raw] = Object.entries(item)[0] as [string, Obj | null];
    const { name: given, ...rest } = raw ?? {};
    // Counted over every layer of the kind, named or not, so conv2d_3 is always the third conv2d.
    const n = (counters.get(kind) ?? 0) + 1;
    counters.set(kind, n);
    const name = typeof given === 'string' ? given : `${snakeCase(kind)}_${n}`;
    const path: PathSegment[] = ['layers', index];
    const previous = byName.get(name);
    if (previous !== undefined) {
      error(typeof given === 'string' ? [...path, kind, 'name'] : [...path, kind],
        `duplicate layer name '${name}' (also layers[${previous}])`,
        typeof given === 'string' ? 'layer names must be unique' : `the name is generated; rename layers[${previous}]`,
        typeof given === 'string' ? 'value' : 'key');
    } else {
      byName.set(name, index);
    }
    const def = layerKind(kind);
    if (def === undefined) throw new Error(`internal: layer kind '${kind}' passed validation but is not registered`);
    return { index, kind, name, args: def.resolve(rest), path };
  });
}

function selection(d: Obj): DataSelection {
  const limit = (d.limit ?? {}) as Obj;
  return {
    dataset: 'mnist',
    classes: Array.isArray(d.classes) ? [...(d.classes as number[])] : null,
    limit: { train: (limit.train as number | undefined) ?? null, test: (limit.test as number | undefined) ?? null },
  };
}

/** A stage's data: its own classes/limit fields replace the top-level ones; absent fields inherit. */
function mergeSelection(top: DataSelection, own: Obj | undefined): DataSelection {
  if (own === undefined) return { ...top, classes: top.classes && [...top.classes], limit: { ...top.limit } };
  const limit = (own.limit ?? {}) as Obj;
  return {
    dataset: top.dataset,
    classes: 'classes' in own ? (own.classes === null ? null : [...(own.classes as number[])]) : top.classes && [...top.classes],
    limit: {
      train: 'train' in limit ? (limit.train as number | null) : top.limit.train,
      test: 'test' in limit ? (limit.test as number | null) : top.limit.test,
    },
  };
}

function trainSpec(a: Obj): TrainSpec {
  return {
    epochs: num(a.epochs, TRAIN_DEFAULTS.epochs),
    batchSize: num(a.batchSize, TRAIN_DEFAULTS.batchSize),
    optimizer: optimizer(a.optimizer as Obj),
    loss: (a.loss as LossName | undefined) ?? TRAIN_DEFAULTS.loss,
    metrics: Array.isArray(a.metrics) ? [...(a.metrics as string[])] : [...TRAIN_DEFAULTS.metrics],
    validationSplit: num(a.validationSplit, TRAIN_DEFAULTS.validationSplit),
  };
}

function optimizer(o: Obj): OptimizerSpec {
  const name = o.name as OptimizerSpec['name'];
  const pick = <T extends Obj>(defaults: T): T =>
    Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, o[k] ?? v])) as T;
  switch (name) {
    case 'sgd': return { name, ...pick(OPTIMIZER_DEFAULTS.sgd) };
    case 'adam': return { name, ...pick(OPTIMIZER_DEFAULTS.adam) };
    case 'rmsprop': return { name, ...pick(OPTIMIZER_DEFAULTS.rmsprop) };
    default: throw new Error(`internal: optimizer '${String(name)}' passed validation but is unknown`);
  }
}

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' ? v : dflt;
}

/** One slice bound: empty, or an integer, possibly negative. */
const BOUND = /^(-?\d+)?$/;

/**
 * `start:stop` → its two bounds (each undefined when omitted); no bounds when `spec` is not a
 * slice, and then `step` tells a three-part slice (`::2`) apart. Split by hand: the regular
 * expression this replaces, /^\s*(-?\d+)?\s*:…/, backtracked quadratically on a long run of
 * spaces (a 40,000-space freeze string took over a second, a 1 MiB one would take minutes).
 */
function parseSlice(spec: string): { bounds?: [string | undefined, string | undefined]; step: boolean } {
  const parts = spec.split(':', 4).map((p) => p.trim());
  const bounds = parts.every((p) => BOUND.test(p));
  if (parts.length === 2 && bounds) return { bounds: [parts[0] || undefined, parts[1] || undefined], step: false };
  return { step: parts.length === 3 && BOUND.test(parts[0]) && BOUND.test(parts[1]) };
}

/** An unknown freeze entry is reported for the first few only: a generated list can hold thousands. */
const MAX_FREEZE_ERRORS = 20;

/**
 * `freeze` → sorted unique layer indices. A slice follows Python (bounds clamp, so ':10' on seven
 * layers is all seven — worth a warning, not an error); a list names layers exactly, so an index
 * or name that does not exist is an error.
 */
export function resolveFreeze(
  spec: string | (string | number)[],
  layers: readonly LayerSpec[],
  path: PathSegment[],
  error: Report,
  warn: Report,
): number[] {
  const n = layers.length;
  const names = layers.map((l) => l.name);
  // By name, first wins (duplicates are an error of their own); indexOf per entry was quadratic.
  const byName = new Map<string, number>();
  names.forEach((name, i) => { if (!byName.has(name)) byName.set(name, i); });
  const chosen = new Set<number>();

  if (typeof spec === 'string') {
    const shown = excerpt(spec);
    const { bounds, step } = parseSlice(spec);
    if (bounds === undefined) {
      const hint = byName.has(spec.trim())
        ? `to freeze one layer by name, write freeze: [${spec.trim()}]`
        : step
          ? 'a step is not supported; write start:stop'
          : "write a slice such as ':4', '1:3', '-2:', ':-2', or a list of layer indices and names";
      error(path, `freeze '${shown}' is not a slice of the layer list`, hint);
      return [];
    }
    const bound = (s: string | undefined, dflt: number) => {
      if (s === undefined) return dflt;
      const v = Number(s);
      if (v > n || v < -n) warn(path, `freeze '${shown}' reaches past the ${n} layers; Python slicing clamps it`);
      return Math.min(n, Math.max(0, v < 0 ? v + n : v));
    };
    const start = bound(bounds[0], 0);
    const stop = bound(bounds[1], n);
    for (let i = start; i < stop; i++) chosen.add(i);
    if (chosen.size === 0) warn(path, `freeze '${shown}' selects no layers; finetune will train every layer`);
  } else {
    let unknown = 0;
    spec.forEach((item, j) => {
      const at = [...path, j];
      if (typeof item === 'number') {
        if (item >= n || item < -n) {
          if (++unknown <= MAX_FREEZE_ERRORS) {
            error(at, `layer index ${item} does not exist; the model has ${n} layers`, `valid indices are 0..${n - 1} or -${n}..-1`);
          }
        } else {
          chosen.add(item < 0 ? item + n : item);
        }
      } else {
        const i = byName.get(item);
        if (i !== undefined) chosen.add(i);
        // The suggestion compares the name with every layer name: bounded by the cap above.
        else if (++unknown <= MAX_FREEZE_ERRORS) error(at, `no layer named '${excerpt(item)}'`, suggest(item, names, 'layer names'));
      }
    });
    if (unknown > MAX_FREEZE_ERRORS) {
      error(path, `${unknown - MAX_FREEZE_ERRORS} more freeze entries name no layer`, `the model has ${n} layers`);
    }
    if (spec.length === 0) warn(path, 'freeze is empty; finetune will train every layer');
  }
  return [...chosen].sort((a, b) => a - b);
}
