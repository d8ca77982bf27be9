/**
 * Static shape inference and the semantic checks that need shapes: everything `cnnc check` can
 * refuse without loading TensorFlow.js. Faults point at the node at fault; a shape fault stops
 * the walk, since every later shape would only repeat it.
 */
import { type Diagnostic, type Locate, type PathSegment, type Severity, diagnosticAt } from './diagnostics.js';
import type { DataSelection, Experiment, LayerSpec, Shape, Stage } from './experiment.js';
import { formatShape, product } from './layers/common.js';
import { layerKind } from './layers/index.js';

export interface LayerReport {
  index: number;
  name: string;
  /** The kind: 'conv2d', ... */
  type: string;
  inputShape: Shape;
  /** Without the batch axis. */
  outputShape: Shape;
  params: number;
  trainableParams: number;
  flops: number;
  /** float32 bytes of this layer's output per example. */
  activationBytes: number;
}

export interface Inference {
  layers: LayerReport[];
  /** Input spatial size, then after each spatial layer: [28, 28, 14, 14, 7]. */
  shapeFlow: number[];
  /** The same as [height, width] pairs, for non-square inputs and kernels. */
  spatialFlow: [number, number][];
  inputShape: Shape;
  /** The model's output per example; null when a shape fault stopped the walk. */
  outputShape: Shape | null;
  /** False when a fault stopped the walk: `layers` then holds only the layers before it. */
  complete: boolean;
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  totalFlops: number;
  activationBytes: number;
  diagnostics: Diagnostic[];
}

export const DATASETS: Record<DataSelection['dataset'], { shape: Shape; classes: number }> = {
  mnist: { shape: [28, 28, 1], classes: 10 },
};

/** 400 MB of float32 weights, four times that with gradients and Adam's two moments. */
export const MAX_PARAMS = 100_000_000;
export const MAX_ACTIVATION_BYTES_PER_EXAMPLE = 256 * 2 ** 20;
export const MAX_BATCH_ACTIVATION_BYTES = 8 * 2 ** 30;
/** Training keeps the forward activations for the backward pass, which makes as many again. */
export const TRAINING_MEMORY_FACTOR = 3;

/** Also true for NaN, Infinity, and products past 2^53 whose value can no longer be trusted. */
export function overLimit(n: number, limit: number): boolean {
  return !(n <= limit) || n > Number.MAX_SAFE_INTEGER;
}

type Report = (path: readonly PathSegment[], message: string, hint?: string) => void;

interface Walk {
  reports: LayerReport[];
  args: Record<string, unknown>[];
  spatialFlow: [number, number][];
  output: Shape | null;
  /** Any per-layer resource error, so the model-wide ones do not repeat it. */
  layerParamsError: boolean;
  layerActivationError: boolean;
}

export function infer(exp: Experiment, file: string, locate: Locate): Inference {
  const diagnostics: Diagnostic[] = [];
  const at =
    (severity: Severity): Report =>
    (path, message, hint) =>
      diagnostics.push(diagnosticAt(file, locate, path, severity, message, hint));
  const error = at('error');
  const warning = at('warning');

  checkInput(exp, error);
  const walk = walkLayers(exp, error);
  const { reports } = walk;
  const sum = (f: (r: LayerReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const totalParams = sum((r) => r.params);
  const trainableParams = sum((r) => r.trainableParams);
  // Summed per layer, not total − trainable: with absurd sizes both are Infinity, and that is NaN.
  const nonTrainableParams = sum((r) => (r.params === r.trainableParams ? 0 : r.params - r.trainableParams));
  const activationBytes = sum((r) => r.activationBytes);

  if (walk.output) {
    checkOutput(exp, walk.output, error);
    checkFreeze(exp, reports, error);
    checkShapeFlow(exp, walk.spatialFlow, error);
    checkActivations(exp, walk.args, warning);
  }
  checkModelResources(exp, walk, totalParams, activationBytes, error);

  return {
    layers: reports,
    shapeFlow: walk.spatialFlow.map(([h]) => h),
    spatialFlow: walk.spatialFlow,
    inputShape: [...exp.input],
    outputShape: walk.output,
    complete: walk.output !== null,
    totalParams,
    trainableParams,
    nonTrainableParams,
    totalFlops: sum((r) => r.flops),
    activationBytes,
    diagnostics,
  };
}

function label(spec: LayerSpec): string {
  return `${spec.kind} '${spec.name}'`;
}

function layerPath(spec: LayerSpec, arg?: string): PathSegment[] {
  return arg ? [...spec.path, spec.kind, arg] : [...spec.path, spec.kind];
}

/** Stage arguments sit under the stage's kind key (`- finetune: {freeze: ...}`). */
function stagePath(stage: Stage, ...rest: PathSegment[]): PathSegment[] {
  const base = stage.path[stage.path.length - 1] === stage.kind ? stage.path : [...stage.path, stage.kind];
  return [...base, ...rest];
}

function classCount(data: DataSelection): number {
  return data.classes?.length ?? DATASETS[data.dataset].classes;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function checkInput(exp: Experiment, error: Report): void {
  const expected = DATASETS[exp.data.dataset].shape;
  if (!sameShape(exp.input, expected)) {
    error(
      ['input'],
      `input is ${formatShape(exp.input)} but ${exp.data.dataset} images are ${formatShape(expected)}`,
      `set input: ${formatShape(expected)}`,
    );
  }
}

function walkLayers(exp: Experiment, error: Report): Walk {
  const walk: Walk = {
    reports: [],
    args: [],
    spatialFlow: [[exp.input[0], exp.input[1]]],
    output: null,
    layerParamsError: false,
    layerActivationError: false,
  };
  let shape: Shape = [...exp.input];
  for (const spec of exp.layers) {
    const kind = layerKind(spec.kind);
    if (!kind) {
      error(layerPath(spec), `unknown layer kind '${spec.kind}'`);
      return walk;
    }
    const args = kind.resolve(spec.args);
    const result = kind.outputShape(shape, args);
    if (!result.ok) {
      error(layerPath(spec, result.fault.arg), `${label(spec)} ${result.fault.message}`, result.fault.hint);
      return walk;
    }
    const out = result.shape;
    // A size that overflowed (flatten of [1e300, 1e300, 1] is [Infinity]) is no size any more:
    // every later check, and the summary, would print it. A fault, so the walk stops here.
    if (!out.every((d) => Number.isFinite(d))) {
      walk.layerActivationError = true;
      error(
        layerPath(spec),
        `${label(spec)} would output more than 1e308 values per example`,
        `the limit is ${bytes(MAX_ACTIVATION_BYTES_PER_EXAMPLE)} of activations per example`,
      );
      return walk;
    }
    const { trainable, nonTrainable } = kind.params(shape, args);
    const report: LayerReport = {
      index: spec.index,
      name: spec.name,
      type: spec.kind,
      inputShape: shape,
      outputShape: out,
      params: trainable + nonTrainable,
      trainableParams: trainable,
      flops: kind.flops(shape, out, args),
      activationBytes: 4 * product(out),
    };
    if (overLimit(report.params, MAX_PARAMS)) {
      walk.layerParamsError = true;
      error(
        layerPath(spec),
        `${label(spec)} would hold ${count(report.params)} parameters; the limit is ${count(MAX_PARAMS)}`,
        'make it smaller: fewer units or filters, or pool before flatten',
      );
    }
    // Only the layer that crosses the limit is at fault, not the ones that inherit its size.
    const inputBytes = 4 * product(shape);
    if (overLimit(report.activationBytes, MAX_ACTIVATION_BYTES_PER_EXAMPLE) && !overLimit(inputBytes, MAX_ACTIVATION_BYTES_PER_EXAMPLE)) {
      walk.layerActivationError = true;
      error(
        layerPath(spec),
        `${label(spec)} outputs ${formatShape(out)}, ${bytes(report.activationBytes)} per example; ` +
          `the limit is ${bytes(MAX_ACTIVATION_BYTES_PER_EXAMPLE)}`,
        'use fewer filters or units, or larger strides',
      );
    }
    // A window far larger than its input (poolSize: 1e300, padding: same) has no parameters and
    // a 1×1 output, so neither limit above sees it; its FLOPs overflow to Infinity, which the
    // summary and --json then printed. Past 2^53 the count cannot be trusted, and no model that
    // large per example could train: refuse it like the other absurd sizes.
    const faultedAbove = overLimit(report.params, MAX_PARAMS) || overLimit(report.activationBytes, MAX_ACTIVATION_BYTES_PER_EXAMPLE);
    if (!faultedAbove && overLimit(report.flops, Number.MAX_SAFE_INTEGER)) {
      error(
        layerPath(spec),
        `${label(spec)} would take ${count(report.flops)} FLOPs per example, past the ${count(Number.MAX_SAFE_INTEGER)} cnnc can count`,
        'use a smaller window, or fewer filters or units',
      );
    }
    walk.reports.push(report);
    walk.args.push(args);
    if (kind.spatial) walk.spatialFlow.push([out[0], out[1]]);
    shape = out;
  }
  walk.output = shape;
  return walk;
}

function checkOutput(exp: Experiment, out: Shape, error: Report): void {
  const classes = classCount(exp.data);
  const last = exp.layers[exp.layers.length - 1];
  if (!last) {
    error(['layers'], 'the model has no layers', `end with dense: {units: ${classes}, activation: softmax}`);
    return;
  }
  if (out.length !== 1) {
    error(
      layerPath(last),
      `the model's output is ${formatShape(out)} but classification needs [${classes}]`,
      out.length === 3 ? 'add flatten: {} (or globalAveragePooling2d: {}) before the dense head' : undefined,
    );
    return;
  }
  const units = out[0];
  if (units !== classes) {
    const what = exp.data.classes ? `data.classes selects ${classes}` : `${exp.data.dataset} has ${classes}`;
    error(
      headPath(exp.layers),
      `the model outputs ${units} values but the data has ${classes} classes (${what})`,
      `set units: ${classes} on the last dense layer`,
    );
  }
  for (const stage of exp.stages) {
    const n = classCount(stage.data);
    // A stage that agrees with the top-level data is covered by the error above.
    if (n === classes || n === units) continue;
    error(
      stagePath(stage, 'data', 'classes'),
      `this ${stage.kind} stage's data has ${n} classes but the model outputs ${units}`,
      `select ${units} classes, or change the last dense layer to units: ${n}`,
    );
  }
}

/** The argument that sets the output size: the last dense's units, behind shape-keeping layers. */
function headPath(layers: readonly LayerSpec[]): PathSegment[] {
  for (let i = layers.length - 1; i >= 0; i--) {
    const spec = layers[i];
    if (spec.kind === 'dense') return layerPath(spec, 'units');
    if (!['dropout', 'batchNormalization', 'activation'].includes(spec.kind)) return layerPath(spec);
  }
  return ['layers'];
}

function checkFreeze(exp: Experiment, reports: readonly LayerReport[], error: Report): void {
  for (const stage of exp.stages) {
    if (stage.kind !== 'finetune') continue;
    const frozen = new Set(stage.freeze);
    const left = reports.filter((r) => !frozen.has(r.index));
    if (left.some((r) => r.trainableParams > 0)) continue;
    const weighted = reports.filter((r) => r.trainableParams > 0).at(-1);
    error(
      stagePath(stage, 'freeze'),
      `freezing layers ${ranges(stage.freeze)} leaves nothing to train`,
      weighted
        ? `leave a layer with weights unfrozen, e.g. layer ${weighted.index} (${weighted.name})`
        : 'the model has no trainable weights',
    );
  }
}

/** [0, 1, 2, 5] → "0–2, 5" */
export function ranges(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

function checkShapeFlow(exp: Experiment, flow: readonly [number, number][], error: Report): void {
  const heights = flow.map(([h]) => h);
  if (exp.shapeFlow && !sameShape(exp.shapeFlow, heights)) {
    // A generated shapeFlow can list thousands of sizes; the message shows the first few dozen.
    const listed = (sizes: readonly number[]) => (sizes.length > 24 ? `${sizes.slice(0, 24).join(' → ')} → … (${sizes.length} sizes)` : sizes.join(' → '));
    error(
      ['shapeFlow'],
      `shapeFlow says ${listed(exp.shapeFlow)} but the layers give ${listed(heights)}`,
      'shapeFlow lists the input height, then the height after each conv2d and pooling layer',
    );
  }
}

function checkActivations(exp: Experiment, args: readonly Record<string, unknown>[], warning: Report): void {
  const { layers } = exp;
  if (layers.length === 0) return;
  const last = layers[layers.length - 1];
  if (last.kind === 'dropout') {
    warning(
      layerPath(last),
      `${label(last)} is the last layer: during training it zeroes some of the model's predictions`,
      'move it before the last dense layer',
    );
  }
  const loss = exp.stages.flatMap((s) => (s.kind === 'evaluate' ? [] : [s.loss]))[0];
  if (!loss) return;
  // Trailing dropout does not change what the output means.
  let head = layers.length - 1;
  while (head > 0 && layers[head].kind === 'dropout') head--;
  layers.forEach((spec, i) => {
    if (i !== head && args[i].activation === 'softmax') {
      warning(
        layerPath(spec, 'activation'),
        `${label(spec)} applies softmax but is not the output layer`,
        'softmax squashes its input into probabilities; inside the network use relu',
      );
    }
  });
  const act = args[head].activation;
  if (act !== 'softmax') {
    const spec = layers[head];
    warning(
      layerPath(spec, act === undefined ? undefined : 'activation'),
      'the loss expects probabilities; end with activation: softmax',
      `${loss} reads the output as class probabilities, but ${label(spec)} ends with ${act ?? 'no activation'}`,
    );
  }
}

function checkModelResources(exp: Experiment, walk: Walk, params: number, activation: number, error: Report): void {
  if (!walk.layerParamsError && overLimit(params, MAX_PARAMS)) {
    error(['layers'], `the model has ${count(params)} parameters; the limit is ${count(MAX_PARAMS)}`);
  }
  if (walk.layerActivationError) return;
  if (overLimit(activation, MAX_ACTIVATION_BYTES_PER_EXAMPLE)) {
    error(
      ['layers'],
      `the model's activations take ${bytes(activation)} per example; the limit is ${bytes(MAX_ACTIVATION_BYTES_PER_EXAMPLE)}`,
    );
    return;
  }
  if (activation === 0) return;
  for (const stage of exp.stages) {
    const factor = stage.kind === 'evaluate' ? 1 : TRAINING_MEMORY_FACTOR;
    const need = activation * stage.batchSize * factor;
    if (!overLimit(need, MAX_BATCH_ACTIVATION_BYTES)) continue;
    const fits = Math.max(1, Math.floor(MAX_BATCH_ACTIVATION_BYTES / (activation * factor)));
    error(
      stagePath(stage, 'batchSize'),
      `batchSize ${count(stage.batchSize)} needs about ${bytes(need)} of activations ` +
        `(${bytes(activation)} per example${factor > 1 ? ` × ${factor} for training` : ''}); ` +
        `the limit is ${bytes(MAX_BATCH_ACTIVATION_BYTES)}`,
      `use batchSize ≤ ${count(fits)}`,
    );
  }
}

/** 421642 → "421,642" */
export function count(n: number): string {
  // A product of absurd sizes overflows to Infinity, which a message should not print as such.
  if (!Number.isFinite(n)) return 'more than 1e308';
  if (Math.abs(n) >= 1e21) return n.toExponential(2);
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Binary units, as memory is sized: "175.3 KiB". */
export function bytes(n: number): string {
  if (!Number.isFinite(n)) return 'more than 1e308 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  if (i === 0) return `${n} B`;
  // Past a million EiB toFixed prints all 17 significant digits ('2.3453461395206433e+285').
  return `${n >= 1e6 ? n.toExponential(1) : n.toFixed(1).replace(/\.0$/, '')} ${units[i]}`;
}
