import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { appendLine, tempNameFor, writeFileAtomic, writeJsonAtomic } from '../../src/record/atomic.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnc-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('writes, replaces, and leaves no temp files', () => {
    const p = join(dir, 'a.json');
    writeFileAtomic(p, 'one');
    writeFileAtomic(p, Buffer.from('two'));
    writeJsonAtomic(p, { x: [1, 2] });
    expect(JSON.parse(readFileSync(p, 'utf8'))).toEqual({ x: [1, 2] });
    expect(readFileSync(p, 'utf8').endsWith('\n')).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('temp names are hidden, in the same directory, and unique', () => {
    const p = join(dir, 'b.txt');
    const t = tempNameFor(p);
    expect(t.startsWith(join(dir, `.b.txt.${process.pid}.`))).toBe(true);
    expect(t.endsWith('.tmp')).toBe(true);
    expect(tempNameFor(p)).not.toBe(t);
  });

  it('a failed rename removes the temp file and keeps the old target', () => {
    const sub = mkdtempSync(join(dir, 'fail-'));
    const target = join(sub, 'target');
    // renaming a file onto a (non-empty) directory fails
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'x');
    expect(() => writeFileAtomic(target, 'data')).toThrow();
    expect(statSync(target).isDirectory()).toBe(true);
    expect(readdirSync(sub).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a process killed mid-way never leaves a partial target', async () => {
    // Compile atomic.ts to plain JS (it imports only node:*), then let a child rewrite a 4 MiB
    // file over and over, each version a single repeated byte, and SIGKILL it at varying times.
    // (A plain writeFileSync loop fails this check in roughly half the rounds.)
    const src = readFileSync(resolve('src/record/atomic.ts'), 'utf8');
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const work = mkdtempSync(join(dir, 'crash-'));
    writeFileSync(join(work, 'atomic.mjs'), js);
    writeFileSync(
      join(work, 'child.mjs'),
      `import { writeFileAtomic } from './atomic.mjs';
       const size = 4 << 20;
       process.stdout.write('ready\\n');
       for (let i = 1; ; i++) writeFileAtomic(process.argv[2], Buffer.alloc(size, i % 251));`,
    );
    const target = join(work, 'big.bin');
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, [join(work, 'child.mjs'), target], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((ok) => child.stdout!.once('data', () => ok()));
      await new Promise((r) => setTimeout(r, 30 + round * 23));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      let buf: Buffer | null = null;
      try {
        buf = readFileSync(target);
      } catch {
        // killed before the first rename: absent is fine
      }
      if (buf) {
        expect(buf.length).toBe(4 << 20);
        expect(buf.every((b) => b === buf![0])).toBe(true);
      }
    }
  });
});

describe('appendLine', () => {
  it('appends whole lines, creating the file', () => {
    const p = join(dir, 'm.jsonl');
    appendLine(p, '{"a":1}');
    appendLine(p, '{"a":2}', { fsync: true });
    expect(readFileSync(p, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
  });
});
