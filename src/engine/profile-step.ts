/**
 * Times a training step on the current tfjs backend with a per-kernel breakdown, so the
 * engine's speed can be tracked (`npm run bench` profiles cnnc's own step of the reference net).
 */
import type * as TfNamespace from '@tensorflow/tfjs';

type Tf = typeof TfNamespace;

export interface ProfileStepOptions {
  /** Batch size (default 64). */
  batch?: number;
  /** Untimed steps first (default 3). */
  warmup?: number;
  /** Timed steps (default 10). */
  steps?: number;
  /**
   * Steps run under tf.profile for the per-kernel table (default 3; 0 for
   * none). Each kernel's time is the median over these steps.
   */
  profiledSteps?: number;
}

export interface KernelTime {
  name: string;
  inputShapes: Array<number[] | null>;
  calls: number;
  totalMs: number;
}

export interface StepProfile {
  backend: string;
  batch: number;
  /** Wall-clock milliseconds of each timed step, in order. */
  stepMs: number[];
  medianMs: number;
  minMs: number;
  imagesPerSecond: number;
  /**
   * Kernels of a step, grouped by name and input shapes, slowest first
   * (median over the profiled steps).
   */
  kernels: KernelTime[];
  /** Sum of `kernels[].totalMs`. */
  kernelTotalMs: number;
  /** wasm only: SIMD in use, and the thread count. */
  wasm?: { simd: boolean; threads: number | null };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function wasmInfo(tf: Tf): Promise<StepProfile['wasm']> {
  if (tf.getBackend() !== 'wasm') return undefined;
  let simd = false;
  try {
    simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  } catch {
    simd = false;
  }
  const backend = tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
  const threads = backend.wasm?.tfjs?.getThreadsCount?.() ?? null;
  return { simd, threads };
}

/**
 * Times `step` (one training step, synchronous, leaving no tensors behind) on the active backend,
 * then runs it under tf.profile for the per-kernel breakdown.
 */
export async function profileStep(tf: Tf, step: () => void, batch: number, options: ProfileStepOptions = {}): Promise<StepProfile> {
  const warmup = options.warmup ?? 3;
  const steps = options.steps ?? 10;
  for (let i = 0; i < warmup; i++) step();
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    stepMs.push(performance.now() - t0);
  }
  const profiled = options.profiledSteps ?? 3;
  const samples = new Map<string, { kernel: KernelTime; perStep: number[] }>();
  for (let i = 0; i < profiled; i++) {
    const info = await tf.profile(() => {
      step();
    });
    const thisStep = new Map<string, number>();
    for (const k of info.kernels) {
      const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
      let e = samples.get(key);
      if (e == null) {
        e = { kernel: { name: k.name, inputShapes: k.inputShapes as Array<number[] | null>, calls: 0, totalMs: 0 }, perStep: [] };
        samples.set(key, e);
      }
      if (i === 0) e.kernel.calls++;
      const ms = k.kernelTimeMs as unknown;
      thisStep.set(key, (thisStep.get(key) ?? 0) + (typeof ms === 'number' ? ms : 0));
    }
    for (const [key, ms] of thisStep) samples.get(key)?.perStep.push(ms);
  }
  const kernels: KernelTime[] = [...samples.values()]
    .map(({ kernel, perStep }) => ({ ...kernel, totalMs: median(perStep) }))
    .sort((x, y) => y.totalMs - x.totalMs);
  const med = median(stepMs);
  return {
    backend: tf.getBackend(),
    batch,
    stepMs,
    medianMs: med,
    minMs: Math.min(...stepMs),
    imagesPerSecond: (batch * 1000) / med,
    kernels,
    kernelTotalMs: kernels.reduce((sum, k) => sum + k.totalMs, 0),
    wasm: await wasmInfo(tf),
  };
}

/** A plain-text report of a StepProfile (top `rows` kernels). */
export function formatStepProfile(p: StepProfile, rows = 20): string {
  const lines = [
    `backend ${p.backend}${p.wasm ? ` (simd ${p.wasm.simd}, threads ${p.wasm.threads ?? '?'})` : ''}, batch ${p.batch}`,
    `step median ${p.medianMs.toFixed(1)} ms, min ${p.minMs.toFixed(1)} ms, ` +
      `${p.imagesPerSecond.toFixed(0)} images/s (${p.stepMs.length} steps)`,
  ];
  if (p.kernels.length > 0) {
    lines.push(`kernels (median per kernel over profiled steps): ${p.kernelTotalMs.toFixed(1)} ms`);
    for (const k of p.kernels.slice(0, rows)) {
      lines.push(
        `${k.totalMs.toFixed(2).padStart(8)} ms ${String(k.calls).padStart(3)}x  ${k.name} ${JSON.stringify(k.inputShapes)}`,
      );
    }
  }
  return lines.join('\n');
}
