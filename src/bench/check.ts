/**
 * `npm run bench:check -- [--files N] [--rounds R] [--json]`: how long `cnnc check` takes on N
 * different experiments (default 100), against how long `require('@tensorflow/tfjs')` alone takes,
 * each in a fresh process, alternating so that a busy machine slows both alike. A benchmark,
 * never a test.
 * The configs are a sweep (sweep.ts), so no two are the same text.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sweepConfig } from './sweep.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function seconds(args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.slice(0, 2).join(' ')} … exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return elapsed;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main(argv: string[]): number {
  const opt = { files: 100, rounds: 10, json: false };
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--json') opt.json = true;
    else if (argv[i] === '--files' && Number.isInteger(v) && v > 0) (opt.files = v), i++;
    else if (argv[i] === '--rounds' && Number.isInteger(v) && v > 0) (opt.rounds = v), i++;
    else {
      process.stderr.write(`unknown or incomplete argument '${argv[i]}' (usage: npm run bench:check -- [--files N] [--rounds R] [--json])\n`);
      return 2;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'cnnc-bench-check-'));
  try {
    const files = Array.from({ length: opt.files }, (_, i) => {
      const file = join(dir, `sweep-${i}.yaml`);
      writeFileSync(file, sweepConfig(i));
      return file;
    });
    const check = [join(root, 'bin', 'cnnc.js'), 'check', '-q', ...files];
    const tfjs = ['-e', "require('@tensorflow/tfjs')"];
    seconds(check); // a first run warms the disk cache for both
    seconds(tfjs);
    const t = { check: [] as number[], tfjs: [] as number[] };
    for (let r = 0; r < opt.rounds; r++) {
      t.check.push(seconds(check));
      t.tfjs.push(seconds(tfjs));
    }
    const result = {
      files: opt.files,
      rounds: opt.rounds,
      check_median_s: +median(t.check).toFixed(3),
      check_min_s: +Math.min(...t.check).toFixed(3),
      require_tfjs_median_s: +median(t.tfjs).toFixed(3),
      require_tfjs_min_s: +Math.min(...t.tfjs).toFixed(3),
    };
    if (opt.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(
        `cnnc check of ${opt.files} configs: median ${result.check_median_s} s (min ${result.check_min_s})\n` +
        `require('@tensorflow/tfjs'):        median ${result.require_tfjs_median_s} s (min ${result.require_tfjs_min_s})\n` +
        `ratio (check / require tfjs), medians: ${(result.check_median_s / result.require_tfjs_median_s).toFixed(2)}\n`,
      );
    }
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main(process.argv.slice(2));
