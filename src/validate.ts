/**
 * Step 2: the parsed document against the committed JSON Schema, reported the way a compiler
 * would: one diagnostic per problem, at the key or value at fault, in words rather than ajv's.
 *
 * A failed oneOf/anyOf makes ajv report every branch's complaints. Instead we pick the branch the
 * user meant — the layer kind named by the item's single key, the optimizer named by `name`, the
 * alternative whose type matches — and validate the value against that branch alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import { type Diagnostic, type Locate, type PathSegment, diagnosticAt, formatPath, sortDiagnostics } from './diagnostics.js';
import { LAYER_NAME_PATTERN, NAME_PATTERN, SCHEMA_FILE } from './schema.js';
import { requirePrecompiled } from './precompiled.js';
import { quickSchema } from './schema-quick.js';
import { closest } from './suggest.js';

type Schema = Record<string, unknown>;

export interface Validatable {
  file: string;
  doc: unknown;
  locate: Locate;
}

/** verbose: errors carry the failing schema and data, which the oneOf dispatch needs. */
export const AJV_OPTIONS: Options = { allErrors: true, strict: true, allowUnionTypes: true, useDefaults: false, verbose: true };

/**
 * The root validator that `npm run build` generates from the committed schema with ajv's
 * standalone code (dist/experiment-validator.cjs, see schema-compile.ts): compiling the schema
 * took most of a one-file `cnnc check`. Running from source (tests), it is compiled here instead.
 */
export const PRECOMPILED = new URL('./experiment-validator.cjs', import.meta.url);
/**
 * The same schema compiled only to answer "valid?" (no error objects, stops at the first fault,
 * layer and stage kinds looked up by key: see schema-quick.ts): for a valid file it is all of
 * validation, and it runs several times faster cold than the full validator. Validity does not
 * depend on these options or on that rewrite.
 */
export const PRECOMPILED_QUICK = new URL('./experiment-valid.cjs', import.meta.url);
export const QUICK_AJV_OPTIONS: Options = { ...AJV_OPTIONS, allErrors: false, verbose: false };

const require = createRequire(import.meta.url);
let ajv: Ajv | undefined;
let root: ValidateFunction | undefined;
let quick: ((data: unknown) => boolean) | undefined;
const branches = new Map<unknown, ValidateFunction>();

function compiler(): Ajv {
  if (ajv === undefined) {
    // Loaded on demand: a valid file checked against the precompiled validator never needs ajv.
    const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
    ajv = new AjvClass(AJV_OPTIONS);
  }
  return ajv;
}

function rootValidator(): ValidateFunction {
  if (root === undefined) {
    const file = PRECOMPILED.pathname;
    root = existsSync(file)
      ? ((requirePrecompiled(file) as { default: ValidateFunction }).default)
      : compiler().compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Schema);
  }
  return root;
}

function quickValidator(): (data: unknown) => boolean {
  if (quick === undefined) {
    const file = PRECOMPILED_QUICK.pathname;
    if (existsSync(file)) quick = (requirePrecompiled(file) as { default: ValidateFunction }).default;
    else {
      // From source (tests): compiled here from the same schema with the same options.
      const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
      quick = new AjvClass(QUICK_AJV_OPTIONS).compile(quickSchema(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))) as Schema);
    }
  }
  return quick;
}

function branchValidator(branch: Schema): ValidateFunction {
  let fn = branches.get(branch);
  if (fn === undefined) {
    fn = compiler().compile(branch);
    branches.set(branch, fn);
  }
  return fn;
}

export function validate(loaded: Validatable): Diagnostic[] {
  const { file, doc, locate } = loaded;
  const out: Diagnostic[] = [];
  const report = (path: PathSegment[], message: string, hint?: string, at: 'key' | 'value' = 'value') =>
    out.push(diagnosticAt(file, locate, path, 'error', message, hint, at));

  // Non-finite numbers (.nan, .inf) are numbers to YAML and invalid everywhere here; ajv would
  // call them a wrong type, which is confusing for `learningRate: .inf`.
  const nonFinite = new Set<string>();
  // The common case, a valid file, costs one allocation-free scan and the quick validator.
  const anyNonFinite = hasNonFinite(doc);
  const valid = quickValidator()(doc);
  if (valid && !anyNonFinite) return out;
  if (anyNonFinite) walk(doc, [], (value, path) => {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      nonFinite.add(formatPath(path));
      const shown = Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
      report(path, `${subject(path)} must be a finite number, got ${shown}`);
    }
  });

  if (!valid) {
    check(rootValidator(), doc, [], (path, message, hint, at) => {
      if (!nonFinite.has(formatPath(path))) report(path, message, hint, at);
    });
  }

  const seen = new Set<string>();
  return sortDiagnostics(out.filter((d) => {
    const key = `${d.line}:${d.column}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }));
}

type Report = (path: PathSegment[], message: string, hint?: string, at?: 'key' | 'value') => void;

function check(fn: ValidateFunction, data: unknown, base: PathSegment[], outer: Report): void {
  if (fn(data)) return;
  const errors = fn.errors ?? [];
  // Later steps assume a document that passed is schema-valid; one that failed must say so.
  let reported = false;
  const report: Report = (...args) => {
    reported = true;
    outer(...args);
  };
  // Failed alternatives by the instance path they stand at. Testing every error against every
  // alternative was quadratic: 60,000 misspelt layers (one oneOf each) took minutes.
  const alternatives = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    if (e.keyword !== 'oneOf' && e.keyword !== 'anyOf') continue;
    const here = alternatives.get(e.instancePath);
    if (here) here.push(e);
    else alternatives.set(e.instancePath, [e]);
  }
  // Errors inside a failed alternative's branches are noise: the chosen branch is re-validated.
  // The alternative stands at the error's instance path or one of its ancestors.
  const inside = (e: ErrorObject) => {
    for (let p = e.instancePath; ; p = p.slice(0, p.lastIndexOf('/'))) {
      if (alternatives.get(p)?.some((a) => e !== a && e.schemaPath.startsWith(`${a.schemaPath}/`))) return true;
      if (p === '') return false;
    }
  };
  // A misspelt required key is one problem, not two: 'filtres' explains the missing 'filters'.
  const misspelt = new Set(errors.filter((e) => e.keyword === 'additionalProperties').map((e) => {
    const allowed = Object.keys(((e.parentSchema as Schema | undefined)?.properties ?? {}) as Schema);
    return `${e.instancePath}/${closest(String(e.params.additionalProperty), allowed)}`;
  }));
  // All keys missing from one mapping make one sentence: "the experiment needs 'layers' and 'stages'".
  const missing = new Map<string, { path: PathSegment[]; keys: string[] }>();
  for (const e of errors) {
    if (inside(e)) continue;
    const path = [...base, ...toSegments(e.instancePath, data)];
    if (e.keyword === 'required') {
      const key = String(e.params.missingProperty);
      if (misspelt.has(`${e.instancePath}/${key}`)) continue;
      const entry = missing.get(e.instancePath) ?? { path, keys: [] };
      entry.keys.push(key);
      missing.set(e.instancePath, entry);
    } else if (e.keyword === 'oneOf' || e.keyword === 'anyOf') {
      dispatch(e, path, report);
    } else {
      describe(e, path, report);
    }
  }
  // Located at the missing key, which falls back to the key of the mapping that lacks it.
  for (const { path, keys } of missing.values()) {
    report([...path, keys[0]], `${container(path)} needs ${listWords(keys.map((k) => `'${k}'`))}`, undefined, 'key');
  }
  if (!reported) {
    // Unreachable as far as the corpus and the property tests know; a diagnostic beats a crash later.
    const first = errors[0];
    const path = first ? [...base, ...toSegments(first.instancePath, data)] : base;
    report(path, `${subject(path)} is not valid here`);
  }
}

function listWords(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** JSON pointer → path segments; array indices become numbers, as in the YAML walk. */
function toSegments(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      segments.push(Number(key));
      node = node[Number(key)];
    } else {
      segments.push(key);
      node = isObject(node) ? node[key] : undefined;
    }
  }
  return segments;
}

/** What a single-key item is called, by the list it stands in. */
const FAMILY: Record<string, { what: string; example: string }> = {
  layers: { what: 'layer kind', example: 'conv2d: {filters: 32, kernelSize: 3}' },
  stages: { what: 'stage', example: 'train: {epochs: 1, optimizer: {name: adam}}' },
};

function dispatch(e: ErrorObject, path: PathSegment[], report: Report): void {
  const branches = (e.schema as Schema[]).filter(isObject);
  const data = e.data;

  const singleKeys = branches.map(singleKey);
  if (singleKeys.every((k) => k !== undefined)) {
    const kinds = singleKeys as string[];
    const family = FAMILY[String(lastString(path))] ?? { what: 'kind', example: `${kinds[0]}: {}` };
    if (!isObject(data)) {
      const hint = typeof data === 'string' && kinds.includes(data) ? `write '${data}: {}'` : `e.g. '${family.example}'`;
      report(path, `${subject(path)} must be a single-key mapping naming the ${family.what}, got ${shown(data)}`, hint);
      return;
    }
    const keys = Object.keys(data);
    if (keys.length === 0) {
      report(path, `${subject(path)} is empty; it needs one key naming the ${family.what}`, `one of: ${kinds.join(', ')}`);
      return;
    }
    if (keys.length > 1) {
      const known = keys.filter((k) => kinds.includes(k));
      const extra = keys.find((k) => k !== known[0]) ?? keys[1];
      // Keys from the file are quoted short, and a few of them at most: a generated item can have thousands.
      const listed = (ks: string[], sep: string) => ks.slice(0, 5).map((k) => excerpt(k)).join(sep) + (ks.length > 5 ? `${sep}…` : '');
      const hint = known.length === 1 && data[known[0]] === null
        ? `indent the arguments under '${known[0]}:', or write '${known[0]}: {${listed(keys.filter((k) => k !== known[0]), ': …, ')}: …}'`
        : `each item has exactly one key, the ${family.what}; start another item with '- '`;
      report([...path, extra], `${subject(path)} has ${keys.length} keys (${listed(keys, ', ')}); expected one, the ${family.what}`, hint, 'key');
      return;
    }
    const i = kinds.indexOf(keys[0]);
    if (i < 0) {
      report([...path, keys[0]], `unknown ${family.what} '${excerpt(keys[0])}'`, suggest(keys[0], kinds, `known ${family.what}s`), 'key');
      return;
    }
    check(branchValidator(branches[i]), data, path, report);
    return;
  }

  const tag = constProperty(branches);
  if (tag !== undefined) {
    // Not a mapping: the enclosing type error says so.
    if (!isObject(data)) return;
    if (!(tag in data)) {
      // The enclosing `required` is dropped when a misspelt key explains it (see `misspelt`),
      // but that key's own error sits inside these branches and was never reported: so
      // `optimizer: {nmae: adam}` passed validation, and resolve threw. Say it here.
      const allowed = new Set(branches.flatMap((b) => Object.keys((b.properties ?? {}) as Schema)));
      const typo = Object.keys(data).find((k) => !allowed.has(k) && closest(k, [tag]) === tag);
      if (typo !== undefined) report([...path, typo], `unknown key '${excerpt(typo)}' in ${container(path)}`, `did you mean '${tag}'?`, 'key');
      // Worded as the `required` report is, so the two collapse into one when both are made.
      else report([...path, tag], `${container(path)} needs '${tag}'`, undefined, 'key');
      return;
    }
    const names = branches.map((b) => (b.properties as Schema)[tag] as Schema).map((p) => String(p.const));
    const i = names.indexOf(data[tag] as string);
    if (i < 0) {
      const value = data[tag];
      const what = String(lastString(path));
      const hint = typeof value === 'string' ? suggest(value, names, `known ${what}s`) : `one of: ${names.join(', ')}`;
      report([...path, tag], `unknown ${what} ${shown(value)}`, hint);
      return;
    }
    check(branchValidator(branches[i]), data, path, report);
    return;
  }

  // Alternatives that differ by type (an integer or a [height, width] pair): follow the type.
  const t = jsonType(data);
  const exact = branches.findIndex((b) => {
    const types = typesOf(b);
    return types.length === 0 || types.includes(t) || (t === 'integer' && types.includes('number'));
  });
  const loose = branches.findIndex((b) => t === 'number' && typesOf(b).includes('integer'));
  const i = exact >= 0 ? exact : loose;
  if (i >= 0) {
    check(branchValidator(branches[i]), data, path, report);
    return;
  }
  const wanted = [...new Set(branches.flatMap(typesOf))];
  report(path, `${subject(path)} must be ${typeWords(wanted)}, got ${shown(data)}`);
}

/** The kind key of a `{<kind>: {...}}` branch. */
function singleKey(b: Schema): string | undefined {
  const req = b.required as string[] | undefined;
  const props = b.properties as Schema | undefined;
  if (req?.length !== 1 || props === undefined || Object.keys(props).length !== 1 || b.additionalProperties !== false) return undefined;
  return req[0] in props ? req[0] : undefined;
}

/** A property that holds a `const` in every branch: `name` for optimizers. */
function constProperty(branches: Schema[]): string | undefined {
  const first = branches[0]?.properties as Schema | undefined;
  if (first === undefined) return undefined;
  return Object.keys(first).find((p) =>
    branches.every((b) => isObject(b.properties) && isObject(b.properties[p]) && 'const' in (b.properties[p] as Schema)));
}

function typesOf(b: Schema): string[] {
  const t = b.type;
  return Array.isArray(t) ? (t as string[]) : typeof t === 'string' ? [t] : [];
}

/** One ajv error → one human sentence at the node at fault. */
function describe(e: ErrorObject, path: PathSegment[], report: Report): void {
  const p = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as Schema;
  const who = subject(path);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys((parent.properties ?? {}) as Schema);
      const where = path.length === 0 ? 'at the top level' : `in ${container(path)}`;
      const hint = allowed.length === 0 ? `${container(path)} takes no arguments`
        : key === 'dataset' && path[0] === 'stages' ? 'the dataset is set once, in the top-level data'
          : suggest(key, allowed, 'allowed keys', path.length === 0 ? ', and x-… for anchors' : '');
      report([...path, key], `unknown key '${excerpt(key)}' ${where}`, hint, 'key');
      return;
    }
    case 'type': {
      const types = String(p.type).split(',');
      const takesNothing = !(parent.required as string[] | undefined)?.length;
      const hint = e.data === null && types.includes('object') && takesNothing ? `write '${lastString(path)}: {}' for no arguments` : undefined;
      report(path, `${who} must be ${typeWords(types)}, got ${shown(e.data)}`, hint);
      return;
    }
    case 'enum': {
      const values = (p.allowedValues as unknown[]).map(String);
      const hint = typeof e.data === 'string' ? closestHint(e.data, values) : undefined;
      report(path, `${who} must be ${values.length === 1 ? `'${values[0]}'` : `one of ${values.join(', ')}`}; got ${shown(e.data)}`, hint);
      return;
    }
    case 'const':
      report(path, `${who} must be ${shown(p.allowedValue)}, got ${shown(e.data)}`);
      return;
    case 'minimum':
      report(path, `${who} must be at least ${p.limit}, got ${shown(e.data)}`);
      return;
    case 'maximum':
      report(path, `${who} must be at most ${p.limit}, got ${shown(e.data)}`);
      return;
    case 'exclusiveMinimum':
      report(path, `${who} must be greater than ${p.limit}, got ${shown(e.data)}`);
      return;
    case 'exclusiveMaximum':
      report(path, `${who} must be less than ${p.limit}, got ${shown(e.data)}`);
      return;
    case 'minItems':
    case 'maxItems': {
      const n = Array.isArray(e.data) ? e.data.length : 0;
      const { minItems, maxItems } = parent as { minItems?: number; maxItems?: number };
      const need = minItems !== undefined && minItems === maxItems ? `exactly ${minItems}`
        : e.keyword === 'minItems' ? `at least ${p.limit}` : `at most ${p.limit}`;
      report(path, `${who} must have ${need} item${need.endsWith(' 1') ? '' : 's'}, got ${n}`);
      return;
    }
    case 'uniqueItems': {
      const later = Math.max(Number(p.i), Number(p.j));
      const items = e.data as unknown[];
      report([...path, later], `${who} lists ${shown(items[later])} twice`, 'each item may appear once');
      return;
    }
    case 'pattern': {
      const first = p.pattern === NAME_PATTERN ? 'a letter or digit' : p.pattern === LAYER_NAME_PATTERN ? 'a letter or _' : undefined;
      report(path, first
        ? `${who} ${shown(e.data)} may contain only letters, digits, '.', '_' and '-', and must start with ${first}`
        : `${who} ${shown(e.data)} must match ${p.pattern}`);
      return;
    }
    case 'maxLength':
      report(path, `${who} must be at most ${p.limit} characters, got ${String(e.data).length}`);
      return;
    case 'minLength':
      report(path, `${who} must be at least ${p.limit} characters long`);
      return;
    case 'minProperties':
      report(path, `${who} must not be empty`);
      return;
    default:
      // Keywords the schema does not use today; still never ajv's raw wording.
      report(path, `${who} is not valid here (${e.keyword})`);
  }
}

function closestHint(word: string, candidates: readonly string[]): string | undefined {
  const near = closest(word, candidates);
  return near === undefined ? undefined : `did you mean '${near}'?`;
}

/** "did you mean 'x'?" when a candidate is close, else what is allowed. */
export function suggest(word: string, candidates: readonly string[], listLabel: string, listTail = ''): string | undefined {
  const near = closest(word, candidates);
  if (near !== undefined) return `did you mean '${near}'?`;
  if (candidates.length === 0) return undefined;
  // Layer names can run to thousands; the hint names the first few.
  const listed = candidates.length > 20 ? `${candidates.slice(0, 20).join(', ')}, …` : candidates.join(', ');
  return `${listLabel}: ${listed}${listTail}`;
}

/** How a path is named in a sentence: its key, or `list[i]` for an item. */
function subject(path: readonly PathSegment[]): string {
  if (path.length === 0) return 'the experiment';
  const last = path[path.length - 1];
  // `limit.train`, not `train`, which would read as the train stage.
  if (typeof last === 'string') return path[path.length - 2] === 'limit' ? `limit.${last}` : last;
  const prev = path[path.length - 2];
  return typeof prev === 'string' ? `${prev}[${last}]` : formatPath(path);
}

/** The mapping a key belongs to, named for "unknown key 'x' in conv2d". */
function container(path: readonly PathSegment[]): string {
  return path.length === 0 ? 'the experiment' : subject(path);
}

function lastString(path: readonly PathSegment[]): string | undefined {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string') return path[i] as string;
  return undefined;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false',
  object: 'a mapping', array: 'a list', null: 'empty (null)',
};

function typeWords(types: readonly string[]): string {
  const words = types.map((t) => TYPE_WORDS[t] ?? t);
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/**
 * Characters a diagnostic must not carry raw: control characters (an ESC from the file would
 * drive the user's terminal), line and paragraph separators, bidirectional overrides that
 * reorder what is shown, byte order marks, and lone surrogates.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]/gu;

/** Text from the file made safe to print: the characters above as \xNN or \uNNNN escapes. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A key, name or value from the file as quoted in a message: printable and at most 40 characters. */
export function excerpt(text: string, max = 40): string {
  if (text.length <= max) return printable(text);
  // Not between the halves of a surrogate pair.
  const cut = /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${printable(text.slice(0, cut))}…`;
}

/** A value as it would read in the YAML, kept short. */
function shown(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value';
  if (typeof v === 'string') return `'${excerpt(v)}'`;
  if (Array.isArray(v)) return 'a list';
  // `!!binary` gives a Uint8Array, which is no mapping whatever typeof says.
  if (ArrayBuffer.isView(v)) return 'binary data';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (Array.isArray(v)) return v.some(hasNonFinite);
  if (isObject(v)) for (const k in v) if (hasNonFinite(v[k])) return true;
  return false;
}

function walk(v: unknown, path: PathSegment[], visit: (v: unknown, path: PathSegment[]) => void): void {
  visit(v, path);
  if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...path, i], visit));
  else if (isObject(v)) for (const [k, item] of Object.entries(v)) walk(item, [...path, k], visit);
}
