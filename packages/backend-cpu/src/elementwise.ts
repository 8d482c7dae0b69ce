import type { BinaryOp, DType, HostArray, StridedRef, UnaryOp } from "@dl/tensor";
import { binaryFns, unaryFns } from "./math.js";
import { type SimdMath, type SimdUnary, simdMath } from "./simd-math.js";
import { allocArrayUninit, finalize, freeArray } from "./storage.js";
import { coalesce, forEachRow, size } from "./strided.js";

const data = (x: StridedRef) => x.data as HostArray;

/**
 * Elementwise kernels. Each walks its output row by row (strided.ts merges contiguous dims, so a
 * contiguous or row-broadcast operand is one long row) and runs an inner loop per row. The inner
 * loops keep every counter in locals and call no per-element closure for the hot ops: a call
 * through a table of many functions cannot be inlined and costs more than the arithmetic.
 */

// ---- copy ----

const TILE = 8;

/**
 * out[o + r*cols + c] = src[p + r*sr + c*sc] for a rows x cols matrix, in TILE x TILE tiles:
 * walking a transposed view row by row touches a new cache line per element, and with
 * power-of-two strides every line maps to the same cache set. Small square tiles measured best.
 */
function copyTiled(out: HostArray, o: number, src: HostArray, p: number, rows: number, cols: number, sr: number, sc: number): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        let q = o + r * cols + c0;
        let s = p + r * sr + c0 * sc;
        for (let c = c0; c < c1; c++, q++, s += sc) out[q] = src[s] as number;
      }
    }
  }
}

function copyRow(out: HostArray, o: number, src: HostArray, p: number, s: number, n: number, toBool: boolean): void {
  if (toBool) {
    // A Uint8Array would store 0.5 or 256 as 0: truthiness must be decided before the store.
    for (let j = 0; j < n; j++, p += s) out[o + j] = (src[p] as number) !== 0 ? 1 : 0;
  } else if (s === 1 && out.constructor === src.constructor) out.set(src.subarray(p, p + n), o);
  else for (let j = 0; j < n; j++, p += s) out[o + j] = src[p] as number;
}

/** Contiguous copy of a strided view, converted to dtype. */
export function copy(x: StridedRef, dtype: DType): HostArray {
  const n = size(x.shape);
  const out = allocArrayUninit(n, dtype); // every element is written below
  if (n === 0) return out;
  const src = data(x);
  const toBool = dtype === "bool" && x.dtype !== "bool";
  const w = coalesce(x.shape, [x.strides]);
  const nd = w.shape.length;
  const st = w.strides[0] as number[];
  const inner = nd > 0 ? (st[nd - 1] as number) : 1;
  const outer = nd > 1 ? (st[nd - 2] as number) : 0;
  if (nd >= 2 && !toBool && Math.abs(outer) < Math.abs(inner) && outer !== 0) {
    // A transpose-like view: the second-to-last dim is the (more) contiguous one.
    const rows = w.shape[nd - 2] as number;
    const cols = w.shape[nd - 1] as number;
    forEachMatrix(w.shape, st, x.offset, (p, o) => copyTiled(out, o, src, p, rows, cols, outer, inner));
  } else {
    let o = 0;
    forEachRow(x.shape, [x.offset], [x.strides], (offs, len, inn) => {
      copyRow(out, o, src, offs[0] as number, inn[0] as number, len, toBool);
      o += len;
    });
  }
  return dtype !== x.dtype ? finalize(out, dtype) : out;
}

/** Calls fn(sourceOffset, outOffset) for each matrix (last two dims) of a merged walk with nd >= 2. */
function forEachMatrix(shape: readonly number[], strides: readonly number[], offset: number, fn: (p: number, o: number) => void): void {
  const nd = shape.length;
  const lead = nd - 2;
  const m = (shape[nd - 2] as number) * (shape[nd - 1] as number);
  let count = 1;
  for (let d = 0; d < lead; d++) count *= shape[d] as number;
  const idx = new Array<number>(lead).fill(0);
  let p = offset;
  for (let i = 0; i < count; i++) {
    fn(p, i * m);
    for (let d = lead - 1; d >= 0; d--) {
      if (++(idx[d] as number) < (shape[d] as number)) {
        p += strides[d] as number;
        break;
      }
      idx[d] = 0;
      p -= (strides[d] as number) * ((shape[d] as number) - 1);
    }
  }
}

/** Writes src (broadcast to dst's shape) into dst's strided view, converting to dst's dtype. */
export function write(dst: StridedRef, src: StridedRef): void {
  const d = data(dst);
  const s = data(src);
  // Different storages and a conversion the typed array does by itself: one direct strided pass.
  const plain =
    dst.dtype === src.dtype || dst.dtype === "float32" || dst.dtype === "float64" || (dst.dtype === "int32" && src.dtype !== "int64");
  if (d.buffer !== s.buffer && plain) {
    const same = d.constructor === s.constructor;
    forEachRow(dst.shape, [dst.offset, src.offset], [dst.strides, src.strides], (offs, n, inner) => {
      const sd = inner[0] as number;
      const ss = inner[1] as number;
      let p = offs[0] as number;
      let q = offs[1] as number;
      // Contiguous runs of one array type (cat's pieces, narrow().copy_()): a memcpy.
      if (sd === 1 && ss === 1 && same) d.set(s.subarray(q, q + n), p);
      else for (let j = 0; j < n; j++, p += sd, q += ss) d[p] = s[q] as number;
    });
    return;
  }
  // Otherwise convert into a temporary first: dst and src may overlap (x.copy_(x.flip(0))).
  const values = copy(src, dst.dtype);
  let i = 0;
  forEachRow(dst.shape, [dst.offset], [dst.strides], (offs, n, inner) => {
    const st = inner[0] as number;
    let p = offs[0] as number;
    let k = i;
    for (let j = 0; j < n; j++, p += st) d[p] = values[k++] as number;
    i = k;
  });
  freeArray(values);
}

// ---- unary ----

// exp for results stored as float32 (float32, float16, bfloat16): e^v = 2^(k/32) * e^r with
// k = round(32 v / ln2), |r| <= ln2/64, e^r by a degree-5 Taylor polynomial (relative error
// < 3e-15), 2^(k/32) from two small tables. About 2x Math.exp (V8 calls out to fdlibm per element);
// rounded to float32 it matched Math.exp on 4M random inputs in [-110, 110].
const POW2 = new Float64Array(401); // 2^i for i in [-200, 200]
for (let i = -200; i <= 200; i++) POW2[i + 200] = 2 ** i;
const POW2_32 = new Float64Array(32); // 2^(j/32)
for (let j = 0; j < 32; j++) POW2_32[j] = 2 ** (j / 32);
const INV_LN2_32 = 32 / Math.LN2;
const LN2_32_HI = 0.6931471803691238 / 32; // ln2 split in two so that k * LN2_32_HI is exact
const LN2_32_LO = 1.9082149292705877e-10 / 32;

/** out[o + j] = exp(src[p + j * s] - shift) for j < n; returns the sum of the stored values (softmax's). */
export function exp32(out: HostArray, o: number, src: HostArray, p: number, s: number, n: number, shift = 0): number {
  let sum = 0;
  for (let j = 0; j < n; j++, p += s) {
    let v = (src[p] as number) - shift;
    // Beyond +-104 float32 gives inf / 0 either way; NaN passes through the comparisons.
    v = v > 104 ? 104 : v < -104 ? -104 : v;
    const k = ((v * INV_LN2_32 + 6400.5) | 0) - 6400; // round(); |k| <= 4801
    const r = v - k * LN2_32_HI - k * LN2_32_LO;
    const e = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))));
    out[o + j] = e * (POW2_32[k & 31] as number) * (POW2[(k >> 5) + 200] as number);
    sum += out[o + j] as number;
  }
  return sum;
}

/**
 * out[o + j] = exp(src[p + j] - shift) for j < n, contiguous, results stored as float32; returns
 * their sum. WebAssembly SIMD for float32 sources (within 1 ulp of the float64 result), else exp32.
 */
export function expShiftSum32(out: Float32Array, o: number, src: HostArray, p: number, n: number, shift: number): number {
  const m = src instanceof Float32Array ? simdMath() : undefined;
  return m ? m.expShiftSum(out, o, src, p, n, shift) : exp32(out, o, src, p, 1, n, shift);
}

/**
 * Ops with a WebAssembly SIMD kernel for float32 data (simd-math.ts: float32 polynomials within
 * 1-2 ulp of the float64 Math.* results rounded to float32, 3-4x faster). float64 keeps Math.*.
 */
const SIMD_UNARY: Partial<Record<UnaryOp, SimdUnary>> = { exp: "exp", sigmoid: "sigmoid", tanh: "tanh", erf: "erf" };

// Branch-free loops for the ops whose branch follows the data's sign: on real activations (half of
// them negative, at random) a branch mispredicts every other element, and relu, the comparisons
// and where ran ~4x slower than a plain add. `+(a > b)` and `-(a > b)` compile to a setcc, with no branch.

/** Int32 views of float32 arrays, for selecting and clearing bits. */
const bits = (a: Float32Array) => new Int32Array(a.buffer, a.byteOffset, a.length);

/**
 * relu of float32 data on the bits: cleared where the sign is set and 0 < |x| <= inf, so -0 and NaN
 * pass through (as math.ts's x < 0 ? 0 : x).
 */
function reluF32(out: Float32Array, o: number, src: Float32Array, p: number, s: number, n: number): void {
  const oi = bits(out);
  const si = bits(src);
  for (let j = o, end = o + n; j < end; j++, p += s) {
    const b = si[p] as number;
    oi[j] = b & ~((b >> 31) & -(((b & 0x7fffffff) - 1) >>> 0 < 0x7f800000));
  }
}

/** One row of a unary op; hot ops get their own loop (see the note at the top). */
function unaryRow(op: UnaryOp, f: (x: number) => number, out: HostArray, o: number, src: HostArray, p: number, s: number, n: number): void {
  // Builtins are recognised by identity, so math.ts stays the single definition of each op.
  switch (f) {
    case Math.exp:
      if (out instanceof Float32Array) exp32(out, o, src, p, s, n);
      else for (let j = 0; j < n; j++, p += s) out[o + j] = Math.exp(src[p] as number);
      return;
    case Math.log:
      for (let j = 0; j < n; j++, p += s) out[o + j] = Math.log(src[p] as number);
      return;
    case Math.sqrt:
      for (let j = 0; j < n; j++, p += s) out[o + j] = Math.sqrt(src[p] as number);
      return;
    case Math.abs:
      for (let j = 0; j < n; j++, p += s) out[o + j] = Math.abs(src[p] as number);
      return;
    case Math.tanh:
      for (let j = 0; j < n; j++, p += s) out[o + j] = Math.tanh(src[p] as number);
      return;
    case Math.sin:
      for (let j = 0; j < n; j++, p += s) out[o + j] = Math.sin(src[p] as number);
      return;
    case Math.cos:
      for (let j = 0; j < n; j++, p += s) out[o + j] = Math.cos(src[p] as number);
      return;
  }
  switch (op) {
    case "neg":
      for (let j = 0; j < n; j++, p += s) out[o + j] = -(src[p] as number);
      return;
    case "square":
      for (let j = 0; j < n; j++, p += s) {
        const v = src[p] as number;
        out[o + j] = v * v;
      }
      return;
    case "relu":
      if (out instanceof Float32Array && src instanceof Float32Array) {
        reluF32(out, o, src, p, s, n);
        return;
      }
      // As math.ts: NaN and -0 pass through.
      for (let j = 0; j < n; j++, p += s) {
        const v = src[p] as number;
        out[o + j] = v < 0 ? 0 : v;
      }
      return;
    case "sigmoid":
      // Same two-sided formula as math.ts (no overflow for large |x|).
      for (let j = 0; j < n; j++, p += s) {
        const v = src[p] as number;
        out[o + j] = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
      }
      return;
  }
  for (let j = 0; j < n; j++, p += s) out[o + j] = f(src[p] as number);
}

/**
 * The unary kernel with `engine` as its source of WebAssembly SIMD math: `unary` uses simdMath;
 * kernels.ts's plainUnaryKernels passes none, so that a bundle with it leaves the SIMD module out.
 */
export function unaryWith(engine: () => SimdMath | undefined) {
  return function unary(op: UnaryOp, x: StridedRef, dtype: DType): HostArray {
    const f = unaryFns[op];
    const out = allocArrayUninit(size(x.shape), dtype); // the row walk writes every element
    const src = data(x);
    const simd = SIMD_UNARY[op];
    const m = simd && out instanceof Float32Array && src instanceof Float32Array ? engine() : undefined;
    if (m && simd) {
      // Rows of any stride stream through the module's buffer in output order.
      const stream = m.stream(simd, out as Float32Array, 0);
      forEachRow(x.shape, [x.offset], [x.strides], (offs, n, inner) => stream.push(src, offs[0] as number, inner[0] as number, n));
      stream.flush();
      return finalize(out, dtype);
    }
    let o = 0;
    forEachRow(x.shape, [x.offset], [x.strides], (offs, n, inner) => {
      unaryRow(op, f, out, o, src, offs[0] as number, inner[0] as number, n);
      o += n;
    });
    return finalize(out, dtype);
  };
}

export const unary = /* @__PURE__ */ unaryWith(simdMath);

// ---- binary ----

/** One row of a binary op. Contiguous and scalar-broadcast rows of the arithmetic ops get stride-free loops. */
function binaryRow(
  op: BinaryOp,
  out: HostArray,
  o: number,
  a: HostArray,
  pa: number,
  sa: number,
  b: HostArray,
  pb: number,
  sb: number,
  n: number,
): void {
  const end = o + n;
  switch (op) {
    case "add":
      if (sa === 1 && sb === 1) for (let j = o; j < end; j++, pa++, pb++) out[j] = (a[pa] as number) + (b[pb] as number);
      else if (sa === 1 && sb === 0) {
        const v = b[pb] as number;
        for (let j = o; j < end; j++, pa++) out[j] = (a[pa] as number) + v;
      } else for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = (a[pa] as number) + (b[pb] as number);
      return;
    case "sub":
      if (sa === 1 && sb === 1) for (let j = o; j < end; j++, pa++, pb++) out[j] = (a[pa] as number) - (b[pb] as number);
      else if (sa === 1 && sb === 0) {
        const v = b[pb] as number;
        for (let j = o; j < end; j++, pa++) out[j] = (a[pa] as number) - v;
      } else for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = (a[pa] as number) - (b[pb] as number);
      return;
    case "mul":
      if (sa === 1 && sb === 1) for (let j = o; j < end; j++, pa++, pb++) out[j] = (a[pa] as number) * (b[pb] as number);
      else if (sa === 1 && sb === 0) {
        const v = b[pb] as number;
        for (let j = o; j < end; j++, pa++) out[j] = (a[pa] as number) * v;
      } else for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = (a[pa] as number) * (b[pb] as number);
      return;
    case "div":
      // x / c stays a division (not x * (1/c)): PyTorch rounds each quotient once.
      if (sa === 1 && sb === 1) for (let j = o; j < end; j++, pa++, pb++) out[j] = (a[pa] as number) / (b[pb] as number);
      else if (sa === 1 && sb === 0) {
        const v = b[pb] as number;
        for (let j = o; j < end; j++, pa++) out[j] = (a[pa] as number) / v;
      } else for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = (a[pa] as number) / (b[pb] as number);
      return;
    // Comparisons (relu's and max pooling's masks in every backward): inline and branch-free, as math.ts.
    case "gt":
      for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = +((a[pa] as number) > (b[pb] as number));
      return;
    case "lt":
      for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = +((a[pa] as number) < (b[pb] as number));
      return;
    case "ge":
      for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = +((a[pa] as number) >= (b[pb] as number));
      return;
    case "le":
      for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = +((a[pa] as number) <= (b[pb] as number));
      return;
    case "eq":
      for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = +((a[pa] as number) === (b[pb] as number));
      return;
    case "ne":
      for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = +((a[pa] as number) !== (b[pb] as number));
      return;
  }
  const f = binaryFns[op];
  for (let j = o; j < end; j++, pa += sa, pb += sb) out[j] = f(a[pa] as number, b[pb] as number);
}

/** Ops whose results are 0 or 1. */
const COMPARISONS = new Set<BinaryOp>(["eq", "ne", "lt", "le", "gt", "ge", "logicalAnd", "logicalOr", "logicalXor"]);

export function binary(op: BinaryOp, a: StridedRef, b: StridedRef, dtype: DType): HostArray {
  const out = allocArrayUninit(size(a.shape), dtype); // the row walk writes every element
  const da = data(a);
  const db = data(b);
  let o = 0;
  forEachRow(a.shape, [a.offset, b.offset], [a.strides, b.strides], (offs, n, inner) => {
    binaryRow(op, out, o, da, offs[0] as number, inner[0] as number, db, offs[1] as number, inner[1] as number, n);
    o += n;
  });
  // Comparisons store 0 or 1 only: a bool result needs no normalizing pass.
  return COMPARISONS.has(op) ? out : finalize(out, dtype);
}

/** where's float32 rows as a bit select, branch-free (a function of its own: V8 optimizes it whole). */
function whereBits(
  oi: Int32Array,
  j: number,
  end: number,
  dc: HostArray,
  pc: number,
  sc: number,
  ai: Int32Array,
  pa: number,
  sa: number,
  bi: Int32Array,
  pb: number,
  sb: number,
): void {
  for (; j < end; j++, pc += sc, pa += sa, pb += sb) {
    const m = -((dc[pc] as number) !== 0);
    oi[j] = ((ai[pa] as number) & m) | ((bi[pb] as number) & ~m);
  }
}

export function where(cond: StridedRef, a: StridedRef, b: StridedRef, dtype: DType): HostArray {
  const out = allocArrayUninit(size(a.shape), dtype); // the row walk writes every element
  const dc = data(cond);
  const da = data(a);
  const db = data(b);
  let o = 0;
  // float32: select the bits branch-free (relu's backward is where(y > 0, g, 0) on random signs).
  const f32 = out instanceof Float32Array && da instanceof Float32Array && db instanceof Float32Array;
  // One declaration each (a destructured mixed array literal loses the views' types in the loop).
  const oi = f32 ? bits(out as Float32Array) : undefined;
  const ai = f32 ? bits(da as Float32Array) : undefined;
  const bi = f32 ? bits(db as Float32Array) : undefined;
  forEachRow(a.shape, [cond.offset, a.offset, b.offset], [cond.strides, a.strides, b.strides], (offs, n, inner) => {
    let pc = offs[0] as number;
    let pa = offs[1] as number;
    let pb = offs[2] as number;
    const [sc, sa, sb] = inner as [number, number, number];
    const end = o + n;
    if (oi && ai && bi) whereBits(oi, o, end, dc, pc, sc, ai, pa, sa, bi, pb, sb);
    else
      for (let j = o; j < end; j++, pc += sc, pa += sa, pb += sb)
        out[j] = (dc[pc] as number) !== 0 ? (da[pa] as number) : (db[pb] as number);
    o = end;
  });
  return finalize(out, dtype);
}
