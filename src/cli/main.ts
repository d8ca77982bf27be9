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
import { DiagnosticError, formatDiagnostic } from '../diagnostics.js';
import { closest } from '../suggest.js';
import { type Args, type ArgSpec, commandHelp, globalHelp, parse, UsageError } from './args.js';

/** What each `src/cli/<cmd>.ts` exports; the handler returns the exit code. */
export interface CommandModule {
  spec: ArgSpec;
  handler: (args: Args) => Promise<number> | number;
}

export interface CommandEntry {
  /** The word typed on the command line. */
  name: string;
  /** Shown in `cnnc --help` without loading the module; a test holds it to the module's spec. */
  usage: string;
  describe: string;
  load: () => Promise<CommandModule>;
}

export const COMMANDS: readonly CommandEntry[] = [
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
    usage: 'diff <sources...>',
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
  // The command is the first word; --help and --version may come before it.
  const at = argv.findIndex((a) => !a.startsWith('-'));
  const word = at < 0 ? undefined : argv[at];
  const entry = COMMANDS.find((c) => c.name === word);
  if (!entry) return withoutCommand(argv, word);

  const { spec, handler } = await entry.load();
  const parsed = parse(spec, [...argv.slice(0, at), ...argv.slice(at + 1)]);
  if ('help' in parsed) return print(commandHelp(entry.name, entry.describe, spec));
  if ('version' in parsed) return print(`${packageVersion()}\n`);
  return handler(parsed.args);
}

function withoutCommand(argv: string[], word: string | undefined): number {
  const names = COMMANDS.map((c) => c.name);
  // Name a mistyped command before finding fault with the options after it.
  if (word !== undefined && !argv.includes('--help') && !argv.includes('-h')) {
    const near = closest(word, names);
    throw new UsageError(`unknown command '${word}'${near ? `; did you mean ${near}?` : `; the commands are ${names.join(', ')}`}`);
  }
  const parsed = parse({ options: {} }, argv);
  if ('help' in parsed) return print(globalHelp(COMMANDS));
  if ('version' in parsed) return print(`${packageVersion()}\n`);
  throw new UsageError(`a command is required: ${names.join(', ')}`);
}

function print(text: string): number {
  process.stdout.write(text);
  return EXIT.ok;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
