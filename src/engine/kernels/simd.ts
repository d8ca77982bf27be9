/**
 * A tiny WebAssembly SIMD kernel that runs directly on the tfjs wasm heap.
 *
 * Some gradients are branchy per element (max-pool routing: which of four
 * values is the first maximum), which costs a mispredicted branch per element
 * in JS and in the stock (scalar) wasm kernels. WebAssembly SIMD does it with
 * lane masks and no branches. tfjs ships no such kernel and cnnc does not
 * build C++, so the module is assembled here from a few opcodes; it imports
 * the backend's own WebAssembly.Memory, so it reads and writes tensors in
 * place (and sees the heap grow).
 *
 * If the engine cannot be reached or the module does not validate, callers
 * get null and use their JS path.
 */

// --- a minimal module writer ---------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function bytesOf(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

const I32 = 0x7f;
const V128 = 0x7b;

/** Instruction helpers (each returns its encoding). */
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  geU: [0x4f],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  end: [0x0b],
  f32: (v: number) => {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return [0x43, ...b];
  },
  // SIMD (prefix 0xfd); memarg = (align log2, offset)
  load: [0xfd, ...uleb(0x00), 2, 0],
  store: [0xfd, ...uleb(0x0b), 2, 0],
  splatF32: [0xfd, ...uleb(0x13)],
  gtF32: [0xfd, ...uleb(0x44)],
  and: [0xfd, ...uleb(0x4e)],
  andnot: [0xfd, ...uleb(0x4f)],
  or: [0xfd, ...uleb(0x50)],
  bitselect: [0xfd, ...uleb(0x52)],
};

function moduleBytes(name: string, params: number, locals: Array<[number, number]>, body: number[][]): Uint8Array<ArrayBuffer> {
  const type = vec([[0x60, ...uleb(params), ...new Array<number>(params).fill(I32), 0]]);
  const imports = vec([[...bytesOf('env'), ...bytesOf('memory'), 0x02, 0x00, 0x01]]);
  const funcs = vec([uleb(0)]);
  const exports = vec([[...bytesOf(name), 0x00, 0x00]]);
  const code = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...body.flat(), ...op.end];
  const codeSection = vec([[...uleb(code.length), ...code]]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, type),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, codeSection),
  ]);
}

// --- max-pool 2x2 / stride 2 gradient ------------------------------------

/**
 * maxPool2x2Grad(x, dy, dx, rows, cols, cBytes, xRowBytes, dyRowBytes)
 *
 * Byte addresses on the heap. For window row r < rows and column o < cols,
 * the window's top-left element is at x + 2r·xRowBytes + 2o·cBytes and its dy
 * at dy + r·dyRowBytes + o·cBytes; channels are processed 4 at a time
 * (cBytes must be a multiple of 16). Writes all four dx positions of every
 * window: dy at the first maximum in row-major order (strictly greater,
 * starting from -Infinity, so NaN never wins), +0 elsewhere.
 */
function maxPool2x2GradModule(): Uint8Array<ArrayBuffer> {
  // params
  const X = 0, DY = 1, DX = 2, ROWS = 3, COLS = 4, CB = 5, XRB = 6, DYRB = 7;
  // i32 locals
  const R = 8, O = 9, K = 10, XW = 11, PDY = 12, A0 = 13, DELTA = 14, XROW = 15, DYROW = 16;
  // v128 locals
  const NEG = 17, M = 18, G0 = 19, G1 = 20, G2 = 21, G3 = 22, G = 23, N = 24;
  const load = (addr: number[]) => [...addr, ...op.load];
  const a0plus = (...extra: number[]) => [...op.get(A0), ...extra.flatMap((e) => [...op.get(e), ...op.add])];
  const body: number[][] = [
    // delta = dx - x; neg = splat(-inf); r = 0
    [...op.get(DX), ...op.get(X), ...op.sub, ...op.set(DELTA)],
    [...op.f32(-Infinity), ...op.splatF32, ...op.set(NEG)],
    [...op.i32(0), ...op.set(R)],
    [...op.block, ...op.loop],
    /**/ [...op.get(R), ...op.get(ROWS), ...op.geU, ...op.brIf(1)],
    /**/ [...op.get(X), ...op.get(R), ...op.get(XRB), ...op.mul, ...op.i32(2), ...op.mul, ...op.add, ...op.set(XROW)],
    /**/ [...op.get(DY), ...op.get(R), ...op.get(DYRB), ...op.mul, ...op.add, ...op.set(DYROW)],
    /**/ [...op.i32(0), ...op.set(O)],
    /**/ [...op.block, ...op.loop],
    /*    */ [...op.get(O), ...op.get(COLS), ...op.geU, ...op.brIf(1)],
    /*    */ [...op.get(XROW), ...op.get(O), ...op.get(CB), ...op.mul, ...op.i32(2), ...op.mul, ...op.add, ...op.set(XW)],
    /*    */ [...op.get(DYROW), ...op.get(O), ...op.get(CB), ...op.mul, ...op.add, ...op.set(PDY)],
    /*    */ [...op.i32(0), ...op.set(K)],
    /*    */ [...op.block, ...op.loop],
    /*       */ [...op.get(K), ...op.get(CB), ...op.geU, ...op.brIf(1)],
    /*       */ [...op.get(XW), ...op.get(K), ...op.add, ...op.set(A0)],
    // g0 = v0 > -inf; m = g0 ? v0 : -inf
    /*       */ [...load(a0plus()), ...op.get(NEG), ...op.gtF32, ...op.set(G0)],
    /*       */ [...load(a0plus()), ...op.get(NEG), ...op.get(G0), ...op.bitselect, ...op.set(M)],
    // g1 = v1 > m; m = g1 ? v1 : m
    /*       */ [...load(a0plus(CB)), ...op.get(M), ...op.gtF32, ...op.set(G1)],
    /*       */ [...load(a0plus(CB)), ...op.get(M), ...op.get(G1), ...op.bitselect, ...op.set(M)],
    // g2 = v2 > m; m = g2 ? v2 : m
    /*       */ [...load(a0plus(XRB)), ...op.get(M), ...op.gtF32, ...op.set(G2)],
    /*       */ [...load(a0plus(XRB)), ...op.get(M), ...op.get(G2), ...op.bitselect, ...op.set(M)],
    // g3 = v3 > m
    /*       */ [...load(a0plus(XRB, CB)), ...op.get(M), ...op.gtF32, ...op.set(G3)],
    /*       */ [...load([...op.get(PDY), ...op.get(K), ...op.add]), ...op.set(G)],
    // dx3 = g & g3
    /*       */ [...a0plus(DELTA, XRB, CB), ...op.get(G), ...op.get(G3), ...op.and, ...op.store],
    // dx2 = g & g2 & ~g3; n = g2 | g3
    /*       */ [...a0plus(DELTA, XRB), ...op.get(G), ...op.get(G2), ...op.get(G3), ...op.andnot, ...op.and, ...op.store],
    /*       */ [...op.get(G2), ...op.get(G3), ...op.or, ...op.set(N)],
    // dx1 = g & g1 & ~n; n |= g1
    /*       */ [...a0plus(DELTA, CB), ...op.get(G), ...op.get(G1), ...op.get(N), ...op.andnot, ...op.and, ...op.store],
    /*       */ [...op.get(G1), ...op.get(N), ...op.or, ...op.set(N)],
    // dx0 = g & g0 & ~n
    /*       */ [...a0plus(DELTA), ...op.get(G), ...op.get(G0), ...op.get(N), ...op.andnot, ...op.and, ...op.store],
    /*       */ [...op.get(K), ...op.i32(16), ...op.add, ...op.set(K), ...op.br(0)],
    /*    */ [...op.end, ...op.end],
    /*    */ [...op.get(O), ...op.i32(1), ...op.add, ...op.set(O), ...op.br(0)],
    /**/ [...op.end, ...op.end],
    /**/ [...op.get(R), ...op.i32(1), ...op.add, ...op.set(R), ...op.br(0)],
    [...op.end, ...op.end],
  ];
  return moduleBytes('maxPool2x2Grad', 8, [[9, I32], [8, V128]], body);
}

export type MaxPool2x2GradFn = (
  x: number,
  dy: number,
  dx: number,
  rows: number,
  cols: number,
  cBytes: number,
  xRowBytes: number,
  dyRowBytes: number,
) => void;

const instances = new WeakMap<WebAssembly.Memory, MaxPool2x2GradFn | null>();
let compiled: WebAssembly.Module | null | undefined;

/** The backend's WebAssembly.Memory, if the wasm backend exposes it. */
export function wasmMemoryOf(backend: unknown): WebAssembly.Memory | null {
  const module = (backend as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } }).wasm;
  const memory = module?.asm?.memory ?? module?.wasmMemory;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/** The SIMD max-pool 2x2 gradient bound to `memory`, or null if unavailable. */
export function maxPool2x2GradFor(memory: WebAssembly.Memory | null): MaxPool2x2GradFn | null {
  if (memory == null) return null;
  if (instances.has(memory)) return instances.get(memory) ?? null;
  let fn: MaxPool2x2GradFn | null = null;
  try {
    if (compiled === undefined) {
      const bytes = maxPool2x2GradModule();
      compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    }
    if (compiled != null) {
      const instance = new WebAssembly.Instance(compiled, { env: { memory } });
      fn = instance.exports.maxPool2x2Grad as MaxPool2x2GradFn;
    }
  } catch {
    fn = null;
  }
  instances.set(memory, fn);
  return fn;
}
