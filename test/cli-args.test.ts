/**
 * The argument layer on its own: every kind of usage error, the values handlers receive, and help.
 */
import { describe, expect, it } from 'vitest';
import { type ArgSpec, commandHelp, globalHelp, parse, usage, UsageError } from '../src/cli/args.js';
import { closest } from '../src/suggest.js';
import { COMMANDS } from '../src/cli/main.js';

const SPEC: ArgSpec = {
  positionals: [
    { name: 'config', describe: 'Experiment YAML file', required: true },
    { name: 'more', describe: 'More files', variadic: true },
  ],
  options: {
    json: { type: 'boolean', default: false, describe: 'JSON output' },
    quiet: { type: 'boolean', short: 'q', default: false, describe: 'Less output' },
    'runs-dir': { type: 'string', alias: 'out', arg: 'dir', describe: 'Where runs go' },
    backend: { type: 'string', choices: ['auto', 'wasm', 'cpu'], describe: 'The engine' },
    workers: { type: 'number', default: 0, arg: 'n', describe: 'Threads' },
  },
};

const args = (argv: string[]) => {
  const parsed = parse(SPEC, argv);
  if (!('args' in parsed)) throw new Error(`expected arguments, got ${JSON.stringify(parsed)}`);
  return parsed.args;
};

function usageError(argv: string[]): string {
  try {
    parse(SPEC, argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`${argv.join(' ')} parsed`);
}

describe('parse', () => {
  it('gives handlers defaults, typed values and positionals under their declared names', () => {
    expect(args(['a.yaml'])).toEqual({ config: 'a.yaml', more: [], json: false, quiet: false, workers: 0 });
    expect(args(['-q', 'a.yaml', 'b.yaml', '--workers', '3', '--backend=cpu', '--runs-dir', 'r', 'c.yaml'])).toEqual({
      config: 'a.yaml', more: ['b.yaml', 'c.yaml'], json: false, quiet: true, workers: 3, backend: 'cpu', 'runs-dir': 'r',
    });
  });

  it('files a long alias under the option it stands for', () => {
    expect(args(['a', '--out', 'x'])['runs-dir']).toBe('x');
  });

  it('takes words after -- as positionals, options or not', () => {
    expect(args(['--', '-a.yaml', '--json'])).toMatchObject({ config: '-a.yaml', more: ['--json'], json: false });
  });

  it('takes a value starting with - when it is attached with =', () => {
    expect(args(['a', '--workers=-1']).workers).toBe(-1);
  });

  it('answers --help and --version before anything else is checked', () => {
    expect(parse(SPEC, ['--help'])).toEqual({ help: true });
    expect(parse(SPEC, ['--bogus', '-qh'])).toEqual({ help: true });
    expect(parse(SPEC, ['--version'])).toEqual({ version: true });
  });

  it('names an unknown option, and the option it was probably meant to be', () => {
    expect(usageError(['a', '--jsno'])).toBe('unknown option --jsno; did you mean --json?');
    expect(usageError(['a', '--worker=2'])).toBe('unknown option --worker; did you mean --workers?');
    expect(usageError(['a', '--frobnicate'])).toBe('unknown option --frobnicate');
    expect(usageError(['a', '-x'])).toBe('unknown option -x');
    // No --no- negation: nothing uses it, and a flag is off unless given.
    expect(usageError(['a', '--no-json'])).toBe('unknown option --no-json');
  });

  it('refuses a missing required positional and a stray one', () => {
    expect(usageError([])).toBe('missing <config>: experiment YAML file');
    expect(usageError(['--json'])).toBe('missing <config>: experiment YAML file');
    const single: ArgSpec = { positionals: [{ name: 'dir', describe: 'A run directory', required: true }], options: {} };
    expect(() => parse(single, ['a', 'b'])).toThrow(new UsageError("unexpected argument 'b'"));
    const variadic: ArgSpec = { positionals: [{ name: 'files', describe: 'Files', required: true, variadic: true }], options: {} };
    expect(() => parse(variadic, [])).toThrow(new UsageError('missing <files...>: files'));
  });

  it('refuses a value given to a flag', () => {
    expect(usageError(['a', '--json=yes'])).toBe("--json is a flag and takes no value: drop '=yes'");
  });

  it('refuses a string or number option without its value', () => {
    expect(usageError(['a', '--runs-dir'])).toBe('--runs-dir needs a value');
    expect(usageError(['a', '--runs-dir', '--json'])).toBe("--runs-dir needs a value; for one starting with '-', write --runs-dir=<value>");
    expect(usageError(['a', '--workers'])).toBe('--workers needs a value');
  });

  it('refuses a value that is not among the choices, listing them', () => {
    expect(usageError(['a', '--backend', 'gpu'])).toBe("--backend must be one of auto, wasm, cpu, got 'gpu'");
  });

  it('refuses a number option given something else', () => {
    for (const v of ['two', '', ' ', '1e999', 'NaN']) expect(usageError(['a', `--workers=${v}`])).toBe(`--workers needs a number, got '${v}'`);
    expect(args(['a', '--workers', '0.5']).workers).toBe(0.5);
  });
});

describe('closest', () => {
  it('suggests a near miss only', () => {
    expect(closest('chek', ['check', 'run', 'runs'])).toBe('check');
    expect(closest('rnus', ['check', 'run', 'runs'])).toBe('runs');
    expect(closest('frobnicate', ['check', 'run', 'runs'])).toBeUndefined();
  });
});

describe('help', () => {
  it('lists every command from the table alone', () => {
    const help = globalHelp(COMMANDS);
    for (const c of COMMANDS) expect(help).toContain(`cnnc ${c.usage}`);
    expect(help).toContain('--version');
    for (const line of help.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it("shows a command's usage, positionals, options with their aliases, choices and defaults", () => {
    const help = commandHelp('try', 'Try things out', SPEC);
    expect(help).toBe([
      'Usage: cnnc try <config> [more...] [options]',
      '',
      'Try things out',
      '',
      'Arguments:',
      '  <config>   Experiment YAML file',
      '  [more...]  More files',
      '',
      'Options:',
      '      --json                   JSON output',
      '  -q, --quiet                  Less output',
      '      --runs-dir, --out <dir>  Where runs go',
      '      --backend <value>        The engine [one of: auto, wasm, cpu]',
      '      --workers <n>            Threads [default: 0]',
      '  -h, --help                   Show this help',
      '',
    ].join('\n'));
  });

  it("matches each table entry's usage to its module's declared positionals", async () => {
    for (const c of COMMANDS) {
      const { spec } = await c.load();
      expect(usage(c.name, spec), c.name).toBe(c.usage);
    }
  });
});
