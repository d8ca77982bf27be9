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

import { tapRange, type WindowGeometry } from './util.js';

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
  gtU: [0x4b],
  ne: [0x47],
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

function moduleBytes(name: string, params: number, locals: Array<[number, number]>, body: number[][], sharedMemory = false): Uint8Array<ArrayBuffer> {
  const type = vec([[0x60, ...uleb(params), ...new Array<number>(params).fill(I32), 0]]);
  // limits: min 1 page, or for a shared memory (which must declare a maximum) min 1, max 65536.
  const limits = sharedMemory ? [0x03, 0x01, ...uleb(65536)] : [0x00, 0x01];
  const imports = vec([[...bytesOf('env'), ...bytesOf('memory'), 0x02, ...limits]]);
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

/**
 * Kernels specialised to a shape: one compiled module per key, one instance per wasm memory (each
 * thread's backend has its own). null, cached too, when WebAssembly SIMD is unavailable: the
 * caller then keeps tfjs' own kernel.
 */
class SpecialisedKernels<F> {
  private readonly modules = new Map<string, WebAssembly.Module | null>();
  private readonly instances = new WeakMap<WebAssembly.Memory, Map<string, F | null>>();

  constructor(private readonly exportName: string) {}

  get(memory: WebAssembly.Memory, key: string, bytes: () => Uint8Array<ArrayBuffer>): F | null {
    let perMemory = this.instances.get(memory);
    if (perMemory == null) this.instances.set(memory, (perMemory = new Map()));
    if (perMemory.has(key)) return perMemory.get(key) ?? null;
    let fn: F | null = null;
    try {
      if (!this.modules.has(key)) {
        const b = bytes();
        this.modules.set(key, WebAssembly.validate(b) ? new WebAssembly.Module(b) : null);
      }
      const compiled = this.modules.get(key);
      if (compiled != null) fn = new WebAssembly.Instance(compiled, { env: { memory } }).exports[this.exportName] as F;
    } catch {
      fn = null;
    }
    perMemory.set(key, fn);
    return fn;
  }
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


const filterGrad1Kernels = new SpecialisedKernels<FilterGrad1Fn>('filterGrad1');

/** The SIMD single-channel filter gradient for a kh×kw window, bound to `memory`, or null. */
export function filterGrad1For(memory: WebAssembly.Memory | null, kh: number, kw: number, paddedWidth: number): FilterGrad1Fn | null {
  if (memory == null || kh * kw > FILTER_GRAD1_MAX_TAPS) return null;
  const key = `${kh}x${kw}/${paddedWidth}`;
  return filterGrad1Kernels.get(memory, key, () => filterGrad1Module(kh, kw, paddedWidth));
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
 * adam(w, g, m, v, bytes, consts, probe): Keras' Adam update on float32 arrays at byte addresses
 * w, g, m, v (`bytes` long, a multiple of 8), two elements at a time in float64 lanes, with
 * exactly the double-precision operations (and order) of the JS rule in optimizers.ts, so
 * results are bit-identical to it. The constants lrT, b1, 1 - b1, b2, 1 - b2, eps are float64 at
 * byte address `consts`. At `probe` it stores the f32x4 sum of (w - w) over the updated
 * weights: zero when they are all finite, NaN otherwise (a free check, the loop being bound by
 * its divisions and square roots).
 */
const f32x4 = { sub: [0xfd, ...uleb(0xe5)] };

function adamModule(sharedMemory: boolean): Uint8Array<ArrayBuffer> {
  // adam(w, g, m, v, bytes, consts, probe) and adamSum(w, g, g2, m, v, bytes, consts, probe),
  // which updates from the float32 sum g + g2 (one rounding, as adding the regions first).
  const fn = (withSum: boolean): FuncDef => {
    const W = 0, G = 1, G2 = withSum ? 2 : -1, M = withSum ? 3 : 2, V = M + 1, BYTES = M + 2, CONSTS = M + 3, PROBE = M + 4;
    const I = PROBE + 1;
    const LR = I + 1, B1 = I + 2, C1 = I + 3, B2 = I + 4, C2 = I + 5, EPS = I + 6, GK = I + 7, MK = I + 8, VK = I + 9, NW = I + 10, P = I + 11;
    const addr = (base: number) => [...op.get(base), ...op.get(I), ...op.add];
    const grad = withSum
      ? [...addr(G), ...f64.load64Zero(0), ...addr(G2), ...f64.load64Zero(0), ...at.addF32, ...f64.promote]
      : [...addr(G), ...f64.load64Zero(0), ...f64.promote];
    return {
      name: withSum ? 'adamSum' : 'adam',
      params: PROBE + 1,
      locals: [[1, I32], [11, V128]],
      body: [
        ...[LR, B1, C1, B2, C2, EPS].map((local, k) => [...op.get(CONSTS), ...f64.load64Splat(8 * k), ...op.set(local)]),
        [...op.f32(0), ...op.splatF32, ...op.set(P)],
        [...op.i32(0), ...op.set(I)],
        [...op.block, ...op.loop],
        /**/ [...op.get(I), ...op.get(BYTES), ...op.geU, ...op.brIf(1)],
        /**/ [...grad, ...op.set(GK)],
        // mk = b1 * m + (1 - b1) * g
        /**/ [...op.get(B1), ...addr(M), ...f64.load64Zero(0), ...f64.promote, ...f64.mul, ...op.get(C1), ...op.get(GK), ...f64.mul, ...f64.add, ...op.set(MK)],
        // vk = b2 * v + ((1 - b2) * g) * g
        /**/ [...op.get(B2), ...addr(V), ...f64.load64Zero(0), ...f64.promote, ...f64.mul, ...op.get(C2), ...op.get(GK), ...f64.mul, ...op.get(GK), ...f64.mul, ...f64.add, ...op.set(VK)],
        /**/ [...addr(M), ...op.get(MK), ...f64.demote, ...f64.store64Lane0(0)],
        /**/ [...addr(V), ...op.get(VK), ...f64.demote, ...f64.store64Lane0(0)],
        // w = w - (lrT * mk) / (sqrt(vk) + eps), as float32 (lanes 2, 3 of the demotion are +0)
        /**/ [...addr(W), ...f64.load64Zero(0), ...f64.promote, ...op.get(LR), ...op.get(MK), ...f64.mul, ...op.get(VK), ...f64.sqrt, ...op.get(EPS), ...f64.add, ...f64.div, ...f64.sub, ...f64.demote, ...op.set(NW)],
        /**/ [...addr(W), ...op.get(NW), ...f64.store64Lane0(0)],
        // probe += w - w
        /**/ [...op.get(P), ...op.get(NW), ...op.get(NW), ...f32x4.sub, ...at.addF32, ...op.set(P)],
        /**/ [...op.get(I), ...op.i32(8), ...op.add, ...op.set(I), ...op.br(0)],
        [...op.end, ...op.end],
        [...op.get(PROBE), ...op.get(P), ...at.store(0)],
      ],
    };
  };
  return multiModuleBytes([fn(false), fn(true)], sharedMemory);
}

export type AdamFn = (w: number, g: number, m: number, v: number, bytes: number, consts: number, probe: number) => void;
export type AdamSumFn = (w: number, g: number, g2: number, m: number, v: number, bytes: number, consts: number, probe: number) => void;
export interface AdamKernels {
  adam: AdamFn;
  adamSum: AdamSumFn;
}

const adamCompiled: { own?: WebAssembly.Module | null; shared?: WebAssembly.Module | null } = {};

function adamModuleFor(shared: boolean): WebAssembly.Module | null {
  const key = shared ? 'shared' : 'own';
  if (adamCompiled[key] === undefined) {
    const bytes = adamModule(shared);
    adamCompiled[key] = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return adamCompiled[key] ?? null;
}

/** The SIMD Adam kernel on its own memory (`pages` of 64 KiB), or null if unavailable. */
export function adamKernel(pages: number): { fn: AdamFn; memory: WebAssembly.Memory } | null {
  try {
    const compiledModule = adamModuleFor(false);
    if (compiledModule == null) return null;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const instance = new WebAssembly.Instance(compiledModule, { env: { memory } });
    return { fn: instance.exports.adam as AdamFn, memory };
  } catch {
    return null;
  }
}

/** The SIMD Adam kernels on a shared WebAssembly.Memory (one instance per thread), or null. */
export function sharedAdamKernel(memory: WebAssembly.Memory): AdamKernels | null {
  try {
    const compiledModule = adamModuleFor(true);
    if (compiledModule == null) return null;
    const { adam, adamSum } = new WebAssembly.Instance(compiledModule, { env: { memory } }).exports as unknown as AdamKernels;
    return { adam, adamSum };
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


const conv1Kernels = new SpecialisedKernels<Conv1Fn>('conv1');

/** The SIMD single-channel forward convolution for a kh×kw window, bound to `memory`, or null. */
export function conv1For(memory: WebAssembly.Memory | null, kh: number, kw: number, paddedWidth: number): Conv1Fn | null {
  if (memory == null || kh * kw > FILTER_GRAD1_MAX_TAPS) return null;
  const key = `${kh}x${kw}/${paddedWidth}`;
  return conv1Kernels.get(memory, key, () => conv1Module(kh, kw, paddedWidth));
}

// --- filter gradient of a convolution, straight from NHWC x and dy -------

/** A convolution's forward geometry (NHWC, no dilation): what convNhwc and filterGradNhwc modules are specialised to. */
export type ConvNhwcGeometry = Omit<WindowGeometry, 'batch'> & { inChannels: number; outChannels: number };


/**
 * filterGradNhwc(x, dy, dw, images): dw[a, c, ci, co] += Σ x[b, oy·sh + a - pt, ox·sw + c - pl, ci]
 * · dy[b, oy, ox, co] over `images` images of x [.., h, w, cin] and dy [.., oh, ow, cout] (NHWC,
 * byte addresses), specialised to one geometry (cin a multiple of 4, cout of 8).
 *
 * For every tap, 4 input channels and 8 output channels, the 4×8 block of dw is loaded into
 * registers, each image's output pixels are added in order (b, oy, ox) with one f32 multiply
 * and one f32 add per term, and the block is stored back. Output pixels whose tap falls in the
 * padding are skipped (their term is a zero product). Each dw element is thus the sequential
 * f32 sum over pixels that a matrix product of the patch matrix and dy computes (XNNPACK's
 * fully-connected kernels sum K in order, with separate multiply and add), without building
 * the patch matrix or packing dy. A row of output pixels is unrolled, so every load has a
 * constant offset.
 */
function filterGradNhwcModule(g: ConvNhwcGeometry): Uint8Array<ArrayBuffer> {
  const X = 0, DY = 1, DW = 2, NB = 3;
  const BI = 4, XIMG = 5, DYIMG = 6, CIB = 7, COB = 8, OUTT = 9, XR = 10, DR = 11, R = 12;
  const XP = 13, DP = 14, N = 15;
  const ACC = 16; // 8 accumulators: ACC + 2i + j for input channel i (of 4), output vector j (of 2)
  const D0 = 24, D1 = 25, S = 26;
  const { inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padTop: pt, padLeft: pl } = g;
  const xPix = cin * 4;
  const dyPix = cout * 4;
  const ltU = [0x49];
  const tee = (i: number) => [0x22, ...uleb(i)];
  const body: number[][] = [
    [...op.get(X), ...op.set(XIMG)],
    [...op.get(DY), ...op.set(DYIMG)],
    [...op.i32(0), ...op.set(BI)],
    [...op.block, ...op.loop],
    /**/ [...op.get(BI), ...op.get(NB), ...op.geU, ...op.brIf(1)],
  ];
  for (let a = 0; a < kh; a++) {
    const [oy0, oy1] = tapRange(a, h, oh, sh, pt);
    for (let c = 0; c < kw; c++) {
      const [ox0, ox1] = tapRange(c, w, ow, sw, pl);
      if (oy1 <= oy0 || ox1 <= ox0) continue;
      const t = a * kw + c;
      // One output pixel: dy[pixel, 8 channels] times the 4 input channels of its tap.
      const pixel: number[][] = [
        [...op.get(DP), ...at.load(0), ...op.set(D0)],
        [...op.get(DP), ...at.load(16), ...op.set(D1)],
      ];
      for (let i = 0; i < 4; i++) {
        pixel.push([...op.get(ACC + 2 * i), ...op.get(XP), ...at.load32Splat(4 * i), ...tee(S), ...op.get(D0), ...at.mulF32, ...at.addF32, ...op.set(ACC + 2 * i)]);
        pixel.push([...op.get(ACC + 2 * i + 1), ...op.get(S), ...op.get(D1), ...at.mulF32, ...at.addF32, ...op.set(ACC + 2 * i + 1)]);
      }
      const pixels: number[][] = [
        [...op.get(XR), ...op.i32((ox0 * sw + c - pl) * xPix), ...op.add, ...op.set(XP)],
        [...op.get(DR), ...op.i32(ox0 * dyPix), ...op.add, ...op.set(DP)],
        [...op.i32(ox1 - ox0), ...op.set(N)],
        [...op.loop],
        ...pixel,
        [...op.get(XP), ...op.i32(sw * xPix), ...op.add, ...op.set(XP)],
        [...op.get(DP), ...op.i32(dyPix), ...op.add, ...op.set(DP)],
        [...op.get(N), ...op.i32(1), ...op.sub, ...tee(N), ...op.brIf(0)],
        [...op.end],
      ];
      const accAt = (i: number, j: number) => (i * cout + 4 * j) * 4;
      body.push(
        /**/ [...op.i32(0), ...op.set(COB)],
        /**/ [...op.loop],
        /*  */ [...op.i32(0), ...op.set(CIB)],
        /*  */ [...op.loop],
        // OUTT = dw + ((t·cin + 4·cib)·cout + 8·cob)·4
        /*    */ [...op.get(DW), ...op.i32(t * cin * cout * 4), ...op.add, ...op.get(CIB), ...op.i32(16 * cout), ...op.mul, ...op.add, ...op.get(COB), ...op.i32(32), ...op.mul, ...op.add, ...op.set(OUTT)],
        ...Array.from({ length: 8 }, (_, k) => [...op.get(OUTT), ...at.load(accAt(k >> 1, k & 1)), ...op.set(ACC + k)]),
        // XR: input row oy0·sh + a - pt of this image, channel 4·cib; DR: output row oy0, channel 8·cob
        /*    */ [...op.get(XIMG), ...op.i32((oy0 * sh + a - pt) * w * xPix), ...op.add, ...op.get(CIB), ...op.i32(16), ...op.mul, ...op.add, ...op.set(XR)],
        /*    */ [...op.get(DYIMG), ...op.i32(oy0 * ow * dyPix), ...op.add, ...op.get(COB), ...op.i32(32), ...op.mul, ...op.add, ...op.set(DR)],
        /*    */ [...op.i32(oy1 - oy0), ...op.set(R)],
        /*    */ [...op.loop],
        ...pixels,
        /*      */ [...op.get(XR), ...op.i32(sh * w * xPix), ...op.add, ...op.set(XR)],
        /*      */ [...op.get(DR), ...op.i32(ow * dyPix), ...op.add, ...op.set(DR)],
        /*      */ [...op.get(R), ...op.i32(1), ...op.sub, ...tee(R), ...op.brIf(0)],
        /*    */ [...op.end],
        ...Array.from({ length: 8 }, (_, k) => [...op.get(OUTT), ...op.get(ACC + k), ...at.store(accAt(k >> 1, k & 1))]),
        /*    */ [...op.get(CIB), ...op.i32(1), ...op.add, ...tee(CIB), ...op.i32(cin / 4), ...ltU, ...op.brIf(0)],
        /*  */ [...op.end],
        /*  */ [...op.get(COB), ...op.i32(1), ...op.add, ...tee(COB), ...op.i32(cout / 8), ...ltU, ...op.brIf(0)],
        /**/ [...op.end],
      );
    }
  }
  body.push(
    /**/ [...op.get(XIMG), ...op.i32(h * w * xPix), ...op.add, ...op.set(XIMG)],
    /**/ [...op.get(DYIMG), ...op.i32(oh * ow * dyPix), ...op.add, ...op.set(DYIMG)],
    /**/ [...op.get(BI), ...op.i32(1), ...op.add, ...op.set(BI), ...op.br(0)],
    [...op.end, ...op.end],
  );
  return moduleBytes('filterGradNhwc', 4, [[12, I32], [11, V128]], body);
}

export type FilterGradNhwcFn = (x: number, dy: number, dw: number, images: number) => void;

/** Widest output row filterGradNhwc unrolls. */
export const FILTER_GRAD_NHWC_MAX_WIDTH = 64;


const filterGradNhwcKernels = new SpecialisedKernels<FilterGradNhwcFn>('filterGradNhwc');

/**
 * The SIMD filter gradient for one geometry bound to `memory`, or null (no memory, cin not a
 * multiple of 4, cout not a multiple of 8, rows wider than FILTER_GRAD_NHWC_MAX_WIDTH, or no SIMD).
 */
export function filterGradNhwcFor(memory: WebAssembly.Memory | null, g: ConvNhwcGeometry): FilterGradNhwcFn | null {
  if (memory == null || g.inChannels % 4 !== 0 || g.outChannels % 8 !== 0 || g.outWidth > FILTER_GRAD_NHWC_MAX_WIDTH) return null;
  if (g.outHeight <= 0 || g.outWidth <= 0) return null;
  const key = JSON.stringify(g);
  return filterGradNhwcKernels.get(memory, key, () => filterGradNhwcModule(g));
}

// --- convolution, NHWC, from a zero-padded input --------------------------

/** Widest output row convNhwc unrolls. */
export const CONV_NHWC_MAX_WIDTH = 64;

/**
 * convNhwc(x, w, y, images): y[b, oy, ox, co] = Σ_{a, c, ci} x[b, oy·sh + a - pt, ox·sw + c - pl, ci]
 * · w[a, c, ci, co] for `images` images (byte addresses; cout a multiple of 8), terms whose input
 * lies in the padding left out.
 *
 * Each term is one f32 multiply and one f32 add into an accumulator that starts at +0, in
 * (a, c, ci) order: the arithmetic of XNNPACK's convolution, so the bits are its bits. (XNNPACK
 * adds the padding's terms too; those are zero products, which leave such a sum unchanged.)
 * Blocks of 4 output pixels of a row × 8 output channels stay in registers, with a narrower
 * block for the rest of the row. A row's blocks are unrolled, so which of their (pixel, tap)
 * pairs fall in the left or right padding is known here and their terms are not emitted; tap
 * rows in the top or bottom padding are skipped at run time. So the input needs no padded
 * copy. The per-channel loop stays small and rolled: unrolled, TurboFan hoists its loads and
 * spills.
 */
function convNhwcModule(g: ConvNhwcGeometry): Uint8Array<ArrayBuffer> {
  const X0 = 0, W = 1, Y = 2, NB = 3;
  const BI = 4, XIMG = 5, YIMG = 6, COB = 7, OY = 8, XB = 9, XP = 10, WP = 11, K = 12, YT = 13;
  const ACC = 14; // ACC + 2j + v: pixel j (of up to 4), output vector v (of 2)
  const W0 = 22, W1 = 23, S = 24;
  const { inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padTop: pt, padLeft: pl } = g;
  const xPix = cin * 4;
  const yPix = cout * 4;
  const ltU = [0x49];
  const gtS = [0x4a];
  const or32 = [0x72];
  const tee = (i: number) => [0x22, ...uleb(i)];
  const zero = [...op.f32(0), ...op.splatF32];
  /** The block of `px` pixels from output column `start` of row OY (XB: its input row oy·sh - pt, column 0). */
  const tile = (px: number, start: number): number[][] => {
    const out: number[][] = Array.from({ length: 2 * px }, (_, k) => [...zero, ...op.set(ACC + k)]);
    for (let a = 0; a < kh; a++) {
      const [oy0, oy1] = tapRange(a, h, oh, sh, pt);
      if (oy1 <= oy0) continue;
      const skip = oy0 > 0 || oy1 < oh;
      if (skip) out.push([...op.block], [...op.get(OY), ...op.i32(oy0), ...ltU, ...op.get(OY), ...op.i32(oy1 - 1), ...gtS, ...or32, ...op.brIf(0)]);
      for (let c = 0; c < kw; c++) {
        // The pixels of this block whose tap column lies in the input.
        const valid = Array.from({ length: px }, (_, j) => j).filter((j) => {
          const ix = (start + j) * sw + c - pl;
          return ix >= 0 && ix < w;
        });
        if (valid.length === 0) continue;
        const j0 = valid[0];
        const step: number[][] = [
          [...op.get(WP), ...at.load(0), ...op.set(W0)],
          [...op.get(WP), ...at.load(16), ...op.set(W1)],
        ];
        for (const j of valid) {
          step.push([...op.get(ACC + 2 * j), ...op.get(XP), ...at.load32Splat((j - j0) * sw * xPix), ...tee(S), ...op.get(W0), ...at.mulF32, ...at.addF32, ...op.set(ACC + 2 * j)]);
          step.push([...op.get(ACC + 2 * j + 1), ...op.get(S), ...op.get(W1), ...at.mulF32, ...at.addF32, ...op.set(ACC + 2 * j + 1)]);
        }
        out.push(
          // XP: input row oy·sh + a - pt, column (start + j0)·sw + c - pl, channel 0
          [...op.get(XB), ...op.i32((a * w + (start + j0) * sw + c - pl) * xPix), ...op.add, ...op.set(XP)],
          [...op.get(W), ...op.get(COB), ...op.i32(32), ...op.mul, ...op.add, ...op.i32((a * kw + c) * cin * yPix), ...op.add, ...op.set(WP)],
          [...op.i32(cin), ...op.set(K)],
          [...op.loop],
          ...step,
          [...op.get(XP), ...op.i32(4), ...op.add, ...op.set(XP)],
          [...op.get(WP), ...op.i32(yPix), ...op.add, ...op.set(WP)],
          [...op.get(K), ...op.i32(1), ...op.sub, ...tee(K), ...op.brIf(0)],
          [...op.end],
        );
      }
      if (skip) out.push([...op.end]);
    }
    out.push(
      // XP reused as the output pointer: y[b, oy, start, 8·cob]
      [...op.get(YT), ...op.i32(start * yPix), ...op.add, ...op.set(XP)],
      ...Array.from({ length: 2 * px }, (_, k) => [...op.get(XP), ...op.get(ACC + k), ...at.store((k >> 1) * yPix + (k & 1) * 16)]),
    );
    return out;
  };
  const row: number[][] = [];
  for (let start = 0; start < ow; start += 4) row.push(...tile(Math.min(4, ow - start), start));
  const body: number[][] = [
    [...op.get(X0), ...op.set(XIMG)],
    [...op.get(Y), ...op.set(YIMG)],
    [...op.i32(0), ...op.set(BI)],
    [...op.block, ...op.loop],
    /**/ [...op.get(BI), ...op.get(NB), ...op.geU, ...op.brIf(1)],
    /**/ [...op.i32(0), ...op.set(COB)],
    /**/ [...op.loop],
    /*  */ [...op.i32(0), ...op.set(OY)],
    /*  */ [...op.loop],
    // XB: this image's input row oy·sh - pt (possibly outside it: only rows inside are read)
    /*    */ [...op.get(XIMG), ...op.get(OY), ...op.i32(sh * w * xPix), ...op.mul, ...op.add, ...op.i32(-pt * w * xPix), ...op.add, ...op.set(XB)],
    /*    */ [...op.get(YIMG), ...op.get(OY), ...op.i32(ow * yPix), ...op.mul, ...op.add, ...op.get(COB), ...op.i32(32), ...op.mul, ...op.add, ...op.set(YT)],
    ...row,
    /*    */ [...op.get(OY), ...op.i32(1), ...op.add, ...tee(OY), ...op.i32(oh), ...ltU, ...op.brIf(0)],
    /*  */ [...op.end],
    /*  */ [...op.get(COB), ...op.i32(1), ...op.add, ...tee(COB), ...op.i32(cout / 8), ...ltU, ...op.brIf(0)],
    /**/ [...op.end],
    /**/ [...op.get(XIMG), ...op.i32(h * w * xPix), ...op.add, ...op.set(XIMG)],
    /**/ [...op.get(YIMG), ...op.i32(oh * ow * yPix), ...op.add, ...op.set(YIMG)],
    /**/ [...op.get(BI), ...op.i32(1), ...op.add, ...op.set(BI), ...op.br(0)],
    [...op.end, ...op.end],
  ];
  return moduleBytes('convNhwc', 4, [[10, I32], [11, V128]], body);
}

export type ConvNhwcFn = (x: number, w: number, y: number, images: number) => void;


const convNhwcKernels = new SpecialisedKernels<ConvNhwcFn>('convNhwc');

/** The SIMD convolution for one geometry bound to `memory`, or null (cout not a multiple of 8, rows wider than CONV_NHWC_MAX_WIDTH, no SIMD). */
export function convNhwcFor(memory: WebAssembly.Memory | null, g: ConvNhwcGeometry): ConvNhwcFn | null {
  if (memory == null || g.outChannels % 8 !== 0 || g.outWidth < 1 || g.outWidth > CONV_NHWC_MAX_WIDTH || g.outHeight < 1 || g.inChannels < 1) return null;
  const key = JSON.stringify(g);
  return convNhwcKernels.get(memory, key, () => convNhwcModule(g));
}

// --- matrix product, summed in order ---------------------------------------

/**
 * gemm(a, b, c, m): c[i, j] = Σ_q A(i, q) · b[q, j] for i < m (a runtime row count), j < n, q < k
 * in order, with A(i, q) = a[i, q] (a stored [m, k]) or, transposed, a[q, i] (a stored [k, m]);
 * b is [k, n], c [m, n], n a multiple of 8. Each term is one f32 multiply and one f32 add into an
 * accumulator that starts at +0 — XNNPACK's fully-connected arithmetic, so its bits — with
 * blocks of 4 rows × 8 columns in registers (a narrower block for the last rows), reading the
 * operands where they are: no packing, no transposes.
 *
 * q runs in blocks of GEMM_K_BLOCK, and within one the larger of a's and b's blocks streams
 * through the cache once while the smaller is reused from L1: for x·W in a dense layer (b, the
 * weights, 1.6 MB in the reference net) every column block then every row block, for W·dyᵀ
 * the other way round. Between q blocks the partial sums wait in c (stored and reloaded
 * exactly), which leaves the order of the additions unchanged.
 */
const GEMM_K_BLOCK = 128;

function gemmModule(k: number, n: number, aTransposed: boolean): Uint8Array<ArrayBuffer> {
  const A = 0, B = 1, C = 2, M = 3;
  const I = 4, J = 5, AP = 6, BP = 7, Q = 8, CT = 9, ASTEP = 10, KB = 11, KC = 12;
  const ACC = 13; // ACC + 2r + v: row r (of up to 4), column vector v (of 2)
  const B0 = 21, B1 = 22, S = 23;
  const ltU = [0x49];
  const ifVoid = [0x04, 0x40];
  const elseOp = [0x05];
  const eqz = [0x45];
  const tee = (i: number) => [0x22, ...uleb(i)];
  const zero = [...op.f32(0), ...op.splatF32];
  const rowBytes = n * 4;
  /** Rows [I, I + rows) against column block J, over q in [KB, KB + KC). */
  const block = (rows: number): number[][] => {
    const step: number[][] = [
      [...op.get(BP), ...at.load(0), ...op.set(B0)],
      [...op.get(BP), ...at.load(16), ...op.set(B1)],
    ];
    for (let r = 0; r < rows; r++) {
      const offset = aTransposed ? 4 * r : r * k * 4;
      step.push([...op.get(ACC + 2 * r), ...op.get(AP), ...at.load32Splat(offset), ...tee(S), ...op.get(B0), ...at.mulF32, ...at.addF32, ...op.set(ACC + 2 * r)]);
      step.push([...op.get(ACC + 2 * r + 1), ...op.get(S), ...op.get(B1), ...at.mulF32, ...at.addF32, ...op.set(ACC + 2 * r + 1)]);
    }
    const cAt = (q: number) => (q >> 1) * rowBytes + (q & 1) * 16;
    return [
      [...op.get(C), ...op.get(I), ...op.i32(rowBytes), ...op.mul, ...op.add, ...op.get(J), ...op.i32(32), ...op.mul, ...op.add, ...op.set(CT)],
      // The first q block starts from +0, the others from the partial sums in c.
      [...op.get(KB), ...eqz, ...ifVoid],
      ...Array.from({ length: 2 * rows }, (_, q) => [...zero, ...op.set(ACC + q)]),
      [...elseOp],
      ...Array.from({ length: 2 * rows }, (_, q) => [...op.get(CT), ...at.load(cAt(q)), ...op.set(ACC + q)]),
      [...op.end],
      // AP: A(I, KB); BP: b[KB, 8·J]
      aTransposed
        ? [...op.get(A), ...op.get(KB), ...op.get(ASTEP), ...op.mul, ...op.add, ...op.get(I), ...op.i32(4), ...op.mul, ...op.add, ...op.set(AP)]
        : [...op.get(A), ...op.get(I), ...op.i32(k * 4), ...op.mul, ...op.add, ...op.get(KB), ...op.i32(4), ...op.mul, ...op.add, ...op.set(AP)],
      [...op.get(B), ...op.get(KB), ...op.i32(rowBytes), ...op.mul, ...op.add, ...op.get(J), ...op.i32(32), ...op.mul, ...op.add, ...op.set(BP)],
      [...op.get(KC), ...op.set(Q)],
      [...op.loop],
      ...step,
      /**/ [...op.get(AP), ...op.get(ASTEP), ...op.add, ...op.set(AP)],
      /**/ [...op.get(BP), ...op.i32(rowBytes), ...op.add, ...op.set(BP)],
      /**/ [...op.get(Q), ...op.i32(1), ...op.sub, ...tee(Q), ...op.brIf(0)],
      [...op.end],
      ...Array.from({ length: 2 * rows }, (_, q) => [...op.get(CT), ...op.get(ACC + q), ...at.store(cAt(q))]),
    ];
  };
  /** `inner(rows)` for every row block: 4 rows while I + 4 <= m, then the last m mod 4. */
  const overRows = (inner: (rows: number) => number[][]): number[][] => {
    const out: number[][] = [
      [...op.i32(0), ...op.set(I)],
      [...op.block, ...op.loop],
      /**/ [...op.get(I), ...op.i32(4), ...op.add, ...op.get(M), ...op.gtU, ...op.brIf(1)],
      ...inner(4),
      /**/ [...op.get(I), ...op.i32(4), ...op.add, ...op.set(I), ...op.br(0)],
      [...op.end, ...op.end],
    ];
    for (let rows = 3; rows >= 1; rows--) {
      out.push(
        [...op.block],
        /**/ [...op.get(M), ...op.get(I), ...op.sub, ...op.i32(rows), ...op.ne, ...op.brIf(0)],
        ...inner(rows),
        [...op.end],
      );
    }
    return out;
  };
  /** `inner()` for every column block. */
  const overColumns = (inner: () => number[][]): number[][] => [
    [...op.i32(0), ...op.set(J)],
    [...op.loop],
    ...inner(),
    /**/ [...op.get(J), ...op.i32(1), ...op.add, ...tee(J), ...op.i32(n / 8), ...ltU, ...op.brIf(0)],
    [...op.end],
  ];
  const body: number[][] = [
    aTransposed ? [...op.get(M), ...op.i32(4), ...op.mul, ...op.set(ASTEP)] : [...op.i32(4), ...op.set(ASTEP)],
    [...op.i32(0), ...op.set(KB)],
    [...op.loop],
    // KC = min(GEMM_K_BLOCK, k - KB)
    /**/ [...op.i32(GEMM_K_BLOCK), ...op.i32(k), ...op.get(KB), ...op.sub, ...op.i32(k), ...op.get(KB), ...op.sub, ...op.i32(GEMM_K_BLOCK), ...op.gtU, ...[0x1b], ...op.set(KC)],
    // The larger operand block streams once: rows outer when a's block is the larger (m >= n),
    // so each row block is reused from L1 by every column block, else columns outer.
    /**/ [...op.get(M), ...op.i32(n), ...op.geU, ...ifVoid],
    ...overRows((rows) => overColumns(() => block(rows))),
    /**/ [...elseOp],
    ...overColumns(() => overRows((rows) => block(rows))),
    /**/ [...op.end],
    /**/ [...op.get(KB), ...op.i32(GEMM_K_BLOCK), ...op.add, ...tee(KB), ...op.i32(k), ...ltU, ...op.brIf(0)],
    [...op.end],
  ];
  return moduleBytes('gemm', 4, [[9, I32], [11, V128]], body);
}

export type GemmFn = (a: number, b: number, c: number, m: number) => void;


const gemmKernels = new SpecialisedKernels<GemmFn>('gemm');

/** The SIMD product for inner size k, n columns (a multiple of 8) and a's layout, bound to `memory`, or null. */
export function gemmFor(memory: WebAssembly.Memory | null, k: number, n: number, aTransposed: boolean): GemmFn | null {
  if (memory == null || n % 8 !== 0 || n < 8 || k < 1) return null;
  const key = `${k}/${n}/${aTransposed ? 't' : 'n'}`;
  return gemmKernels.get(memory, key, () => gemmModule(k, n, aTransposed));
}
