/** `cnnc rerun <run-dir>`: the same experiment again from its record alone. */
import type { Argv } from 'yargs';
import { options, rerunCommand, runOptions } from './run.js';

export const command = 'rerun <dir>';
export const describe = 'Reproduce a recorded run from its resolved config, seed, backend and data';

export function builder(y: Argv): Argv {
  return runOptions(y).positional('dir', { describe: 'A run directory', type: 'string' }) as Argv;
}

export async function handler(args: Record<string, unknown>): Promise<number> {
  const o = options(args);
  if (typeof o === 'string') {
    process.stderr.write(`cnnc: error: ${o}\n`);
    return 2;
  }
  return rerunCommand(String(args.dir), o);
}
