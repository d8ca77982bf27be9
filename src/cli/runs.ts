/**
 * `cnnc runs [--dir runs] [--json]`: the recorded runs, newest first. Reads the run directories
 * only; an empty or missing runs directory is not an error.
 */
import { RunsDirError, formatRuns, listRuns } from '../compare/runs-list.js';
import type { ArgSpec } from './args.js';

export const spec: ArgSpec = {
  options: {
    // --runs-dir too, the name run and rerun give the same directory.
    dir: { type: 'string', alias: 'runs-dir', arg: 'dir', default: 'runs', describe: 'The runs directory to list' },
    json: { type: 'boolean', default: false, describe: 'Print a JSON array instead of the table' },
  },
};

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
