/**
 * Command-line arguments over node:util's parseArgs, which is built into Node and so costs
 * nothing to import; an argument library cost ~60 ms of every `cnnc check`, as much as Node's
 * own start. Commands declare their positionals and options as data; this module turns argv into
 * the record their handlers read, and renders help from the same declarations.
 */
import { parseArgs } from 'node:util';
import { closest } from '../suggest.js';

export interface Option {
  type: 'boolean' | 'string' | 'number';
  describe: string;
  /** One letter, used as `-q`. */
  short?: string;
  /** A second long name for the same option. */
  alias?: string;
  default?: boolean | string | number;
  choices?: readonly string[];
  /** What help calls the value: `--workers <n>`. */
  arg?: string;
}

export interface Positional {
  name: string;
  describe: string;
  required?: boolean;
  /** Takes every remaining word. */
  variadic?: boolean;
}

export interface ArgSpec {
  positionals?: readonly Positional[];
  options: Readonly<Record<string, Option>>;
}

export type Args = Record<string, unknown>;
export type Parsed = { help: true } | { version: true } | { args: Args };

/** The user typed something cnnc cannot take: exit 2, one line. */
export class UsageError extends Error {}

/** Understood by every command, so `cnnc check --help` and `cnnc --help check` both work. */
const BUILTIN: Record<string, Option> = {
  help: { type: 'boolean', short: 'h', describe: 'Show this help' },
  version: { type: 'boolean', describe: 'Show the version number' },
};

export function parse(spec: ArgSpec, argv: readonly string[]): Parsed {
  const declared: Record<string, Option> = { ...spec.options, ...BUILTIN };
  const canonical = new Map<string, string>();
  const config: Record<string, { type: 'boolean' | 'string'; short?: string }> = {};
  for (const [name, o] of Object.entries(declared)) {
    const type = o.type === 'boolean' ? 'boolean' : 'string';
    config[name] = o.short ? { type, short: o.short } : { type };
    canonical.set(name, name);
    if (o.alias) {
      config[o.alias] = { type };
      canonical.set(o.alias, name);
    }
  }
  // Not strict: strict mode's errors name neither the option in a usable form nor its near miss,
  // so the checks it would make are made below, token by token, with cnnc's wording.
  const { tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  // Help and the version answer even a command line that is otherwise wrong.
  const given = (name: string) => tokens.some((t) => t.kind === 'option' && t.name === name);
  if (given('help')) return { help: true };
  if (given('version')) return { version: true };

  const args: Args = {};
  for (const [name, o] of Object.entries(spec.options)) if (o.default !== undefined) args[name] = o.default;
  const words: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') words.push(t.value);
    if (t.kind !== 'option') continue;
    const name = canonical.get(t.name);
    if (name === undefined) throw unknownOption(t.rawName, [...canonical.keys()]);
    args[name] = value(t.rawName, declared[name], t.value, t.inlineValue);
  }
  positionals(spec.positionals ?? [], words, args);
  return { args };
}

function unknownOption(raw: string, names: readonly string[]): UsageError {
  const near = raw.startsWith('--') ? closest(raw.slice(2), names) : undefined;
  return new UsageError(`unknown option ${raw}${near ? `; did you mean --${near}?` : ''}`);
}

function value(raw: string, o: Option, v: string | undefined, inline: boolean | undefined): unknown {
  if (o.type === 'boolean') {
    if (v !== undefined) throw new UsageError(`${raw} is a flag and takes no value: drop '=${v}'`);
    return true;
  }
  // Non-strict parseArgs hands a string option the next word even when that is another option.
  if (v === undefined || (!inline && v.startsWith('-'))) {
    throw new UsageError(`${raw} needs a value${v === undefined ? '' : `; for one starting with '-', write ${raw}=<value>`}`);
  }
  if (o.type === 'number') {
    const n = Number(v);
    // Number('') and Number(' ') are 0, which nobody meant.
    if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${raw} needs a number, got '${v}'`);
    return n;
  }
  if (o.choices && !o.choices.includes(v)) throw new UsageError(`${raw} must be one of ${o.choices.join(', ')}, got '${v}'`);
  return v;
}

function positionals(specs: readonly Positional[], words: readonly string[], args: Args): void {
  const rest = [...words];
  for (const p of specs) {
    const v = p.variadic ? rest.splice(0) : rest.shift();
    if (p.required && (v === undefined || (Array.isArray(v) && v.length === 0))) throw new UsageError(`missing ${placeholder(p)}: ${lowerFirst(p.describe)}`);
    args[p.name] = v;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
}

// ---- help ----

const WIDTH = 80;

function placeholder(p: Positional): string {
  const name = `${p.name}${p.variadic ? '...' : ''}`;
  return p.required ? `<${name}>` : `[${name}]`;
}

/** `check <files...>`: how a command is typed. */
export function usage(command: string, spec: ArgSpec): string {
  return [command, ...(spec.positionals ?? []).map(placeholder)].join(' ');
}

export function globalHelp(commands: readonly { usage: string; describe: string }[]): string {
  return [
    'Usage: cnnc <command> [options]',
    '',
    'Commands:',
    table(commands.map((c) => [`cnnc ${c.usage}`, c.describe])),
    '',
    'Options:',
    table([
      ['-h, --help', "Show this help, or a command's: cnnc <command> --help"],
      ['    --version', BUILTIN.version.describe],
    ]),
    '',
  ].join('\n');
}

export function commandHelp(command: string, describe: string, spec: ArgSpec): string {
  const ps = spec.positionals ?? [];
  const options = Object.entries({ ...spec.options, help: BUILTIN.help });
  return [
    `Usage: cnnc ${usage(command, spec)}${options.length > 1 ? ' [options]' : ''}`,
    '',
    ...wrap(describe, WIDTH),
    ...(ps.length > 0 ? ['', 'Arguments:', table(ps.map((p) => [placeholder(p), p.describe]))] : []),
    '',
    'Options:',
    table(options.map(([name, o]) => [optionLabel(name, o), optionText(o)])),
    '',
  ].join('\n');
}

function optionLabel(name: string, o: Option): string {
  const longs = [name, ...(o.alias ? [o.alias] : [])].map((n) => `--${n}`).join(', ');
  const arg = o.type === 'boolean' ? '' : ` <${o.arg ?? 'value'}>`;
  return `${o.short ? `-${o.short}, ` : '    '}${longs}${arg}`;
}

function optionText(o: Option): string {
  // Square brackets keep these apart from a description's own parentheses.
  const choices = o.choices ? ` [one of: ${o.choices.join(', ')}]` : '';
  // A flag is off unless given; saying so is noise.
  const fallback = o.default !== undefined && o.default !== false ? ` [default: ${o.default}]` : '';
  return `${o.describe}${choices}${fallback}`;
}

/** Two columns, the second wrapped to 80 columns with a hanging indent. */
function table(rows: readonly [string, string][]): string {
  const left = Math.max(...rows.map(([l]) => l.length)) + 2;
  const room = Math.max(24, WIDTH - 2 - left);
  return rows.map(([l, r]) => `  ${l.padEnd(left)}${wrap(r, room).join(`\n${' '.repeat(2 + left)}`)}`).join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  // A [bracketed] note stays on one line.
  for (const word of text.split(/ (?![^[]*\])/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
