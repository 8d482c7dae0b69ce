import type { GruCellGrads, GruCellResult, HostArray, LstmCellGrads, LstmCellResult, StridedRef } from "@dl/tensor";
import { unaryFns } from "../math.js";
import { HEAP_BASE, simdMath } from "../simd-math.js";
import { allocArrayUninit, finalize } from "../storage.js";
import { rowMajor } from "./row-major.js";

/**
 * The recurrent cells' gate math (torch's fused LSTM / GRU cells): one kernel per step instead of
 * about ten elementwise ops. float32 runs in WebAssembly SIMD (wasm/math.wat: the same sigmoid and
 * tanh polynomials as the unary kernels and the composed ops' order of float32 roundings, so the
 * values equal the composed path's); float64, and engines without SIMD, run the scalar loops below
 * with math.ts's definitions (again as the composed ops). The backward kernels use the forward's
 * workspace (activated gates) and compute in float64, rounding each gradient once.
 */

const sigmoid = unaryFns.sigmoid;
const tanh = unaryFns.tanh;

/** x's elements in row-major order as a [rows, cols] matrix with row stride `ld` from offset `o`. */
type Rows = { a: HostArray; o: number; done: () => void };
const rows = (x: StridedRef): Rows => rowMajor(x);

/**
 * Copies blocks of a [n, blocks * h] matrix (row-major in a from o) into the heap at `at` (floats),
 * each block of h padded to hp floats (hp = h rounded up to whole vectors).
 */
function pack(heap: Float32Array, at: number, x: Rows, n: number, blocks: number, h: number, hp: number): void {
  const src = x.a as Float32Array;
  if (hp === h) {
    heap.set(src.subarray(x.o, x.o + n * blocks * h), at);
    return;
  }
  for (let r = 0, p = x.o, q = at; r < n; r++) {
    for (let k = 0; k < blocks; k++, p += h, q += hp) {
      heap.set(src.subarray(p, p + h), q);
      heap.fill(0, q + h, q + hp);
    }
  }
}

/** The inverse of pack: blocks of hp floats at `at` into out (from o) as rows of blocks * h. */
function unpack(out: Float32Array, o: number, heap: Float32Array, at: number, n: number, blocks: number, h: number, hp: number): void {
  if (hp === h) {
    out.set(heap.subarray(at, at + n * blocks * h), o);
    return;
  }
  for (let r = 0, q = at; r < n * blocks; r++, o += h, q += hp) out.set(heap.subarray(q, q + h), o);
}

const isF32 = (...xs: Rows[]) => xs.every((x) => x.a instanceof Float32Array);

export function lstmCell(
  gxRef: StridedRef,
  ghRef: StridedRef,
  bRef: StridedRef | null,
  cRef: StridedRef,
  workspace: boolean,
): LstmCellResult {
  const n = gxRef.shape[0] as number;
  const h = cRef.shape[1] as number;
  const dtype = cRef.dtype;
  const [gx, gh, c] = [gxRef, ghRef, cRef].map(rows) as [Rows, Rows, Rows];
  const b = bRef && rows(bRef);
  const hc = allocArrayUninit(2 * n * h, dtype);
  const ws = workspace ? allocArrayUninit(5 * n * h, dtype) : null;
  const simd = dtype === "float32" && isF32(gx, gh, c, ...(b ? [b] : [])) ? simdMath() : undefined;
  if (simd) {
    // Heap layout (floats): gx, gh [n, 4, hp], b [4, hp], c, h', c' [n, hp], ws [n, 5, hp].
    const hp = (h + 3) & ~3;
    const at = {
      gx: 0,
      gh: 4 * n * hp,
      b: 8 * n * hp,
      c: 8 * n * hp + 4 * hp,
      h2: 9 * n * hp + 4 * hp,
      c2: 10 * n * hp + 4 * hp,
      ws: 11 * n * hp + 4 * hp,
    };
    const heap = simd.heap(at.ws + (ws ? 5 * n * hp : 0));
    pack(heap, at.gx, gx, n, 4, h, hp);
    pack(heap, at.gh, gh, n, 4, h, hp);
    if (b) pack(heap, at.b, b, 1, 4, h, hp);
    pack(heap, at.c, c, n, 1, h, hp);
    const ptr = (i: number) => HEAP_BASE + 4 * i;
    simd.lstmCell(ptr(at.gx), ptr(at.gh), b ? ptr(at.b) : 0, ptr(at.c), ptr(at.h2), ptr(at.c2), ws ? ptr(at.ws) : 0, n, hp);
    unpack(hc as Float32Array, 0, heap, at.h2, n, 1, h, hp);
    unpack(hc as Float32Array, n * h, heap, at.c2, n, 1, h, hp);
    if (ws) unpack(ws as Float32Array, 0, heap, at.ws, n, 5, h, hp);
  } else {
    const f32 = dtype === "float32";
    const round = f32 ? Math.fround : (v: number) => v;
    for (let r = 0; r < n; r++) {
      const px = gx.o + r * 4 * h;
      const pg = gh.o + r * 4 * h;
      for (let j = 0; j < h; j++) {
        // One rounding per composed op: gates = (gx + gh) + b, then the activations, f c, i g, their sum.
        const pre = (k: number) => {
          let v = round((gx.a[px + k * h + j] as number) + (gh.a[pg + k * h + j] as number));
          if (b) v = round(v + (b.a[b.o + k * h + j] as number));
          return v;
        };
        const i = round(sigmoid(pre(0)));
        const f = round(sigmoid(pre(1)));
        const g = round(tanh(pre(2)));
        const o = round(sigmoid(pre(3)));
        const c2 = round(round(f * (c.a[c.o + r * h + j] as number)) + round(i * g));
        const tc = round(tanh(c2));
        hc[r * h + j] = o * tc;
        hc[(n + r) * h + j] = c2;
        if (ws) {
          const w = r * 5 * h + j;
          ws[w] = i;
          ws[w + h] = f;
          ws[w + 2 * h] = g;
          ws[w + 3 * h] = o;
          ws[w + 4 * h] = tc;
        }
      }
    }
  }
  for (const x of [gx, gh, c, b]) x?.done();
  return { hc: finalize(hc, dtype), workspace: ws && finalize(ws, dtype) };
}

/**
 * With gc_t = gc + gh o (1 - tanh(c')^2): gi = gc_t g i (1 - i), gf = gc_t c f (1 - f),
 * gg = gc_t i (1 - g^2), go = gh tanh(c') o (1 - o), and c's gradient gc_t f.
 */
export function lstmCellBackward(ghRef: StridedRef, gcRef: StridedRef, cRef: StridedRef, wsRef: StridedRef): LstmCellGrads {
  const n = cRef.shape[0] as number;
  const h = cRef.shape[1] as number;
  const dtype = cRef.dtype;
  const [gH, gC, c, ws] = [ghRef, gcRef, cRef, wsRef].map(rows) as [Rows, Rows, Rows, Rows];
  const gates = allocArrayUninit(4 * n * h, dtype);
  const gc = allocArrayUninit(n * h, dtype);
  lstmBackwardRows(n, h, ws.a, ws.o, gH.a, gH.o, gC.a, gC.o, c.a, c.o, gates, gc);
  for (const x of [gH, gC, c, ws]) x.done();
  return { gates: finalize(gates, dtype), c: finalize(gc, dtype) };
}

/** lstmCellBackward's loop, on plain arrays and offsets (a function of its own: V8 optimizes it whole). */
function lstmBackwardRows(
  n: number,
  h: number,
  w: HostArray,
  wo: number,
  ah: HostArray,
  oh: number,
  ac: HostArray,
  oc: number,
  cx: HostArray,
  ox: number,
  gates: HostArray,
  gc: HostArray,
): void {
  for (let r = 0; r < n; r++) {
    const pw = wo + r * 5 * h;
    const pg = r * 4 * h;
    for (let j = 0; j < h; j++) {
      const q = r * h + j;
      const i = w[pw + j] as number;
      const f = w[pw + h + j] as number;
      const g = w[pw + 2 * h + j] as number;
      const o = w[pw + 3 * h + j] as number;
      const tc = w[pw + 4 * h + j] as number;
      const dh = ah[oh + q] as number;
      const dc = (ac[oc + q] as number) + dh * o * (1 - tc * tc);
      gates[pg + j] = dc * g * i * (1 - i);
      gates[pg + h + j] = dc * (cx[ox + q] as number) * f * (1 - f);
      gates[pg + 2 * h + j] = dc * i * (1 - g * g);
      gates[pg + 3 * h + j] = dh * tc * o * (1 - o);
      gc[q] = dc * f;
    }
  }
}

export function gruCell(
  gxRef: StridedRef,
  ghRef: StridedRef,
  bRef: StridedRef | null,
  hRef: StridedRef,
  workspace: boolean,
): GruCellResult {
  const n = gxRef.shape[0] as number;
  const h = hRef.shape[1] as number;
  const dtype = hRef.dtype;
  const [gx, gh, hx] = [gxRef, ghRef, hRef].map(rows) as [Rows, Rows, Rows];
  const b = bRef && rows(bRef);
  const out = allocArrayUninit(n * h, dtype);
  const ws = workspace ? allocArrayUninit(4 * n * h, dtype) : null;
  const simd = dtype === "float32" && isF32(gx, gh, hx, ...(b ? [b] : [])) ? simdMath() : undefined;
  if (simd) {
    // Heap layout (floats): gx, gh [n, 3, hp], b [3, hp], h, h' [n, hp], ws [n, 4, hp].
    const hp = (h + 3) & ~3;
    const at = { gx: 0, gh: 3 * n * hp, b: 6 * n * hp, h: 6 * n * hp + 3 * hp, h2: 7 * n * hp + 3 * hp, ws: 8 * n * hp + 3 * hp };
    const heap = simd.heap(at.ws + (ws ? 4 * n * hp : 0));
    pack(heap, at.gx, gx, n, 3, h, hp);
    pack(heap, at.gh, gh, n, 3, h, hp);
    if (b) pack(heap, at.b, b, 1, 3, h, hp);
    pack(heap, at.h, hx, n, 1, h, hp);
    const ptr = (i: number) => HEAP_BASE + 4 * i;
    simd.gruCell(ptr(at.gx), ptr(at.gh), b ? ptr(at.b) : 0, ptr(at.h), ptr(at.h2), ws ? ptr(at.ws) : 0, n, hp);
    unpack(out as Float32Array, 0, heap, at.h2, n, 1, h, hp);
    if (ws) unpack(ws as Float32Array, 0, heap, at.ws, n, 4, h, hp);
  } else {
    const round = dtype === "float32" ? Math.fround : (v: number) => v;
    for (let r = 0; r < n; r++) {
      const px = gx.o + r * 3 * h;
      const pg = gh.o + r * 3 * h;
      for (let j = 0; j < h; j++) {
        const hid = (k: number) => {
          const v = gh.a[pg + k * h + j] as number;
          return b ? round(v + (b.a[b.o + k * h + j] as number)) : v;
        };
        const hn = hid(2);
        const rg = round(sigmoid(round((gx.a[px + j] as number) + hid(0))));
        const z = round(sigmoid(round((gx.a[px + h + j] as number) + hid(1))));
        const ng = round(tanh(round((gx.a[px + 2 * h + j] as number) + round(rg * hn))));
        out[r * h + j] = ng + round(z * round((hx.a[hx.o + r * h + j] as number) - ng));
        if (ws) {
          const w = r * 4 * h + j;
          ws[w] = rg;
          ws[w + h] = z;
          ws[w + 2 * h] = ng;
          ws[w + 3 * h] = hn;
        }
      }
    }
  }
  for (const x of [gx, gh, hx, b]) x?.done();
  return { h: finalize(out, dtype), workspace: ws && finalize(ws, dtype) };
}

/**
 * With gn = g (1 - z) (1 - n^2): gx = [gr, gz, gn], gh = [gr, gz, gn r] where gr = gn gh_n r (1 - r)
 * and gz = g (h - n) z (1 - z); h's gradient g z.
 */
export function gruCellBackward(gRef: StridedRef, hRef: StridedRef, wsRef: StridedRef): GruCellGrads {
  const n = hRef.shape[0] as number;
  const h = hRef.shape[1] as number;
  const dtype = hRef.dtype;
  const [g, hx, ws] = [gRef, hRef, wsRef].map(rows) as [Rows, Rows, Rows];
  const gx = allocArrayUninit(3 * n * h, dtype);
  const gh = allocArrayUninit(3 * n * h, dtype);
  const gprev = allocArrayUninit(n * h, dtype);
  gruBackwardRows(n, h, ws.a, ws.o, g.a, g.o, hx.a, hx.o, gx, gh, gprev);
  for (const x of [g, hx, ws]) x.done();
  return { gx: finalize(gx, dtype), gh: finalize(gh, dtype), h: finalize(gprev, dtype) };
}

/** gruCellBackward's loop, on plain arrays and offsets (see lstmBackwardRows). */
function gruBackwardRows(
  n: number,
  h: number,
  w: HostArray,
  wo: number,
  ag: HostArray,
  og: number,
  ah: HostArray,
  oh: number,
  gx: HostArray,
  gh: HostArray,
  gprev: HostArray,
): void {
  for (let r = 0; r < n; r++) {
    const pw = wo + r * 4 * h;
    const pg = r * 3 * h;
    for (let j = 0; j < h; j++) {
      const q = r * h + j;
      const rg = w[pw + j] as number;
      const z = w[pw + h + j] as number;
      const ng = w[pw + 2 * h + j] as number;
      const hn = w[pw + 3 * h + j] as number;
      const d = ag[og + q] as number;
      const dn = d * (1 - z) * (1 - ng * ng);
      const dr = dn * hn * rg * (1 - rg);
      const dz = d * ((ah[oh + q] as number) - ng) * z * (1 - z);
      gx[pg + j] = dr;
      gx[pg + h + j] = dz;
      gx[pg + 2 * h + j] = dn;
      gh[pg + j] = dr;
      gh[pg + h + j] = dz;
      gh[pg + 2 * h + j] = dn * rg;
      gprev[q] = d * z;
    }
  }
}
