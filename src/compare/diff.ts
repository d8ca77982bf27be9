/**
 * The comparison model behind `cnnc diff` and its two renderings. `compare` gathers everything
 * (config paths, per-layer shapes and parameters, totals, per-stage metrics); the text form shows
 * only what differs, the JSON form carries all of it so scripts need not re-derive anything.
 */
import { bytes, count, type Inference } from '../infer.js';
import { formatShape } from '../layers/common.js';
import type { EpochRecord } from '../record/recorder.js';
import { compact, formatFlow } from '../summary.js';
import { deepEqual, diffAll, experimentDocument, formatValue } from './config-diff.js';
import type { Source } from './sources.js';
import type { PathSegment } from '../diagnostics.js';

export interface SourceInfo {
  label: string;
  kind: Source['kind'];
  name: string;
  /** Runs only: the manifest's status, startedAt and backend name. */
  status?: string;
  startedAt?: string;
  backend?: string;
  totalParams: number;
  /** Accuracy of the last evaluate stage in results.json; null for configs and unevaluated runs. */
  finalTestAccuracy: number | null;
}

export interface ConfigRow {
  path: string;
  /** One per source; undefined = the path is absent in that source. */
  values: unknown[];
}

export interface LayerCell {
  name: string;
  type: string;
  outputShape: number[];
  params: number;
}

export interface LayerRow {
  index: number;
  differs: boolean;
  /** One per source; null = that model has no layer at this index. */
  cells: (LayerCell | null)[];
}

export interface Totals {
  totalParams: number[];
  trainableParams: number[];
  flops: number[];
  activationBytes: number[];
  shapeFlow: number[][];
  spatialFlow: [number, number][][];
}

export interface Curves {
  loss: number[];
  accuracy: number[];
  valLoss?: number[];
  valAccuracy?: number[];
}

/** A stage's outcome in one run: the final epoch (train/finetune) or the evaluation. */
export interface StageMetrics {
  kind: string;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** train/finetune only, one entry per recorded epoch. */
  epochs?: Curves;
}

export interface MetricRow {
  stageIndex: number;
  /** The stage kind in the first source that has this stage. */
  kind: string;
  /** One per source; null for a config, or a run that did not reach the stage. */
  cells: (StageMetrics | null)[];
}

export interface Comparison {
  sources: SourceInfo[];
  config: ConfigRow[];
  layers: LayerRow[];
  totals: Totals;
  /** Empty unless at least one source is a run. */
  metrics: MetricRow[];
}

export function compare(sources: readonly Source[]): Comparison {
  const docs = sources.map((s) => experimentDocument(s.experiment));
  return {
    sources: sources.map(sourceInfo),
    config: diffAll(docs)
      .filter((ch) => !inheritedData(ch.segments, docs))
      .map(({ path, values }) => ({ path, values })),
    layers: layerRows(sources.map((s) => s.inference)),
    totals: {
      totalParams: sources.map((s) => s.inference.totalParams),
      trainableParams: sources.map((s) => s.inference.trainableParams),
      flops: sources.map((s) => s.inference.totalFlops),
      activationBytes: sources.map((s) => s.inference.activationBytes),
      shapeFlow: sources.map((s) => s.inference.shapeFlow),
      spatialFlow: sources.map((s) => s.inference.spatialFlow),
    },
    metrics: sources.some((s) => s.kind === 'run') ? metricRows(sources) : [],
  };
}

/**
 * The resolved form copies the top-level `data` into every stage, so one changed `data.classes`
 * would otherwise repeat once per stage. A stage's data path is left out when, in every source,
 * it equals the top-level value it inherited; a stage that overrides its data is still shown.
 */
function inheritedData(segments: readonly PathSegment[], docs: readonly Record<string, unknown>[]): boolean {
  const [root, , , key, ...rest] = segments;
  if (root !== 'stages' || key !== 'data') return false;
  return docs.every((d) => deepEqual(valueAt(d, segments), valueAt(d, ['data', ...rest])));
}

function valueAt(v: unknown, segments: readonly PathSegment[]): unknown {
  let cur = v;
  for (const seg of segments) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

function sourceInfo(s: Source): SourceInfo {
  const m = s.manifest;
  return {
    label: s.label,
    kind: s.kind,
    name: s.experiment.name,
    ...(m ? { status: String(m.status), startedAt: String(m.startedAt), backend: String(m.backend?.name ?? 'unknown') } : {}),
    totalParams: s.inference.totalParams,
    finalTestAccuracy: finalTestAccuracy(s.results),
  };
}

/** The last evaluate stage's accuracy: the number a run is usually judged by. */
export function finalTestAccuracy(results: readonly { stageIndex: number; accuracy: number }[] | undefined): number | null {
  if (!results || results.length === 0) return null;
  const last = results.reduce((a, r) => (r.stageIndex >= a.stageIndex ? r : a));
  return typeof last.accuracy === 'number' ? last.accuracy : null;
}

function layerRows(infs: readonly Inference[]): LayerRow[] {
  const n = Math.max(...infs.map((i) => i.layers.length));
  const rows: LayerRow[] = [];
  for (let index = 0; index < n; index++) {
    const cells = infs.map((inf): LayerCell | null => {
      const l = inf.layers[index];
      return l ? { name: l.name, type: l.type, outputShape: l.outputShape, params: l.params } : null;
    });
    rows.push({ index, differs: !cells.every((c) => deepEqual(c, cells[0])), cells });
  }
  return rows;
}

function metricRows(sources: readonly Source[]): MetricRow[] {
  const n = Math.max(...sources.map((s) => s.experiment.stages.length));
  const rows: MetricRow[] = [];
  for (let i = 0; i < n; i++) {
    const kind = sources.find((s) => s.experiment.stages[i])?.experiment.stages[i].kind ?? '?';
    rows.push({ stageIndex: i, kind, cells: sources.map((s) => stageMetrics(s, i)) });
  }
  return rows;
}

function stageMetrics(s: Source, i: number): StageMetrics | null {
  const stage = s.experiment.stages[i];
  if (s.kind !== 'run' || !stage) return null;
  if (stage.kind === 'evaluate') {
    const r = (s.results ?? []).filter((x) => x.stageIndex === i).at(-1);
    return r ? { kind: stage.kind, loss: r.loss, accuracy: r.accuracy } : null;
  }
  // Keyed by epoch so a repeated line (there should be none) cannot lengthen the curve.
  const byEpoch = new Map<number, EpochRecord>();
  for (const e of s.epochs ?? []) if (e.stageIndex === i) byEpoch.set(e.epoch, e);
  const epochs = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  const last = epochs.at(-1);
  if (!last) return null;
  const curves: Curves = { loss: epochs.map((e) => e.loss), accuracy: epochs.map((e) => e.accuracy) };
  if (epochs.every((e) => typeof e.valLoss === 'number')) curves.valLoss = epochs.map((e) => e.valLoss as number);
  if (epochs.every((e) => typeof e.valAccuracy === 'number')) curves.valAccuracy = epochs.map((e) => e.valAccuracy as number);
  return {
    kind: stage.kind,
    loss: last.loss,
    accuracy: last.accuracy,
    ...(typeof last.valLoss === 'number' ? { valLoss: last.valLoss } : {}),
    ...(typeof last.valAccuracy === 'number' ? { valAccuracy: last.valAccuracy } : {}),
    epochs: curves,
  };
}

// ---------------------------------------------------------------------------------------------
// JSON

/**
 * The `--json` report. Arrays named `values`, `cells` or under `totals` hold one entry per
 * source, in `sources` order.
 *
 * {
 *   sources: [{label, kind: 'run'|'config', name, status?, startedAt?, backend?, totalParams,
 *              finalTestAccuracy: number|null}],
 *   sameConfig: boolean,                       // no config path differs
 *   config: [{path: 'layers[5].dense.units', values: [128, 64], absent?: [indices]}],
 *                                              // absent sources show null in values
 *   layers: [{index, differs, cells: [{name, type, outputShape, params} | null]}],
 *   totals: {totalParams: [], trainableParams: [], flops: [], activationBytes: [],
 *            shapeFlow: [[28, 28, 14, 14, 7], ...], spatialFlow: [[[28, 28], ...], ...]},
 *   metrics: [{stageIndex, kind, cells: [{kind, loss, accuracy, valLoss?, valAccuracy?,
 *              epochs?: {loss: [], accuracy: [], valLoss?: [], valAccuracy?: []}} | null]}]
 * }
 */
export function comparisonJson(c: Comparison) {
  return {
    sources: c.sources,
    sameConfig: c.config.length === 0,
    config: c.config.map(({ path, values }) => {
      // JSON has no undefined; null is a real config value (classes: null), so say which are absent.
      const absent = values.flatMap((v, i) => (v === undefined ? [i] : []));
      return { path, values: values.map((v) => (v === undefined ? null : v)), ...(absent.length ? { absent } : {}) };
    }),
    layers: c.layers,
    totals: c.totals,
    metrics: c.metrics,
  };
}

// ---------------------------------------------------------------------------------------------
// Text

const MINUS = '\u2212';
const ARROW = ' → ';

export interface TextOptions {
  /**
   * The terminal's width. A many-source table wider than this is printed turned (a row per
   * path); without a width (output to a file or pipe) it is never turned, so scripts see one form.
   */
  width?: number;
}

export function formatComparison(c: Comparison, opts: TextOptions = {}): string {
  return (c.sources.length === 2 ? formatPair(c) : formatMany(c, opts.width ?? Infinity)).join('\n');
}

function formatPair(c: Comparison): string[] {
  const out: string[] = [];
  const tag = ['A', 'B'];
  out.push(...table(c.sources.map((s, i) => [tag[i], s.label, sourceDetail(s)]), 'lll'));

  out.push('', c.config.length === 0 ? 'config: the same (resolved, every default filled in)' : `config: ${plural(c.config.length, 'difference')}`);
  const cfg = c.config.map((r) => [`${r.path}:`, r.values.map(formatValue).join(ARROW)]);
  out.push(...indent(table(cfg, 'll')));

  const differing = c.layers.filter((r) => r.differs);
  out.push('', differing.length === 0 ? `layers: the same (${c.layers.length})` : `layers: ${differing.length} of ${c.layers.length} differ`);
  if (differing.length > 0) {
    const rows = differing.map((r) => {
      const [a, b] = r.cells;
      const layer = pair(a && `${a.name} (${a.type})`, b && `${b.name} (${b.type})`);
      return [String(r.index), layer, pair(a && formatShape(a.outputShape), b && formatShape(b.outputShape)), pair(a && count(a.params), b && count(b.params))];
    });
    out.push(...indent(table([['#', 'layer', 'output shape', 'params'], ...rows], 'rllr')));
  }

  const t = c.totals;
  const [fa, fb] = t.spatialFlow.map(formatFlow);
  out.push('', 'totals');
  out.push(
    ...indent(
      table(
        [
          ['total params', numberPair(t.totalParams, count)],
          ['trainable params', numberPair(t.trainableParams, count)],
          ['FLOPs per example', numberPair(t.flops, (n) => `${count(n)} (${compact(n)})`, compact)],
          ['activation memory', numberPair(t.activationBytes, bytes, bytes)],
          ['shape flow', fa === fb ? `${fa} (same)` : `${fa}  vs  ${fb}`],
        ],
        'll',
      ),
    ),
  );

  if (c.metrics.length > 0) out.push('', ...formatMetrics(c, tag));
  return out;
}

function sourceDetail(s: SourceInfo): string {
  if (s.kind === 'config') return `config, ${s.name}`;
  return `run of ${s.name}, ${s.status}, started ${minuteUtc(s.startedAt)}, ${s.backend}`;
}

/** `a` when both sides agree, else `a → b`; a missing side is `(absent)`. */
function pair(a: string | null, b: string | null): string {
  return a === b ? (a ?? '') : `${a ?? '(absent)'}${ARROW}${b ?? '(absent)'}`;
}

function numberPair([a, b]: number[], fmt: (n: number) => string, fmtDelta: (n: number) => string = count): string {
  if (a === b) return `${fmt(a)} (same)`;
  const pct = ((b - a) / a) * 100;
  // A tiny change (one dense head of 645 parameters in 421,642) should not read as "−0.0%".
  const rel = a !== 0 ? `, ${signed(pct, 1, (x) => (x >= 0.05 ? x.toFixed(1) : x.toPrecision(1)))}%` : '';
  return `${fmt(a)}${ARROW}${fmt(b)}  (${signed(b - a, 0, fmtDelta)}${rel})`;
}

function formatMetrics(c: Comparison, tag: string[]): string[] {
  const rows: string[][] = [];
  for (const m of c.metrics) {
    const [a, b] = m.cells;
    const head = `stage ${m.stageIndex} ${m.kind}`;
    const lines: [string, (x: StageMetrics) => number | undefined, 'loss' | 'acc'][] = [
      ['loss', (x) => x.loss, 'loss'],
      ['accuracy', (x) => x.accuracy, 'acc'],
    ];
    if (a?.valLoss !== undefined || b?.valLoss !== undefined) lines.push(['val loss', (x) => x.valLoss, 'loss']);
    if (a?.valAccuracy !== undefined || b?.valAccuracy !== undefined) lines.push(['val accuracy', (x) => x.valAccuracy, 'acc']);
    lines.forEach(([name, get, unit], k) => {
      const va = a ? get(a) : undefined;
      const vb = b ? get(b) : undefined;
      const fmt = unit === 'acc' ? percent : (n: number) => n.toFixed(4);
      const delta =
        va === undefined || vb === undefined
          ? ''
          : unit === 'acc'
            ? `(${signed((vb - va) * 100, 2)} pt)`
            : `(${signed(vb - va, 4)})`;
      rows.push([k === 0 ? head : '', name, `${va === undefined ? '—' : fmt(va)}${ARROW}${vb === undefined ? '—' : fmt(vb)}`, delta]);
    });
  }
  const out = ['metrics (final epoch of each training stage; each evaluation)', ...indent(table(rows, 'llll'))];

  const curveRows: string[][] = [];
  for (const m of c.metrics) {
    const series = m.cells.map((x) => x?.epochs?.loss ?? []);
    if (series.every((s) => s.length === 0)) continue;
    // One scale per stage across both sources, so the two sparklines can be compared by eye.
    const all = series.flat().filter(Number.isFinite);
    const lo = Math.min(...all);
    const hi = Math.max(...all);
    series.forEach((s, i) => {
      const ends = s.length === 0 ? '—' : `${s[0].toFixed(4)}${ARROW}${s[s.length - 1].toFixed(4)}`;
      curveRows.push([i === 0 ? `stage ${m.stageIndex} ${m.kind}` : '', tag[i], sparkline(s, lo, hi), ends]);
    });
  }
  if (curveRows.length > 0) out.push('', 'training loss per epoch (one scale per stage)', ...indent(table(curveRows, 'llll')));
  return out;
}

/**
 * More than two sources: one table, a row per source and a column per differing config path,
 * then total params and final test accuracy. When that is wider than the terminal (many paths
 * differ), the same table transposed: a row per path, a column per source.
 */
function formatMany(c: Comparison, width: number): string[] {
  const header = ['source', ...c.config.map((r) => r.path), 'total params', 'test accuracy'];
  const rows = c.sources.map((s, i) => [
    s.label,
    ...c.config.map((r) => formatValue(r.values[i])),
    count(s.totalParams),
    s.finalTestAccuracy === null ? '—' : percent(s.finalTestAccuracy),
  ]);
  const note = c.config.length === 0 ? 'config: the same in every source' : `config: ${plural(c.config.length, 'path')} differ`;
  const wide = table([header, ...rows], `l${'l'.repeat(c.config.length)}rr`);
  if (Math.max(...wide.map((l) => [...l].length)) <= width) return [note, ...wide];
  const turned = header.map((h, col) => [h, ...rows.map((r) => r[col])]);
  return [note, ...table(turned, 'l'.repeat(rows.length + 1))];
}

// ---------------------------------------------------------------------------------------------
// Small text helpers (also used by `cnnc runs`)

/** Columns padded to their widest cell; `align` has one 'l' or 'r' per column. */
export function table(rows: readonly string[][], align: string): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i] - [...cell].length);
        return align[i] === 'r' ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

function indent(lines: string[]): string[] {
  return lines.map((l) => `  ${l}`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** 0.99123 → "99.12%" */
export function percent(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** A signed number with a real minus sign; exact zero reads "±0". */
function signed(n: number, digits: number, fmt: (n: number) => string = (x) => x.toFixed(digits)): string {
  if (n === 0) return '±0';
  return `${n < 0 ? MINUS : '+'}${fmt(Math.abs(n))}`;
}

const BARS = '▁▂▃▄▅▆▇█';

/** Values as bar heights between lo and hi; a flat series sits on the floor. */
export function sparkline(values: readonly number[], lo: number, hi: number): string {
  return values
    .map((v) => {
      if (!Number.isFinite(v)) return '·';
      const t = hi > lo ? (v - lo) / (hi - lo) : 0;
      return BARS[Math.round(t * (BARS.length - 1))];
    })
    .join('');
}

/** ISO UTC to the minute, the same on every machine: "2026-12-04T15:30Z". */
export function minuteUtc(iso: string | undefined | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : `${d.toISOString().slice(0, 16)}Z`;
}
