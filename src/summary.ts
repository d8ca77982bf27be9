/**
 * The text form of an Inference, laid out like Keras' `model.summary()` with a FLOPs column and
 * the spatial flow line. Shapes are per example (no batch axis), as everywhere else in cnnc.
 */
import { bytes, count, type Inference } from './infer.js';
import { formatShape } from './layers/common.js';

/** 2431098 → "2.4M": the FLOPs column only has to be compared by eye. */
export function compact(n: number): string {
  // A refused config can still reach the table with sizes past any unit.
  if (!Number.isFinite(n) || Math.abs(n) >= 1e21) return 'overflow';
  const units = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? String(Math.round(n)) : `${n.toFixed(1).replace(/\.0$/, '')}${units[i]}`;
}

/** Square sizes as one number, others as height×width: "28 → 26×24 → 13×12". */
export function formatFlow(flow: readonly (readonly [number, number])[]): string {
  return flow.map(([h, w]) => (h === w ? `${h}` : `${h}×${w}`)).join(' → ');
}

export function formatSummary(inf: Inference, title?: string): string {
  const header = ['Layer (type)', 'Output Shape', 'Param #', 'FLOPs'];
  const rows = inf.layers.map((l) => [`${l.name} (${l.type})`, formatShape(l.outputShape), count(l.params), compact(l.flops)]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const gap = '   ';
  // Names and shapes read left to right; numbers line up on their last digit.
  const line = (cells: string[]) =>
    ' ' + cells.map((s, c) => (c < 2 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join(gap).trimEnd();
  const width = 1 + widths.reduce((a, b) => a + b, 0) + gap.length * (widths.length - 1);

  const out: string[] = [];
  if (title !== undefined) out.push(`Model: "${title}"`);
  out.push('_'.repeat(width), line(header), '='.repeat(width));
  rows.forEach((r, i) => {
    if (i > 0) out.push('_'.repeat(width));
    out.push(line(r));
  });
  if (!inf.complete) out.push(` (stopped before layers[${inf.layers.length}]: see the diagnostics)`);
  out.push(
    '='.repeat(width),
    `Total params: ${count(inf.totalParams)} (${bytes(4 * inf.totalParams)})`,
    `Trainable params: ${count(inf.trainableParams)}`,
    `Non-trainable params: ${count(inf.nonTrainableParams)}`,
    `FLOPs per example: ${count(inf.totalFlops)} (${compact(inf.totalFlops)})`,
    `Activation memory per example: ${bytes(inf.activationBytes)}`,
    `Spatial flow: ${formatFlow(inf.spatialFlow)}`,
    '_'.repeat(width),
  );
  return out.join('\n');
}
