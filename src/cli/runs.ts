/**
 * `cnnc runs [--dir runs] [--json]`: the recorded runs, newest first. Reads the run directories
 * only; an empty or missing runs directory is not an error.
 */
import type { Argv } from 'yargs';
import { RunsDirError, formatRuns, listRuns } from '../compare/runs-list.js';

export const command = 'runs';
export const describe = 'List recorded runs, newest first';

export function builder(y: Argv): Argv {
  return y
    .option('dir', { alias: 'runs-dir', type: 'string', default: 'runs', describe: 'The runs directory to list' })
    .option('json', { type: 'boolean', default: false, describe: 'Print a JSON array instead of the table' }) as Argv;
}

export async function handler(args: Record<string, unknown>): Promise<number> {
  const dir = String(args.dir);
  let rows;
  try {
    rows = listRuns(dir);
  } catch (e) {
    if (!(e instanceof RunsDirError)) throw e;
    process.stderr.write(`cnnc: ${e.message}\n`);
    return 2;
  }
  if (args.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else process.stdout.write(rows.length === 0 ? `no runs in ${dir}\n` : `${formatRuns(rows)}\n`);
  return 0;
}
