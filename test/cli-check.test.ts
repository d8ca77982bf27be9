/**
 * `cnnc check` end to end, through the compiled CLI (npm test builds dist/ first).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'cnnc.js');
const dir = mkdtempSync(join(tmpdir(), 'cnnc-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cnnc(args: string[], nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, bin, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const GOOD = `name: tiny
input: [28, 28, 1]
layers:
  - conv2d: {filters: 4, kernelSize: 3, activation: relu}
  - maxPooling2d: {poolSize: 2}
  - flatten: {}
  - dense: {units: 10, activation: softmax}
shapeFlow: [28, 26, 13]
stages:
  - train: {optimizer: {name: adam}}
  - evaluate: {}
`;

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` first');
  writeFileSync(join(dir, 'good.yaml'), GOOD);
  writeFileSync(join(dir, 'typo.yaml'), 'name: typo\ninput: [28, 28, 1]\nlayers:\n  - conv2d: {filtres: 32, kernelSize: 3}\nstages: [evaluate: {}]\n');
  writeFileSync(join(dir, 'broken.yaml'), 'name: a\nname: b\n');
  writeFileSync(join(dir, 'warn.yaml'), GOOD.replace('  - evaluate: {}\n', '  - finetune: {freeze: "3:1", optimizer: {name: sgd}}\n'));
  writeFileSync(join(dir, 'shape.yaml'), GOOD.replace('shapeFlow: [28, 26, 13]', 'shapeFlow: [28, 28, 14]'));
  mkdirSync(join(dir, 'folder'));
  copyFileSync(join(root, 'configs', 'mnist.yaml'), join(dir, 'mnist.yaml'));
});

describe('cnnc check', () => {
  it('prints the summary of a valid file and exits 0', () => {
    const r = cnnc(['check', 'good.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Model: "tiny"\n/);
    expect(r.stdout).toContain('Total params: 6,810');
    expect(r.stdout).toContain('Spatial flow: 28 → 26 → 13');
  });

  it('prints compiler-style diagnostics to stderr and exits 1', () => {
    const r = cnnc(['check', 'typo.yaml', 'broken.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      "typo.yaml:4:14: error: unknown key 'filtres' in conv2d — did you mean 'filters'?\n" +
        'broken.yaml:2:1: error: duplicate key: a mapping may not repeat a key\n',
    );
  });

  it('reports shape errors from inference with the partial summary', () => {
    const r = cnnc(['check', 'shape.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("shape.yaml:8:1: error: shapeFlow says 28 → 28 → 14 but the layers give 28 → 26 → 13 — shapeFlow lists the input height, then the height after each conv2d and pooling layer\n");
    expect(r.stdout).toContain('Model: "tiny"');
  });

  it('allows warnings (exit 0), and --quiet drops the summary', () => {
    const r = cnnc(['check', '--quiet', 'warn.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("warn.yaml:11:24: warning: freeze '3:1' selects no layers; finetune will train every layer\n");
  });

  it('treats a missing file or a directory as a usage error (exit 2), still checking the rest', () => {
    const r = cnnc(['check', '-q', 'nope.yaml', 'folder', 'good.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('nope.yaml: error: no such file\nfolder: error: is a directory, not an experiment file\n');
  });

  it('writes one JSON report', () => {
    const r = cnnc(['check', '--json', 'good.yaml', 'typo.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout);
    expect(report).toEqual({
      files: [
        {
          file: 'good.yaml',
          ok: true,
          diagnostics: [],
          layers: [
            { index: 0, name: 'conv2d_1', type: 'conv2d', outputShape: [26, 26, 4], params: 40, trainableParams: 40, flops: expect.any(Number) },
            { index: 1, name: 'max_pooling2d_1', type: 'maxPooling2d', outputShape: [13, 13, 4], params: 0, trainableParams: 0, flops: expect.any(Number) },
            { index: 2, name: 'flatten_1', type: 'flatten', outputShape: [676], params: 0, trainableParams: 0, flops: 0 },
            { index: 3, name: 'dense_1', type: 'dense', outputShape: [10], params: 6770, trainableParams: 6770, flops: expect.any(Number) },
          ],
          totalParams: 6810,
          shapeFlow: [28, 26, 13],
        },
        {
          file: 'typo.yaml',
          ok: false,
          diagnostics: [{
            severity: 'error', line: 4, column: 14, path: 'layers[0].conv2d.filtres',
            message: "unknown key 'filtres' in conv2d", hint: "did you mean 'filters'?",
          }],
          layers: [],
          totalParams: null,
          shapeFlow: null,
        },
      ],
    });
  });

  it('reports usage errors in one line with exit 2', () => {
    const wrong = [
      ['check', 'good.yaml', '--jsno'], ['frobnicate'], ['chek', 'good.yaml'], [], ['check'], ['--bogus'],
      ['check', '--json=yes', 'good.yaml'], ['check', '-x', 'good.yaml'],
    ];
    for (const args of wrong) {
      const r = cnnc(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^cnnc: [^\n]+ \(see 'cnnc --help'\)\n$/);
    }
    expect(cnnc(['check', 'good.yaml', '--jsno']).stderr).toBe("cnnc: unknown option --jsno; did you mean --json? (see 'cnnc --help')\n");
    expect(cnnc(['chek', 'good.yaml']).stderr).toBe("cnnc: unknown command 'chek'; did you mean check? (see 'cnnc --help')\n");
  });

  it('takes a file that looks like an option after --', () => {
    writeFileSync(join(dir, '-dash.yaml'), GOOD);
    const r = cnnc(['check', '-q', '--', '-dash.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('answers --help and --version with exit 0', () => {
    const help = cnnc(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('cnnc check <files...>');
    const checkHelp = cnnc(['check', '-h']);
    expect(checkHelp.code).toBe(0);
    expect(checkHelp.stdout).toContain('--json');
    expect(checkHelp.stdout).toMatch(/^ {2}-q, --quiet +Print diagnostics only/m);
    // Help answers even a command line that is otherwise wrong.
    expect(cnnc(['check', '--jsno', '--help']).code).toBe(0);
    const version = cnnc(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('never loads TensorFlow.js', () => {
    writeFileSync(join(dir, 'no-tf-hooks.mjs'), [
      'export async function resolve(specifier, context, next) {',
      "  if (specifier.startsWith('@tensorflow')) throw new Error(`check loaded ${specifier}`);",
      '  return next(specifier, context);',
      '}',
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'no-tf.mjs'), "import { register } from 'node:module';\nregister('./no-tf-hooks.mjs', import.meta.url);\n");
    const noTf = ['--import', join(dir, 'no-tf.mjs')];

    // The hook works: importing tfjs under it fails.
    const control = spawnSync(process.execPath, [...noTf, '--input-type=module', '-e', "await import('@tensorflow/tfjs-core')"], { cwd: root, encoding: 'utf8' });
    expect(control.status).not.toBe(0);
    expect(control.stderr).toContain('check loaded @tensorflow/tfjs-core');

    const r = cnnc(['check', 'mnist.yaml', 'good.yaml', '--json'], noTf);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).files.map((f: { totalParams: number }) => f.totalParams)).toEqual([421642, 6810]);
  });
});

describe('main', () => {
  /** Runs main in-process with checkFile replaced by `fake`; returns the exit code and stderr. */
  async function withCheckFile(fake: (fresh: typeof import('../src/diagnostics.js')) => never) {
    vi.resetModules();
    // The module instances main will see, so `instanceof` holds.
    const fresh = await import('../src/diagnostics.js');
    vi.doMock('../src/check.js', () => ({ checkFile: () => fake(fresh) }));
    const { main } = await import('../src/cli/main.js');
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { written.push(String(s)); return true; });
    try {
      return { code: await main(['check', 'x.yaml']), stderr: written.join('') };
    } finally {
      spy.mockRestore();
      vi.doUnmock('../src/check.js');
    }
  }

  it('turns an unexpected exception into exit 70 without a stack trace, writing the trace to a file', async () => {
    const r = await withCheckFile(() => { throw new Error('boom'); });
    expect(r.code).toBe(70);
    const m = /^cnnc: internal error: boom\ncnnc: the full trace is in (\S+) — please report it\n$/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(readFileSync(m![1], 'utf8')).toMatch(/Error: boom\n\s+at /);
  });

  it('prints a DiagnosticError as diagnostics with exit 1', async () => {
    const d = { file: 'x.yaml', line: 3, column: 5, path: 'layers[0]', severity: 'error' as const, message: 'bad layer' };
    expect(await withCheckFile(({ DiagnosticError }) => { throw new DiagnosticError([d]); })).toEqual({
      code: 1, stderr: 'x.yaml:3:5: error: bad layer\n',
    });
  });
});
