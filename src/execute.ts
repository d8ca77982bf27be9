/**
 * execute: runs an experiment's stages in order on a compiled model, reporting each epoch and
 * evaluation to a Recorder and to the caller's Reporter, and checkpointing every complete epoch
 * so an interrupted run can continue exactly where its record says it stopped.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { CheckResult } from './check.js';
import { compile } from './compile.js';
import { loadMnist, type MnistSplit } from './data/mnist.js';
import { deriveSeed } from './data/rng.js';
import { selectExamples, splitValidation, type Selection } from './data/select.js';
import type { DataSelection, Experiment, LossName, Stage } from './experiment.js';
import type { BackendName } from './engine/backend-names.js';
import { Batcher } from './engine/batches.js';
import { evaluate, type Evaluation } from './engine/evaluate.js';
import { type GradientSource, LocalGradients } from './engine/gradients.js';
import { createOptimizer } from './engine/optimizers.js';
import { ParallelGradients } from './engine/parallel.js';
import { Replica } from './engine/replica.js';
import { saveModel } from './engine/save.js';
import { type BatchProgress, type EpochResult, trainStage } from './engine/trainer.js';
import { type Checkpoint, saveCheckpoint } from './record/checkpoint.js';
import type { Recorder } from './record/recorder.js';

type Tf = typeof tfjs;

export interface Reporter {
  /** A line worth keeping in the log. */
  line(text: string): void;
  /** Transient progress inside an epoch (a terminal redraws it). */
  progress?(stage: StageLabel, p: BatchProgress): void;
  epoch?(stage: StageLabel, r: EpochResult): void;
  evaluation?(stage: StageLabel, e: Evaluation): void;
}

export interface StageLabel {
  index: number;
  kind: Stage['kind'];
  count: number;
}

export interface ExecuteInput {
  tf: Tf;
  checked: CheckResult;
  recorder: Recorder;
  reporter: Reporter;
  /** The backend in use (workers select the same one). */
  backend: Exclude<BackendName, 'auto'>;
  /** Gradient threads, this one included; 1 = no worker threads. */
  workers: number;
  shouldStop?: () => boolean;
  /** Continue from this checkpoint instead of starting afresh. */
  resume?: Checkpoint;
}

export interface StageOutcome {
  index: number;
  kind: Stage['kind'];
  epochs?: EpochResult[];
  evaluation?: Evaluation;
  modelDir?: string;
  seconds: number;
  /** A training stage that stopped early (signal) at an epoch boundary. */
  stopped?: boolean;
}

export interface ExecuteOutput {
  stages: StageOutcome[];
  stopped: boolean;
}

interface Context {
  tf: Tf;
  exp: Experiment;
  model: tfjs.LayersModel;
  replica: Replica;
  weights: Float32Array[];
  gradients: GradientSource;
  input: ExecuteInput;
}

export async function execute(input: ExecuteInput): Promise<ExecuteOutput> {
  const { tf, checked } = input;
  const exp = checked.experiment as Experiment;
  const model = compile(tf, checked);
  const replica = new Replica(tf, model);
  if (input.resume) input.resume.weights.forEach((w, i) => replica.write(i, w));
  const weights = replica.readAll();
  const gradients: GradientSource = input.workers > 1
    ? await ParallelGradients.start(tf, replica, exp, input.backend, input.workers)
    : new LocalGradients(tf, replica);
  const ctx: Context = { tf, exp, model, replica, weights, gradients, input };
  try {
    const stages: StageOutcome[] = [];
    for (const [index, stage] of exp.stages.entries()) {
      if (input.resume && index < input.resume.stageIndex) continue;
      const outcome = stage.kind === 'evaluate' ? await runEvaluate(ctx, stage, index) : await runTraining(ctx, stage, index);
      stages.push(outcome);
      if (outcome.stopped) return { stages, stopped: true };
      checkpoint(ctx, index + 1, 0, null);
    }
    return { stages, stopped: false };
  } finally {
    await gradients.close();
    model.dispose();
  }
}

function startEpoch(ctx: Context, index: number): number {
  return ctx.input.resume?.stageIndex === index ? ctx.input.resume.epochsDone : 0;
}

function selection(split: MnistSplit, data: DataSelection, which: 'train' | 'test', seed: number): Selection {
  return selectExamples(split, { classes: data.classes, limit: data.limit[which] }, seed);
}

function label(ctx: Context, stage: Stage, index: number): StageLabel {
  return { index, kind: stage.kind, count: ctx.exp.stages.length };
}

async function runEvaluate(ctx: Context, stage: Extract<Stage, { kind: 'evaluate' }>, index: number): Promise<StageOutcome> {
  const { tf, exp, input } = ctx;
  const t0 = performance.now();
  const test = loadMnist('test');
  const sel = selection(test, stage.data, 'test', exp.seed);
  const loss = lossBefore(exp, index);
  const ev = await evaluate(ctx.gradients, new Batcher(test, sel, loss), stage.batchSize, sel.numClasses);
  input.recorder.result({ stage: stage.kind, stageIndex: index, loss: ev.loss, accuracy: ev.accuracy, perClassAccuracy: ev.perClassAccuracy, confusion: ev.confusion });
  input.reporter.evaluation?.(label(ctx, stage, index), ev);
  return { index, kind: stage.kind, evaluation: ev, seconds: (performance.now() - t0) / 1000 };
}

async function runTraining(ctx: Context, stage: Extract<Stage, { kind: 'train' | 'finetune' }>, index: number): Promise<StageOutcome> {
  const { tf, exp, replica, weights, input } = ctx;
  const t0 = performance.now();
  const train = loadMnist('train');
  const all = selection(train, stage.data, 'train', exp.seed);
  const { train: trainSel, validation: valSel } = splitValidation(all, stage.validationSplit);
  const frozen = new Set(stage.kind === 'finetune' ? stage.freeze : []);
  const from = startEpoch(ctx, index);
  const resumed = input.resume?.stageIndex === index;
  const optimizer = createOptimizer(stage.optimizer, replica.weights.map((w) => w.size), resumed ? input.resume!.optimizer : undefined);
  const me = label(ctx, stage, index);
  input.reporter.line(
    `stage ${index + 1}/${exp.stages.length} ${stage.kind}: ${trainSel.indices.length} images, ${stage.epochs} epoch(s), batch ${stage.batchSize}, ` +
      `${stage.optimizer.name} lr ${stage.optimizer.learningRate}` +
      (frozen.size ? `, frozen layers ${[...frozen].join(', ')}` : '') +
      (valSel.indices.length ? `, ${valSel.indices.length} held out for validation` : '') +
      (from ? `, resuming after epoch ${from}` : ''),
  );
  const out = await trainStage({
    tf, replica, spec: stage, weights, frozen, optimizer, startEpoch: from, gradients: ctx.gradients,
    seed: deriveSeed(exp.seed, 'stage', index),
    train: new Batcher(train, trainSel, stage.loss),
    validation: valSel.indices.length ? { batcher: new Batcher(train, valSel, stage.loss), numClasses: valSel.numClasses } : undefined,
    hooks: {
      onBatch: (p) => input.reporter.progress?.(me, p),
      onEpoch: (r) => {
        // Metrics line, then checkpoint, then the screen: whatever a user has seen reported is
        // already resumable, and a resume drops metric lines past its checkpoint.
        input.recorder.epoch({ stage: stage.kind, stageIndex: index, ...r });
        checkpoint(ctx, index, r.epoch, optimizer.state);
        input.reporter.epoch?.(me, r);
      },
      shouldStop: input.shouldStop,
    },
  });
  const outcome: StageOutcome = { index, kind: stage.kind, epochs: out.epochs, seconds: (performance.now() - t0) / 1000, stopped: out.stopped };
  if (!out.stopped) outcome.modelDir = await saveStageModel(ctx, index, stage.kind);
  return outcome;
}

function checkpoint(ctx: Context, stageIndex: number, epochsDone: number, optimizer: Checkpoint['optimizer'] | null): void {
  // Non-trainable weights (batch norm statistics) live in the model, not in the host copy.
  const weights = ctx.replica.weights.map((w, i) => (w.trainable ? ctx.weights[i] : ctx.replica.read(i)));
  saveCheckpoint(ctx.input.recorder.dir, { stageIndex, epochsDone, weights, optimizer: optimizer ?? { step: 0, slots: [] } });
}

/** An evaluate stage measures with the loss of the training stage before it (Keras' compiled loss). */
function lossBefore(exp: Experiment, index: number): LossName {
  for (let i = index - 1; i >= 0; i--) {
    const s = exp.stages[i];
    if (s.kind !== 'evaluate') return s.loss;
  }
  for (const s of exp.stages) if (s.kind !== 'evaluate') return s.loss;
  return 'categoricalCrossentropy';
}

async function saveStageModel(ctx: Context, index: number, kind: string): Promise<string> {
  const { recorder } = ctx.input;
  const tmp = recorder.stagingDir();
  await saveModel(ctx.tf, ctx.model, tmp);
  const final = recorder.modelDir(index, kind);
  recorder.commitDir(tmp, final);
  return final;
}
