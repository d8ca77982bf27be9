/** `cnnc rerun <run-dir>`: the same experiment again from its record alone. */
import type { ArgSpec } from './args.js';
import { options, rerunCommand, runOptions } from './run.js';

export const spec: ArgSpec = {
  positionals: [{ name: 'dir', describe: 'A run directory', required: true }],
  options: runOptions,
};

export async function handler(args: Record<string, unknown>): Promise<number> {
  const o = options(args);
  if (typeof o === 'string') {
    process.stderr.write(`cnnc: error: ${o}\n`);
    return 2;
  }
  return rerunCommand(String(args.dir), o);
}
