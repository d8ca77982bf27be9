/**
 * Small WebAssembly SIMD kernels that run directly on the tfjs wasm heap.
 *
 * Some gradients are branchy per element (max-pool routing: which of four
 * values is the first maximum), which costs a mispredicted branch per element
 * in JS and in the stock (scalar) wasm kernels. WebAssembly SIMD does it with
 * lane masks and no branches. tfjs ships no such kernel and cnnc does not
 * build C++, so the modules are assembled here from a few opcodes; they import
 * the backend's own WebAssembly.Memory, so they read and write tensors in
 * place (and see the heap grow). Also here: the single-input-channel
 * convolution and its filter gradient (a first layer), element-wise
 * Multiply/Add/Relu/Step, and Adam on the host in float64 lanes (own memory).
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

// --- filter gradient of a single-input-channel convolution ---------------

/** Extra SIMD opcodes with a static byte offset in their memarg. */
const at = {
  load: (offset: number) => [0xfd, ...uleb(0x00), 2, ...uleb(offset)],
  store: (offset: number) => [0xfd, ...uleb(0x0b), 2, ...uleb(offset)],
  load32Splat: (offset: number) => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  addF32: [0xfd, ...uleb(0xe4)],
  mulF32: [0xfd, ...uleb(0xe6)],
};

/**
 * filterGrad1(xp, dy, dw, batch, oh, ow, coutBytes, imageBytes, rowBytes), specialised to a
 * kh×kw window over rows of `padded width` floats.
 *
 * xp is the input zero-padded to [batch, oh + kh - 1, padded width] (one channel), so output
 * pixel (y, x) reads tap (a, c) at xp[b, y + a, x + c] with no bounds checks; dy is
 * [batch, oh, ow, cout] and dw [kh·kw, cout] (accumulated into: zero it first). For every
 * output row and every 4 output channels the kh·kw accumulators live in registers across the
 * row: dw[t, co..co+3] += xp[tap t of pixel] · dy[pixel, co..co+3]. The summation order is
 * fixed, so the result is reproducible.
 */
function filterGrad1Module(kh: number, kw: number, paddedWidth: number): Uint8Array<ArrayBuffer> {
  const XP = 0, DY = 1, DW = 2, B = 3, OH = 4, OW = 5, COB = 6, IMGB = 7, ROWB = 8;
  const BI = 9, Y = 10, K = 11, XX = 12, XROW = 13, DYROW = 14, P = 15, Q = 16, DWK = 17;
  const taps = kh * kw;
  const D = 18;
  const ACC = 19; // ACC .. ACC + taps - 1
  const tapOffset = (t: number) => (Math.floor(t / kw) * paddedWidth + (t % kw)) * 4;
  const body: number[][] = [
    [...op.get(DY), ...op.set(DYROW)],
    [...op.i32(0), ...op.set(BI)],
    [...op.block, ...op.loop],
    /**/ [...op.get(BI), ...op.get(B), ...op.geU, ...op.brIf(1)],
    /**/ [...op.get(XP), ...op.get(BI), ...op.get(IMGB), ...op.mul, ...op.add, ...op.set(XROW)],
    /**/ [...op.i32(0), ...op.set(Y)],
    /**/ [...op.block, ...op.loop],
    /*  */ [...op.get(Y), ...op.get(OH), ...op.geU, ...op.brIf(1)],
    /*  */ [...op.i32(0), ...op.set(K)],
    /*  */ [...op.block, ...op.loop],
    /*    */ [...op.get(K), ...op.get(COB), ...op.geU, ...op.brIf(1)],
    /*    */ [...op.get(DW), ...op.get(K), ...op.add, ...op.set(DWK)],
    // load the accumulators dw[t, k..k+3]
    ...Array.from({ length: taps }, (_, t) => [...op.get(DWK), ...op.get(COB), ...op.i32(t), ...op.mul, ...op.add, ...at.load(0), ...op.set(ACC + t)]),
    /*    */ [...op.get(XROW), ...op.set(P)],
    /*    */ [...op.get(DYROW), ...op.get(K), ...op.add, ...op.set(Q)],
    /*    */ [...op.i32(0), ...op.set(XX)],
    /*    */ [...op.block, ...op.loop],
    /*      */ [...op.get(XX), ...op.get(OW), ...op.geU, ...op.brIf(1)],
    /*      */ [...op.get(Q), ...at.load(0), ...op.set(D)],
    ...Array.from({ length: taps }, (_, t) => [...op.get(ACC + t), ...op.get(P), ...at.load32Splat(tapOffset(t)), ...op.get(D), ...at.mulF32, ...at.addF32, ...op.set(ACC + t)]),
    /*      */ [...op.get(P), ...op.i32(4), ...op.add, ...op.set(P)],
    /*      */ [...op.get(Q), ...op.get(COB), ...op.add, ...op.set(Q)],
    /*      */ [...op.get(XX), ...op.i32(1), ...op.add, ...op.set(XX), ...op.br(0)],
    /*    */ [...op.end, ...op.end],
    ...Array.from({ length: taps }, (_, t) => [...op.get(DWK), ...op.get(COB), ...op.i32(t), ...op.mul, ...op.add, ...op.get(ACC + t), ...at.store(0)]),
    /*    */ [...op.get(K), ...op.i32(16), ...op.add, ...op.set(K), ...op.br(0)],
    /*  */ [...op.end, ...op.end],
    /*  */ [...op.get(DYROW), ...op.get(OW), ...op.get(COB), ...op.mul, ...op.add, ...op.set(DYROW)],
    /*  */ [...op.get(XROW), ...op.get(ROWB), ...op.add, ...op.set(XROW)],
    /*  */ [...op.get(Y), ...op.i32(1), ...op.add, ...op.set(Y), ...op.br(0)],
    /**/ [...op.end, ...op.end],
    /**/ [...op.get(BI), ...op.i32(1), ...op.add, ...op.set(BI), ...op.br(0)],
    [...op.end, ...op.end],
  ];
  return moduleBytes('filterGrad1', 9, [[9, I32], [1 + taps, V128]], body);
}

export type FilterGrad1Fn = (
  xp: number,
  dy: number,
  dw: number,
  batch: number,
  oh: number,
  ow: number,
  coutBytes: number,
  imageBytes: number,
  rowBytes: number,
) => void;

/** Largest window the single-channel filter gradient keeps in registers. */
export const FILTER_GRAD1_MAX_TAPS = 12;

const filterGrad1Modules = new Map<string, WebAssembly.Module | null>();
const filterGrad1Instances = new WeakMap<WebAssembly.Memory, Map<string, FilterGrad1Fn | null>>();

/** The SIMD single-channel filter gradient for a kh×kw window, bound to `memory`, or null. */
export function filterGrad1For(memory: WebAssembly.Memory | null, kh: number, kw: number, paddedWidth: number): FilterGrad1Fn | null {
  if (memory == null || kh * kw > FILTER_GRAD1_MAX_TAPS) return null;
  const key = `${kh}x${kw}/${paddedWidth}`;
  let perMemory = filterGrad1Instances.get(memory);
  if (perMemory == null) filterGrad1Instances.set(memory, (perMemory = new Map()));
  if (perMemory.has(key)) return perMemory.get(key) ?? null;
  let fn: FilterGrad1Fn | null = null;
  try {
    if (!filterGrad1Modules.has(key)) {
      const bytes = filterGrad1Module(kh, kw, paddedWidth);
      filterGrad1Modules.set(key, WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null);
    }
    const compiledModule = filterGrad1Modules.get(key);
    if (compiledModule != null) {
      const instance = new WebAssembly.Instance(compiledModule, { env: { memory } });
      fn = instance.exports.filterGrad1 as FilterGrad1Fn;
    }
  } catch {
    fn = null;
  }
  perMemory.set(key, fn);
  return fn;
}

// --- Adam on the host, in double precision -------------------------------

const f64 = {
  load64Zero: (offset: number) => [0xfd, ...uleb(0x5d), 3, ...uleb(offset)],
  load64Splat: (offset: number) => [0xfd, ...uleb(0x0a), 3, ...uleb(offset)],
  store64Lane0: (offset: number) => [0xfd, ...uleb(0x5b), 3, ...uleb(offset), 0],
  promote: [0xfd, ...uleb(0x5f)],
  demote: [0xfd, ...uleb(0x5e)],
  sqrt: [0xfd, ...uleb(0xef)],
  add: [0xfd, ...uleb(0xf0)],
  sub: [0xfd, ...uleb(0xf1)],
  mul: [0xfd, ...uleb(0xf2)],
  div: [0xfd, ...uleb(0xf3)],
};

/**
 * adam(w, g, m, v, bytes): Keras' Adam update on float32 arrays at byte addresses w, g, m, v
 * (`bytes` long, a multiple of 8), two elements at a time in float64 lanes, with exactly the
 * double-precision operations (and order) of the JS rule in optimizers.ts, so results are
 * bit-identical to it. The constants lrT, b1, 1 - b1, b2, 1 - b2, eps are float64 at address 0.
 */
function adamModule(): Uint8Array<ArrayBuffer> {
  const W = 0, G = 1, M = 2, V = 3, BYTES = 4;
  const I = 5;
  const LR = 6, B1 = 7, C1 = 8, B2 = 9, C2 = 10, EPS = 11, GK = 12, MK = 13, VK = 14;
  const addr = (base: number) => [...op.get(base), ...op.get(I), ...op.add];
  const body: number[][] = [
    ...[LR, B1, C1, B2, C2, EPS].map((local, k) => [...op.i32(0), ...f64.load64Splat(8 * k), ...op.set(local)]),
    [...op.i32(0), ...op.set(I)],
    [...op.block, ...op.loop],
    /**/ [...op.get(I), ...op.get(BYTES), ...op.geU, ...op.brIf(1)],
    /**/ [...addr(G), ...f64.load64Zero(0), ...f64.promote, ...op.set(GK)],
    // mk = b1 * m + (1 - b1) * g
    /**/ [...op.get(B1), ...addr(M), ...f64.load64Zero(0), ...f64.promote, ...f64.mul, ...op.get(C1), ...op.get(GK), ...f64.mul, ...f64.add, ...op.set(MK)],
    // vk = b2 * v + ((1 - b2) * g) * g
    /**/ [...op.get(B2), ...addr(V), ...f64.load64Zero(0), ...f64.promote, ...f64.mul, ...op.get(C2), ...op.get(GK), ...f64.mul, ...op.get(GK), ...f64.mul, ...f64.add, ...op.set(VK)],
    /**/ [...addr(M), ...op.get(MK), ...f64.demote, ...f64.store64Lane0(0)],
    /**/ [...addr(V), ...op.get(VK), ...f64.demote, ...f64.store64Lane0(0)],
    // w = w - (lrT * mk) / (sqrt(vk) + eps)
    /**/ [...addr(W), ...addr(W), ...f64.load64Zero(0), ...f64.promote, ...op.get(LR), ...op.get(MK), ...f64.mul, ...op.get(VK), ...f64.sqrt, ...op.get(EPS), ...f64.add, ...f64.div, ...f64.sub, ...f64.demote, ...f64.store64Lane0(0)],
    /**/ [...op.get(I), ...op.i32(8), ...op.add, ...op.set(I), ...op.br(0)],
    [...op.end, ...op.end],
  ];
  return moduleBytes('adam', 5, [[1, I32], [9, V128]], body);
}

export type AdamFn = (w: number, g: number, m: number, v: number, bytes: number) => void;

let adamCompiled: WebAssembly.Module | null | undefined;

/** The SIMD Adam kernel on its own memory (`pages` of 64 KiB), or null if unavailable. */
export function adamKernel(pages: number): { fn: AdamFn; memory: WebAssembly.Memory } | null {
  try {
    if (adamCompiled === undefined) {
      const bytes = adamModule();
      adamCompiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    }
    if (adamCompiled == null) return null;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const instance = new WebAssembly.Instance(adamCompiled, { env: { memory } });
    return { fn: instance.exports.adam as AdamFn, memory };
  } catch {
    return null;
  }
}

// --- element-wise kernels ------------------------------------------------

interface FuncDef {
  name: string;
  params: number;
  locals: Array<[number, number]>;
  body: number[][];
}

/** A module of several exported functions, each taking only i32 parameters. */
function multiModuleBytes(funcs: FuncDef[], sharedMemory = false): Uint8Array<ArrayBuffer> {
  const types = vec(funcs.map((f) => [0x60, ...uleb(f.params), ...new Array<number>(f.params).fill(I32), 0]));
  // limits: min 1 page, or for a shared memory (which must declare a maximum) min 1, max 65536.
  const limits = sharedMemory ? [0x03, 0x01, ...uleb(65536)] : [0x00, 0x01];
  const imports = vec([[...bytesOf('env'), ...bytesOf('memory'), 0x02, ...limits]]);
  const fnTypes = vec(funcs.map((_, i) => uleb(i)));
  const exports = vec(funcs.map((f, i) => [...bytesOf(f.name), 0x00, ...uleb(i)]));
  const codes = vec(
    funcs.map((f) => {
      const code = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body.flat(), ...op.end];
      return [...uleb(code.length), ...code];
    }),
  );
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, fnTypes),
    ...section(7, exports),
    ...section(10, codes),
  ]);
}

const v = {
  maxF32: [0xfd, ...uleb(0xe9)],
  eqF32: [0xfd, ...uleb(0x41)],
  neF32: [0xfd, ...uleb(0x42)],
};

/**
 * A loop over `bytes` (a multiple of 16) of vectors: `step(i)` emits the body for byte index
 * local I; params are locals 0.. and I is the first extra i32 local.
 */
function vectorLoop(BYTES: number, I: number, step: number[][]): number[][] {
  return [
    [...op.i32(0), ...op.set(I)],
    [...op.block, ...op.loop],
    /**/ [...op.get(I), ...op.get(BYTES), ...op.geU, ...op.brIf(1)],
    ...step,
    /**/ [...op.get(I), ...op.i32(16), ...op.add, ...op.set(I), ...op.br(0)],
    [...op.end, ...op.end],
  ];
}

function elementwiseModule(sharedMemory = false): Uint8Array<ArrayBuffer> {
  const addr = (base: number, I: number) => [...op.get(base), ...op.get(I), ...op.add];
  // mul(a, b, out, bytes) / add(a, b, out, bytes)
  const binary = (name: string, opcode: number[]): FuncDef => {
    const A = 0, B = 1, OUT = 2, BYTES = 3, I = 4;
    return {
      name,
      params: 4,
      locals: [[1, I32]],
      body: vectorLoop(BYTES, I, [[...addr(OUT, I), ...addr(A, I), ...op.load, ...addr(B, I), ...op.load, ...opcode, ...op.store]]),
    };
  };
  // relu(x, out, bytes): max(x, 0) (NaN stays NaN)
  const relu: FuncDef = (() => {
    const X = 0, OUT = 1, BYTES = 2, I = 3, ZERO = 4;
    return {
      name: 'relu',
      params: 3,
      locals: [[1, I32], [1, V128]],
      body: [
        [...op.f32(0), ...op.splatF32, ...op.set(ZERO)],
        ...vectorLoop(BYTES, I, [[...addr(OUT, I), ...addr(X, I), ...op.load, ...op.get(ZERO), ...v.maxF32, ...op.store]]),
      ],
    };
  })();
  // step(x, out, bytes, alphaBits): x > 0 ? 1 : alpha, NaN stays NaN
  const step: FuncDef = (() => {
    const X = 0, OUT = 1, BYTES = 2, I = 3, ONE = 4, ALPHA = 5, XV = 6, R = 7;
    return {
      name: 'step',
      params: 3,
      locals: [[1, I32], [4, V128]],
      body: [
        [...op.f32(1), ...op.splatF32, ...op.set(ONE)],
        [...op.f32(0), ...op.splatF32, ...op.set(ALPHA)],
        ...vectorLoop(BYTES, I, [
          [...addr(X, I), ...op.load, ...op.set(XV)],
          // r = x > 0 ? 1 : alpha
          [...op.get(ONE), ...op.get(ALPHA), ...op.get(XV), ...op.f32(0), ...op.splatF32, ...op.gtF32, ...op.bitselect, ...op.set(R)],
          // NaN lanes keep x
          [...addr(OUT, I), ...op.get(XV), ...op.get(R), ...op.get(XV), ...op.get(XV), ...v.neF32, ...op.bitselect, ...op.store],
        ]),
      ],
    };
  })();
  // addBias(x, bias, out, rows, cBytes): out[r, :] = x[r, :] + bias
  const addBias: FuncDef = (() => {
    const X = 0, BIAS = 1, OUT = 2, ROWS = 3, CB = 4, R = 5, K = 6, OFF = 7;
    return {
      name: 'addBias',
      params: 5,
      locals: [[3, I32]],
      body: [
        [...op.i32(0), ...op.set(OFF)],
        [...op.i32(0), ...op.set(R)],
        [...op.block, ...op.loop],
        /**/ [...op.get(R), ...op.get(ROWS), ...op.geU, ...op.brIf(1)],
        /**/ [...op.i32(0), ...op.set(K)],
        /**/ [...op.block, ...op.loop],
        /*  */ [...op.get(K), ...op.get(CB), ...op.geU, ...op.brIf(1)],
        /*  */ [...op.get(OUT), ...op.get(OFF), ...op.add, ...op.get(X), ...op.get(OFF), ...op.add, ...op.load, ...addr(BIAS, K), ...op.load, ...at.addF32, ...op.store],
        /*  */ [...op.get(OFF), ...op.i32(16), ...op.add, ...op.set(OFF)],
        /*  */ [...op.get(K), ...op.i32(16), ...op.add, ...op.set(K), ...op.br(0)],
        /**/ [...op.end, ...op.end],
        /**/ [...op.get(R), ...op.i32(1), ...op.add, ...op.set(R), ...op.br(0)],
        [...op.end, ...op.end],
      ],
    };
  })();
  return multiModuleBytes([binary('mul', at.mulF32), binary('add', at.addF32), relu, step, addBias], sharedMemory);
}

export interface ElementwiseFns {
  mul(a: number, b: number, out: number, bytes: number): void;
  add(a: number, b: number, out: number, bytes: number): void;
  relu(x: number, out: number, bytes: number): void;
  /** x > 0 ? 1 : 0 (NaN stays NaN). */
  step(x: number, out: number, bytes: number): void;
  addBias(x: number, bias: number, out: number, rows: number, cBytes: number): void;
}

let elementwiseCompiled: WebAssembly.Module | null | undefined;
const elementwiseInstances = new WeakMap<WebAssembly.Memory, ElementwiseFns | null>();

/** The SIMD element-wise kernels bound to `memory`, or null if unavailable. */
export function elementwiseFor(memory: WebAssembly.Memory | null): ElementwiseFns | null {
  if (memory == null) return null;
  if (elementwiseInstances.has(memory)) return elementwiseInstances.get(memory) ?? null;
  let fns: ElementwiseFns | null = null;
  try {
    if (elementwiseCompiled === undefined) {
      const bytes = elementwiseModule();
      elementwiseCompiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    }
    if (elementwiseCompiled != null) {
      fns = new WebAssembly.Instance(elementwiseCompiled, { env: { memory } }).exports as unknown as ElementwiseFns;
    }
  } catch {
    fns = null;
  }
  elementwiseInstances.set(memory, fns);
  return fns;
}

let sharedElementwiseCompiled: WebAssembly.Module | null | undefined;

/**
 * The element-wise kernels on a shared WebAssembly.Memory (whose buffer is a
 * SharedArrayBuffer that worker threads write into), or null if unavailable.
 */
export function sharedElementwise(memory: WebAssembly.Memory): ElementwiseFns | null {
  try {
    if (sharedElementwiseCompiled === undefined) {
      const bytes = elementwiseModule(true);
      sharedElementwiseCompiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    }
    if (sharedElementwiseCompiled == null) return null;
    return new WebAssembly.Instance(sharedElementwiseCompiled, { env: { memory } }).exports as unknown as ElementwiseFns;
  } catch {
    return null;
  }
}

// --- forward convolution of a single input channel -----------------------

/**
 * conv1(xp, w, y, batch, oh, ow, coutBytes, imageBytes, rowBytes), specialised to a kh×kw
 * window over rows of `padded width` floats: y[b, oy, ox, co] = Σ_t xp[b, oy + a, ox + c] ·
 * w[t, co] with t = a·kw + c in order, xp the zero-padded input as for filterGrad1. Per output
 * row and 4 output channels the kh·kw filter vectors stay in registers.
 */
function conv1Module(kh: number, kw: number, paddedWidth: number): Uint8Array<ArrayBuffer> {
  const XP = 0, WT = 1, Y = 2, B = 3, OH = 4, OW = 5, COB = 6, IMGB = 7, ROWB = 8;
  const BI = 9, R = 10, K = 11, XX = 12, XROW = 13, YROW = 14, P = 15, Q = 16;
  const taps = kh * kw;
  const ACC = 17;
  const FW = 18; // FW .. FW + taps - 1
  const tapOffset = (t: number) => (Math.floor(t / kw) * paddedWidth + (t % kw)) * 4;
  const body: number[][] = [
    [...op.get(Y), ...op.set(YROW)],
    [...op.i32(0), ...op.set(BI)],
    [...op.block, ...op.loop],
    /**/ [...op.get(BI), ...op.get(B), ...op.geU, ...op.brIf(1)],
    /**/ [...op.get(XP), ...op.get(BI), ...op.get(IMGB), ...op.mul, ...op.add, ...op.set(XROW)],
    /**/ [...op.i32(0), ...op.set(R)],
    /**/ [...op.block, ...op.loop],
    /*  */ [...op.get(R), ...op.get(OH), ...op.geU, ...op.brIf(1)],
    /*  */ [...op.i32(0), ...op.set(K)],
    /*  */ [...op.block, ...op.loop],
    /*    */ [...op.get(K), ...op.get(COB), ...op.geU, ...op.brIf(1)],
    ...Array.from({ length: taps }, (_, t) => [...op.get(WT), ...op.get(K), ...op.add, ...op.get(COB), ...op.i32(t), ...op.mul, ...op.add, ...at.load(0), ...op.set(FW + t)]),
    /*    */ [...op.get(XROW), ...op.set(P)],
    /*    */ [...op.get(YROW), ...op.get(K), ...op.add, ...op.set(Q)],
    /*    */ [...op.i32(0), ...op.set(XX)],
    /*    */ [...op.block, ...op.loop],
    /*      */ [...op.get(XX), ...op.get(OW), ...op.geU, ...op.brIf(1)],
    /*      */ [...op.get(P), ...at.load32Splat(tapOffset(0)), ...op.get(FW), ...at.mulF32, ...op.set(ACC)],
    ...Array.from({ length: taps - 1 }, (_, u) => [...op.get(ACC), ...op.get(P), ...at.load32Splat(tapOffset(u + 1)), ...op.get(FW + u + 1), ...at.mulF32, ...at.addF32, ...op.set(ACC)]),
    /*      */ [...op.get(Q), ...op.get(ACC), ...at.store(0)],
    /*      */ [...op.get(P), ...op.i32(4), ...op.add, ...op.set(P)],
    /*      */ [...op.get(Q), ...op.get(COB), ...op.add, ...op.set(Q)],
    /*      */ [...op.get(XX), ...op.i32(1), ...op.add, ...op.set(XX), ...op.br(0)],
    /*    */ [...op.end, ...op.end],
    /*    */ [...op.get(K), ...op.i32(16), ...op.add, ...op.set(K), ...op.br(0)],
    /*  */ [...op.end, ...op.end],
    /*  */ [...op.get(YROW), ...op.get(OW), ...op.get(COB), ...op.mul, ...op.add, ...op.set(YROW)],
    /*  */ [...op.get(XROW), ...op.get(ROWB), ...op.add, ...op.set(XROW)],
    /*  */ [...op.get(R), ...op.i32(1), ...op.add, ...op.set(R), ...op.br(0)],
    /**/ [...op.end, ...op.end],
    /**/ [...op.get(BI), ...op.i32(1), ...op.add, ...op.set(BI), ...op.br(0)],
    [...op.end, ...op.end],
  ];
  return moduleBytes('conv1', 9, [[8, I32], [1 + taps, V128]], body);
}

export type Conv1Fn = FilterGrad1Fn;

const conv1Modules = new Map<string, WebAssembly.Module | null>();
const conv1Instances = new WeakMap<WebAssembly.Memory, Map<string, Conv1Fn | null>>();

/** The SIMD single-channel forward convolution for a kh×kw window, bound to `memory`, or null. */
export function conv1For(memory: WebAssembly.Memory | null, kh: number, kw: number, paddedWidth: number): Conv1Fn | null {
  if (memory == null || kh * kw > FILTER_GRAD1_MAX_TAPS) return null;
  const key = `${kh}x${kw}/${paddedWidth}`;
  let perMemory = conv1Instances.get(memory);
  if (perMemory == null) conv1Instances.set(memory, (perMemory = new Map()));
  if (perMemory.has(key)) return perMemory.get(key) ?? null;
  let fn: Conv1Fn | null = null;
  try {
    if (!conv1Modules.has(key)) {
      const bytes = conv1Module(kh, kw, paddedWidth);
      conv1Modules.set(key, WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null);
    }
    const compiledModule = conv1Modules.get(key);
    if (compiledModule != null) fn = new WebAssembly.Instance(compiledModule, { env: { memory } }).exports.conv1 as Conv1Fn;
  } catch {
    fn = null;
  }
  perMemory.set(key, fn);
  return fn;
}
