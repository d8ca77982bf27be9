/**
 * What a run prints while it trains: on a terminal, one live line per epoch redrawn in place
 * (Keras' progress bar); otherwise one plain line per epoch, or JSON lines with --json.
 */
import type { Reporter, StageLabel } from '../execute.js';
import type { BatchProgress, EpochResult } from '../engine/trainer.js';
import type { Evaluation } from '../engine/evaluate.js';

export type OutputMode = 'tty' | 'plain' | 'json';

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

function bar(done: number, total: number, width = 24): string {
  const filled = Math.floor((done / total) * width);
  return '[' + '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (done === total ? '=' : '>') : '') + '.'.repeat(width - filled) + ']';
}

function epochText(r: EpochResult): string {
  const val = r.valLoss !== undefined ? ` - val_loss ${r.valLoss.toFixed(4)} - val_accuracy ${r.valAccuracy!.toFixed(4)}` : '';
  return `${r.seconds.toFixed(1)}s - loss ${r.loss.toFixed(4)} - accuracy ${r.accuracy.toFixed(4)}${val} - ${Math.round(r.imagesPerSecond)} img/s`;
}

export interface Printer extends Reporter {
  /** Text the record's log should also receive (everything but transient redraws). */
  readonly mode: OutputMode;
}

export function createPrinter(mode: OutputMode, write: (s: string) => void, log: (line: string) => void): Printer {
  let live = false;
  const endLive = () => {
    if (live) write('\n');
    live = false;
  };
  return {
    mode,
    line(text) {
      log(text);
      if (mode === 'json') return;
      endLive();
      write(text + '\n');
    },
    progress(stage: StageLabel, p: BatchProgress) {
      if (mode !== 'tty') return;
      const eta = p.batch < p.batches ? ` - ETA ${clock((p.seconds / p.batch) * (p.batches - p.batch))}` : '';
      const text = `Epoch ${p.epoch}/${p.epochs} ${String(p.batch).padStart(String(p.batches).length)}/${p.batches} ${bar(p.batch, p.batches)}` +
        ` - loss ${p.loss.toFixed(4)} - accuracy ${p.accuracy.toFixed(4)} - ${Math.round(p.imagesPerSecond)} img/s${eta}`;
      write(`\r\x1b[K${text}`);
      live = true;
    },
    evaluation(stage: StageLabel, e: Evaluation) {
      const text = `stage ${stage.index + 1}/${stage.count} evaluate: ${e.count} test images — loss ${e.loss.toFixed(4)}, accuracy ${(e.accuracy * 100).toFixed(2)}%`;
      log(text);
      if (mode === 'json') {
        write(JSON.stringify({ event: 'evaluate', stageIndex: stage.index, ...e }) + '\n');
        return;
      }
      endLive();
      write(text + '\n');
    },
    epoch(stage: StageLabel, r: EpochResult) {
      const text = `Epoch ${r.epoch}: ${epochText(r)}`;
      log(`${stage.kind} ${text}`);
      if (mode === 'json') {
        write(JSON.stringify({ event: 'epoch', stage: stage.kind, stageIndex: stage.index, ...r }) + '\n');
        return;
      }
      if (mode === 'tty') {
        write(`\r\x1b[K${text}\n`);
        live = false;
      } else {
        write(text + '\n');
      }
    },
  };
}
