/**
 * `npm run bench -- [--steps N] [--backend B] [--workers W] [--json]`: the reference net
 * (configs/mnist.yaml) on real MNIST at batch 64, timed the way cnnc trains it (trainStep:
 * gradient threads, cnnc's Adam shared out among them, new weights published) — then
 * inference over the 10,000 test images,
 * then the per-kernel breakdown of one single-threaded step. A benchmark, never a test.
 *
 * Without --backend, every backend that loads here is measured, each in its own process (a
 * process holds one tfjs engine; wasm kernels and tfjs-node must not share it).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { checkFile } from '../check.js';
import { loadMnist } from '../data/mnist.js';
import { epochOrder } from '../data/select.js';
import { selectExamples } from '../data/select.js';
import type { BackendName } from '../engine/backend-names.js';

interface Args {
  steps: number;
  backend: Exclude<BackendName, 'auto'> | null;
  workers: number;
  json: boolean;
}

function parse(argv: string[]): Args | string {
  const a: Args = { steps: 150, backend: null, workers: 0, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--json') a.json = true;
    else if (k === '--steps' && v && /^\d+$/.test(v)) (a.steps = Number(v)), i++;
    else if (k === '--workers' && v && /^\d+$/.test(v)) (a.workers = Number(v)), i++;
    else if (k === '--backend' && (v === 'wasm' || v === 'cpu' || v === 'tensorflow')) (a.backend = v), i++;
    else return `unknown or incomplete argument '${k}' (usage: npm run bench -- [--steps N] [--backend wasm|cpu|tensorflow] [--workers W] [--json])`;
  }
  if (a.steps < 1) return '--steps must be at least 1';
  return a;
}

const REFERENCE = fileURLToPath(new URL('../../configs/mnist.yaml', import.meta.url));
const BATCH = 64;
const WARMUP = 5;

export interface BenchResult {
  backend: string;
  version: string;
  workers: number;
  batch: number;
  steps: number;
  train_images_per_s: number;
  /** From the median step time: less sensitive to other jobs on a shared machine than the mean. */
  train_median_images_per_s: number;
  infer_images_per_s: number;
  /** Where a step's time goes on one thread: kernels (tf.profile) and cnnc's host work. */
  step_breakdown: { kernels: { name: string; inputShapes: unknown; calls: number; ms: number }[]; kernel_ms: number; step_ms: number; optimizer_ms: number; push_ms: number; batch_ms: number };
}

async function measure(backendName: Exclude<BackendName, 'auto'>, a: Args): Promise<BenchResult> {
  const { selectBackend } = await import('../engine/backend.js');
  const info = await selectBackend(backendName);
  const tf = await import('@tensorflow/tfjs');
  const { buildModel } = await import('../compile.js');
  const { Replica } = await import('../engine/replica.js');
  const { Batcher, toTensors } = await import('../engine/batches.js');
  const { LocalGradients } = await import('../engine/gradients.js');
  const { ParallelGradients } = await import('../engine/parallel.js');
  const { createOptimizer } = await import('../engine/optimizers.js');
  const { trainStep } = await import('../engine/trainer.js');
  const { evaluate } = await import('../engine/evaluate.js');
  const { profileStep } = await import('../engine/profile-step.js');

  const checked = checkFile(REFERENCE);
  const exp = checked.experiment!;
  const stage = exp.stages[0];
  if (stage.kind !== 'train') throw new Error('configs/mnist.yaml must start with a train stage');
  const replica = new Replica(tf, buildModel(tf, exp));
  const weights = replica.readAll();
  const which = replica.weights.map((_, i) => i).filter((i) => replica.weights[i].trainable);
  const train = loadMnist('train');
  const batcher = new Batcher(train, selectExamples(train, { classes: null, limit: null }, exp.seed), stage.loss);
  const order = epochOrder(batcher.count, exp.seed, 0);
  const workers = a.workers > 0 ? a.workers : backendName === 'tensorflow' ? 1 : availableParallelism();
  const source = workers > 1 ? await ParallelGradients.start(tf, replica, exp, backendName, workers) : new LocalGradients(tf, replica);
  const optimizer = createOptimizer(stage.optimizer, replica.weights.map((w) => w.size));
  const grads: Float32Array[] = new Array(weights.length);

  // As the trainer does it (trainStep): with several threads, the update shared among them.
  const input = (s: number) => ({ batcher, order, start: (s * BATCH) % (batcher.count - BATCH), size: BATCH, which, dropoutSeed: s });
  const step = async (s: number, last: number) => {
    await trainStep(source, optimizer, weights, input(s), s < last ? input(s + 1) : undefined);
  };
  for (let s = 0; s < WARMUP; s++) await step(s, WARMUP - 1);
  const stepMs: number[] = [];
  const t0 = performance.now();
  for (let s = 0; s < a.steps; s++) {
    const ts = performance.now();
    await step(WARMUP + s, WARMUP + a.steps - 1);
    stepMs.push(performance.now() - ts);
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  stepMs.sort((p, q) => p - q);
  const medianStepMs = stepMs[stepMs.length >> 1];

  const test = loadMnist('test');
  const testBatcher = new Batcher(test, selectExamples(test, { classes: null, limit: null }, exp.seed), stage.loss);
  await evaluate(source, testBatcher, 1000, 10); // warm-up
  const t1 = performance.now();
  await evaluate(source, testBatcher, 1000, 10);
  const inferSeconds = (performance.now() - t1) / 1000;
  await source.close();

  // The same step on one thread, split into host work and kernels.
  const host = { optimizer: 0, push: 0, batch: 0, n: 0 };
  const single = () => {
    let t = performance.now();
    const b = toTensors(tf, batcher.host(order, 0, BATCH));
    host.batch += performance.now() - t;
    const r = replica.gradients(b, stage.loss, BATCH, which);
    b.x.dispose();
    b.y.dispose();
    which.forEach((wi, k) => (grads[wi] = r.grads[k]));
    t = performance.now();
    optimizer.step(weights, grads, which);
    host.optimizer += performance.now() - t;
    t = performance.now();
    for (const i of which) replica.write(i, weights[i]);
    host.push += performance.now() - t;
    host.n++;
  };
  const p = await profileStep(tf, single, BATCH, { warmup: 2, steps: 10, profiledSteps: 3 });
  return {
    backend: info.name,
    version: info.detail,
    workers,
    batch: BATCH,
    steps: a.steps,
    train_images_per_s: Math.round((a.steps * BATCH) / trainSeconds * 10) / 10,
    train_median_images_per_s: Math.round((BATCH * 1000) / medianStepMs * 10) / 10,
    infer_images_per_s: Math.round((testBatcher.count / inferSeconds) * 10) / 10,
    step_breakdown: {
      kernels: p.kernels.map((k) => ({ name: k.name, inputShapes: k.inputShapes, calls: k.calls, ms: Math.round(k.totalMs * 100) / 100 })),
      kernel_ms: Math.round(p.kernelTotalMs * 10) / 10,
      step_ms: Math.round(p.medianMs * 10) / 10,
      optimizer_ms: Math.round((host.optimizer / host.n) * 100) / 100,
      push_ms: Math.round((host.push / host.n) * 100) / 100,
      batch_ms: Math.round((host.batch / host.n) * 100) / 100,
    },
  };
}

function report(r: BenchResult, rows = 24): string {
  const b = r.step_breakdown;
  const lines = [
    `${r.backend} — ${r.version}`,
    `  train:     ${r.train_images_per_s} images/s (${r.steps} steps of ${r.batch}, ${r.workers} gradient thread(s); median step: ${r.train_median_images_per_s} images/s)`,
    `  inference: ${r.infer_images_per_s} images/s (10,000 test images, batches of 1000, ${r.workers} thread(s))`,
    `  one step on one thread: ${b.step_ms} ms = kernels ${b.kernel_ms} ms + host (batch ${b.batch_ms}, optimizer ${b.optimizer_ms}, weight push ${b.push_ms} ms) + overhead`,
  ];
  for (const k of b.kernels.slice(0, rows)) lines.push(`    ${k.ms.toFixed(2).padStart(8)} ms ${String(k.calls).padStart(3)}×  ${k.name} ${JSON.stringify(k.inputShapes)}`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const a = parse(process.argv.slice(2));
  if (typeof a === 'string') {
    process.stderr.write(`bench: ${a}\n`);
    return 2;
  }
  if (a.backend) {
    const r = await measure(a.backend, a);
    process.stdout.write((a.json ? JSON.stringify(r) : report(r)) + '\n');
    return 0;
  }
  // Each backend in its own process; tensorflow only where tfjs-node loads.
  const results: BenchResult[] = [];
  for (const backend of ['tensorflow', 'wasm'] as const) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--backend', backend, '--steps', String(a.steps), '--workers', String(a.workers), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.status !== 0) {
      const why = (child.stderr.trim().split('\n').pop() ?? '').slice(0, 200);
      if (!a.json) process.stdout.write(`${backend}: not measured — ${why}\n`);
      continue;
    }
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as BenchResult;
    results.push(r);
    if (!a.json) process.stdout.write(report(r) + '\n');
  }
  if (a.json) for (const r of results) process.stdout.write(JSON.stringify(r) + '\n');
  return results.length ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
