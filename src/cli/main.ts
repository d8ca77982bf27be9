/**
 * The `cnnc` command line. Commands are a table of lazily imported modules: only the module of
 * the command being run is loaded, so `cnnc check` never pulls in TensorFlow.js through `run`.
 * Other commands appear in `--help` from their table entry alone.
 *
 * Exit codes: 0 ok, 1 the config (or data) is at fault, 2 usage error, 70 internal error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { DiagnosticError, formatDiagnostic } from '../diagnostics.js';

/** What each `src/cli/<cmd>.ts` exports; the handler returns the exit code. */
export interface CommandModule {
  command: string | string[];
  describe: string;
  builder: (y: Argv) => Argv;
  handler: (args: Record<string, unknown>) => Promise<number> | number;
}

interface CommandEntry {
  /** The word typed on the command line. */
  name: string;
  /** Shown in `cnnc --help` without loading the module. */
  usage: string;
  describe: string;
  load: () => Promise<CommandModule>;
}

const COMMANDS: CommandEntry[] = [
  {
    name: 'check',
    usage: 'check <files...>',
    describe: 'Validate experiments and print their model summary, without training',
    load: () => import('./check.js'),
  },
  {
    name: 'run',
    usage: 'run [config]',
    describe: 'Train, evaluate and fine-tune an experiment, recording the run (--resume <run-dir> continues one)',
    load: () => import('./run.js'),
  },
  {
    name: 'rerun',
    usage: 'rerun <dir>',
    describe: 'Reproduce a recorded run from its resolved config, seed, backend and data',
    load: () => import('./rerun.js'),
  },
  {
    name: 'diff',
    usage: 'diff <sources..>',
    describe: 'Compare experiments and runs: config, layer shapes and parameters, metrics',
    load: () => import('./diff.js'),
  },
  {
    name: 'runs',
    usage: 'runs',
    describe: 'List recorded runs, newest first',
    load: () => import('./runs.js'),
  },
];

export const EXIT = { ok: 0, failed: 1, usage: 2, internal: 70 } as const;

class UsageError extends Error {}

/** A bug's stack trace goes to a file, not the user's terminal; returns the file or null. */
function writeTrace(e: unknown): string | null {
  try {
    const file = join(tmpdir(), `cnnc-crash-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    const stack = e instanceof Error ? e.stack ?? e.message : String(e);
    writeFileSync(file, `cnnc ${process.argv.slice(2).join(' ')}\nnode ${process.version} ${process.platform}-${process.arch}\n\n${stack}\n`);
    return file;
  } catch {
    return null;
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`cnnc: ${e.message} (see 'cnnc --help')\n`);
      return EXIT.usage;
    }
    // A user's mistake found deep inside a step (e.g. while compiling): diagnostics, not a trace.
    if (e instanceof DiagnosticError) {
      for (const d of e.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
      return EXIT.failed;
    }
    const trace = writeTrace(e);
    process.stderr.write(`cnnc: internal error: ${(e as Error)?.message ?? String(e)}\n` +
      (trace ? `cnnc: the full trace is in ${trace} — please report it\n` : 'cnnc: please report it\n'));
    return EXIT.internal;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const word = argv.find((a) => !a.startsWith('-'));
  const entry = COMMANDS.find((c) => c.name === word);
  const chosen = entry ? await entry.load() : undefined;

  let code: number = EXIT.ok;
  let y = yargs(argv)
    .scriptName('cnnc')
    .usage('$0 <command> [options]')
    .strict()
    .exitProcess(false)
    .version(packageVersion())
    .help()
    .alias('h', 'help')
    .demandCommand(1, `a command is required: ${COMMANDS.map((c) => c.name).join(', ')}`)
    .recommendCommands()
    .fail((message, error) => {
      // yargs routes both its own validation failures and handler exceptions here.
      if (error && error.name !== 'YError') throw error;
      throw new UsageError(firstLine(message ?? error?.message ?? 'invalid arguments'));
    });
  for (const c of COMMANDS) {
    if (c === entry && chosen) {
      y = y.command(chosen.command, chosen.describe, chosen.builder, async (args) => {
        code = await chosen.handler(args as Record<string, unknown>);
      });
    } else {
      y = y.command(c.usage, c.describe);
    }
  }
  await y.parseAsync();
  return code;
}

function firstLine(s: string): string {
  const line = s.split('\n')[0].trim();
  return line.charAt(0).toLowerCase() + line.slice(1);
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
