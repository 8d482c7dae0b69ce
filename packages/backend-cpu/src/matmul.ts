import type { DType, HostArray, StridedRef } from "@dl/tensor";
import { gemmWasm } from "./gemm-wasm.js";
import { allocArray, allocArrayUninit, finalize } from "./storage.js";
import { FN_GEMM_F32, FN_GEMM_F64, type ThreadRunner, threadMinWork, threadRunner } from "./threads/runner.js";

/**
 * Batched matmul, GotoBLAS-style: for each column block of C (NC) and k-block (KC), B is packed
 * into panels NR columns wide; for each row block (MC) A is packed into panels MR rows tall, and a
 * micro-kernel keeps an MR x NR tile of C in registers for the whole k-block. Packing reads any
 * strided view (transposed, sliced, broadcast) and zero-pads ragged edges, so kernels see only
 * full tiles.
 *
 * Kernels (same packed layout, offsets in bytes):
 * - WebAssembly SIMD (wasm/gemm.wat): float32 data in f32x4 (4x8 tiles, float32 accumulation as
 *   PyTorch's BLAS and TensorFlow.js do), everything else in f64x2 (4x4 tiles, float64).
 * - A plain-JS 4x4 float64 kernel where WebAssembly SIMD is unavailable.
 * float16/bfloat16 compute in float32 and round once at the end; int32/int64 accumulate in float64
 * (exact while sums stay within 2^53).
 */

interface Kernel {
  /** Bytes per element, tile rows, tile columns. */
  readonly E: 4 | 8;
  readonly MR: 4;
  readonly NR: 4 | 8;
  run(ap: number, bp: number, c: number, mp: number, np: number, kc: number, ldc: number): void;
  /** The kernel's index in the thread pool's table (threads/runner.ts). */
  readonly fn: number;
}

interface Engine {
  readonly name: "wasm" | "js";
  /** Kernel for float32/float16/bfloat16 data and for everything else. */
  readonly f32: Kernel;
  readonly f64: Kernel;
  /** The workspace, at least `bytes` long (may move: take views after calling). */
  workspace(bytes: number): ArrayBuffer;
}

const KC = 256; // k-block: one B panel (KC x NR) stays in L1 while a row block of A streams past
const MC = 96; // row block: MC x KC of A (96-192 KiB) stays in L2
const C_BUDGET = 8 << 20; // bytes of C held at once; wider products are done in column blocks
const B_BUDGET = 4 << 20; // bytes of one packed B block (KC x NC), so that it stays in L2/L3

type KernelFn = (ap: number, bp: number, c: number, mp: number, np: number, kc: number, ldc: number) => void;

function wasmEngine(): Engine | undefined {
  try {
    const bytes = Uint8Array.from(atob(gemmWasm), (c) => c.charCodeAt(0));
    // validate() is false where WebAssembly SIMD is not supported.
    if (typeof WebAssembly !== "object" || !WebAssembly.validate(bytes)) return undefined;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { gemm: { memory } }).exports;
    return {
      name: "wasm",
      f32: { E: 4, MR: 4, NR: 8, run: exports.gemm_f32 as KernelFn, fn: FN_GEMM_F32 },
      f64: { E: 8, MR: 4, NR: 4, run: exports.gemm_f64 as KernelFn, fn: FN_GEMM_F64 },
      workspace(bytes) {
        const have = memory.buffer.byteLength;
        if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
        return memory.buffer;
      },
    };
  } catch {
    return undefined; // no WebAssembly, or a sandbox that forbids compiling it
  }
}

function jsEngine(): Engine {
  let buffer = new ArrayBuffer(1 << 16);
  let w = new Float64Array(buffer);
  const f64: Kernel = {
    E: 8,
    MR: 4,
    NR: 4,
    fn: -1,
    run: (ap, bp, c, mp, np, kc, ldc) => gemmJs(w, ap >> 3, bp >> 3, c >> 3, mp, np, kc, ldc >> 3),
  };
  return {
    name: "js",
    f32: f64,
    f64,
    workspace(bytes) {
      if (bytes > buffer.byteLength) {
        buffer = new ArrayBuffer(Math.max(bytes, buffer.byteLength * 2));
        w = new Float64Array(buffer);
      }
      return buffer;
    },
  };
}

/**
 * The JS micro-kernel: C[mp*4, np*4] += Ap Bp over one packed block (offsets in elements). Sixteen
 * scalar accumulators; V8 keeps most in registers, which is what makes this ~3x a naive loop.
 */
function gemmJs(w: Float64Array, ap: number, bp: number, c: number, mp: number, np: number, kc: number, ldc: number): void {
  for (let jr = 0; jr < np; jr++) {
    for (let ir = 0; ir < mp; ir++) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let pa = ap + ir * kc * 4;
      let pb = bp + jr * kc * 4;
      for (let k = 0; k < kc; k++, pa += 4, pb += 4) {
        const b0 = w[pb] as number,
          b1 = w[pb + 1] as number,
          b2 = w[pb + 2] as number,
          b3 = w[pb + 3] as number;
        let a = w[pa] as number;
        c00 += a * b0;
        c01 += a * b1;
        c02 += a * b2;
        c03 += a * b3;
        a = w[pa + 1] as number;
        c10 += a * b0;
        c11 += a * b1;
        c12 += a * b2;
        c13 += a * b3;
        a = w[pa + 2] as number;
        c20 += a * b0;
        c21 += a * b1;
        c22 += a * b2;
        c23 += a * b3;
        a = w[pa + 3] as number;
        c30 += a * b0;
        c31 += a * b1;
        c32 += a * b2;
        c33 += a * b3;
      }
      let r = c + ir * 4 * ldc + jr * 4;
      w[r] += c00;
      w[r + 1] += c01;
      w[r + 2] += c02;
      w[r + 3] += c03;
      r += ldc;
      w[r] += c10;
      w[r + 1] += c11;
      w[r + 2] += c12;
      w[r + 3] += c13;
      r += ldc;
      w[r] += c20;
      w[r + 1] += c21;
      w[r + 2] += c22;
      w[r + 3] += c23;
      r += ldc;
      w[r] += c30;
      w[r + 1] += c31;
      w[r + 2] += c32;
      w[r + 3] += c33;
    }
  }
}

let engine: Engine | undefined;
let forced: "wasm" | "js" | undefined;

function getEngine(): Engine {
  if (!engine) engine = (forced !== "js" && wasmEngine()) || jsEngine();
  return engine;
}

/** Which kernels matmul uses: "auto" (WebAssembly SIMD when available) or "js". For tests and benchmarks. */
export function setMatmulEngine(which: "auto" | "js"): void {
  forced = which === "js" ? "js" : undefined;
  engine = undefined;
}

/** The kernels in use: "wasm" (WebAssembly SIMD) or "js". */
export function matmulEngine(): "wasm" | "js" {
  return getEngine().name;
}

type View = Float32Array | Float64Array;

/**
 * Packs rows [0, rows) x cols [0, kc) of a strided matrix into panels of 4 rows (k-major: the 4
 * values of one k are adjacent), zero-padding to mc rows. Full panels read 4 rows at once.
 */
function packA(src: HostArray, off: number, rs: number, cs: number, rows: number, mc: number, kc: number, dst: View, d: number): void {
  for (let i = 0; i < mc; i += 4) {
    let p0 = off + i * rs;
    if (i + 4 <= rows) {
      let p1 = p0 + rs,
        p2 = p1 + rs,
        p3 = p2 + rs;
      for (let k = 0; k < kc; k++, d += 4, p0 += cs, p1 += cs, p2 += cs, p3 += cs) {
        dst[d] = src[p0] as number;
        dst[d + 1] = src[p1] as number;
        dst[d + 2] = src[p2] as number;
        dst[d + 3] = src[p3] as number;
      }
    } else {
      for (let k = 0; k < kc; k++, d += 4, p0 += cs) {
        for (let ii = 0, p = p0; ii < 4; ii++, p += rs) dst[d + ii] = i + ii < rows ? (src[p] as number) : 0;
      }
    }
  }
}

/** Packs rows [0, kc) x cols [0, cols) into panels of NR (4 or 8) columns (k-major), zero-padding to ncp columns. */
function packB(
  src: HostArray,
  off: number,
  rs: number,
  cs: number,
  kc: number,
  cols: number,
  ncp: number,
  NR: number,
  dst: View,
  d: number,
): void {
  const c2 = 2 * cs,
    c3 = 3 * cs,
    c4 = 4 * cs,
    c5 = 5 * cs,
    c6 = 6 * cs,
    c7 = 7 * cs;
  for (let j = 0; j < ncp; j += NR) {
    let p = off + j * cs;
    if (j + NR > cols) {
      const w = cols - j;
      for (let k = 0; k < kc; k++, p += rs) {
        for (let jj = 0, q = p; jj < NR; jj++, q += cs) dst[d++] = jj < w ? (src[q] as number) : 0;
      }
    } else if (NR === 8) {
      for (let k = 0; k < kc; k++, p += rs, d += 8) {
        dst[d] = src[p] as number;
        dst[d + 1] = src[p + cs] as number;
        dst[d + 2] = src[p + c2] as number;
        dst[d + 3] = src[p + c3] as number;
        dst[d + 4] = src[p + c4] as number;
        dst[d + 5] = src[p + c5] as number;
        dst[d + 6] = src[p + c6] as number;
        dst[d + 7] = src[p + c7] as number;
      }
    } else {
      for (let k = 0; k < kc; k++, p += rs, d += 4) {
        dst[d] = src[p] as number;
        dst[d + 1] = src[p + cs] as number;
        dst[d + 2] = src[p + c2] as number;
        dst[d + 3] = src[p + c3] as number;
      }
    }
  }
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * out[outOff..] (row-major M x N) = A[M,K] B[K,N] (or += with `accumulate`) for strided A and B
 * (offset, row stride, column stride each).
 */
function gemmStrided(
  k: Kernel,
  ws: Engine,
  da: HostArray,
  aOff: number,
  ars: number,
  acs: number,
  db: HostArray,
  bOff: number,
  brs: number,
  bcs: number,
  out: HostArray,
  outOff: number,
  M: number,
  K: number,
  N: number,
  accumulate = false,
): void {
  const r = threadRunner;
  if (r && k.fn >= 0 && M * N * K >= threadMinWork && r.threads() > 1) {
    gemmThreaded(r, k, da, aOff, ars, acs, db, bOff, brs, bcs, out, outOff, M, K, N, accumulate);
    return;
  }
  const { E, MR, NR } = k;
  const Mp = roundUp(M, MR);
  const Np = roundUp(N, NR);
  const kcMax = Math.min(K, KC);
  // Column block: the whole width when C and the packed B fit their budgets. The workspace (wasm
  // memory never shrinks) thus stays near C_BUDGET + B_BUDGET for any shape.
  const ncFit = Math.min(C_BUDGET / (Mp * E), B_BUDGET / (kcMax * E));
  const nc = Math.min(Np, Math.max(NR, Math.floor(ncFit / NR) * NR));
  const mcMax = Math.min(Mp, MC);
  // Workspace: [A block | B block | C panel], 16-byte aligned (every size is a multiple of 16).
  const apB = 0;
  const bpB = apB + mcMax * kcMax * E;
  const cB = bpB + kcMax * nc * E;
  const buf = ws.workspace(cB + Mp * nc * E);
  const view: View = E === 4 ? new Float32Array(buf) : new Float64Array(buf);
  const cE = cB / E;
  for (let jc = 0; jc < N; jc += nc) {
    const ncur = Math.min(nc, N - jc);
    const ncp = roundUp(ncur, NR);
    const ldc = ncp * E;
    view.fill(0, cE, cE + Mp * ncp);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      packB(db, bOff + pc * brs + jc * bcs, brs, bcs, kc, ncur, ncp, NR, view, bpB / E);
      for (let ic = 0; ic < Mp; ic += MC) {
        const mc = Math.min(MC, Mp - ic);
        packA(da, aOff + ic * ars + pc * acs, ars, acs, Math.min(mc, M - ic), mc, kc, view, apB / E);
        k.run(apB, bpB, cB + ic * ldc, mc / MR, ncp / NR, kc, ldc);
      }
    }
    // Copy the valid part of the C panel out (converting to out's element type). One set() when
    // the panel rows are exactly out's rows; else a loop (subarray() per row costs ~1 us).
    if (!accumulate && ncp === N) out.set(view.subarray(cE, cE + M * N), outOff);
    else {
      for (let i = 0, src = cE, dst = outOff + jc; i < M; i++, src += ncp, dst += N) {
        if (accumulate) for (let j = 0; j < ncur; j++) out[dst + j] += view[src + j] as number;
        else for (let j = 0; j < ncur; j++) out[dst + j] = view[src + j] as number;
      }
    }
  }
}

const A_BUDGET = 4 << 20; // bytes of packed A per job (threaded path)

/**
 * gemmStrided on the thread pool (threads/): the same blocks, packing and kernel calls, with the
 * kernel calls of each k-block handed out as tasks of (row block, column panels). Every C element
 * is still summed by one kernel call per k-block, in k order, so the bits do not depend on the
 * number of threads. The packing and the copy out stay on the calling thread (they read and write
 * JS arrays); the first k-block's calls store C instead of adding to it (no zero fill).
 */
function gemmThreaded(
  r: ThreadRunner,
  k: Kernel,
  da: HostArray,
  aOff: number,
  ars: number,
  acs: number,
  db: HostArray,
  bOff: number,
  brs: number,
  bcs: number,
  out: HostArray,
  outOff: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
): void {
  const { E, MR, NR } = k;
  const Mp = roundUp(M, MR);
  const Np = roundUp(N, NR);
  const kcMax = Math.min(K, KC);
  const ncFit = Math.min(C_BUDGET / (Mp * E), B_BUDGET / (kcMax * E));
  const nc = Math.min(Np, Math.max(NR, Math.floor(ncFit / NR) * NR));
  // Rows in groups of whole MC blocks whose packed A fits A_BUDGET: one job per (k-block, group).
  const mg = Math.min(Mp, Math.max(MC, Math.floor(A_BUDGET / (kcMax * E) / MC) * MC));
  // Two A groups and two B blocks: the calling thread packs the next step while the workers
  // start on this one.
  const aBytes = mg * kcMax * E;
  const bBytes = kcMax * nc * E;
  const apB = [0, aBytes];
  const bpB = [2 * aBytes, 2 * aBytes + bBytes];
  const cB = 2 * aBytes + 2 * bBytes;
  const end = cB + Mp * nc * E;
  const buf = r.reserve(end);
  // Views of a shared memory stay valid when it grows (job commands go after `end`).
  const view: View = E === 4 ? new Float32Array(buf) : new Float64Array(buf);
  const cE = cB / E;
  const threads = r.threads();
  const steps: [number, number][] = [];
  for (let pc = 0; pc < K; pc += KC) for (let ig = 0; ig < Mp; ig += mg) steps.push([pc, ig]);
  for (let jc = 0; jc < N; jc += nc) {
    const ncur = Math.min(nc, N - jc);
    const ncp = roundUp(ncur, NR);
    const ldc = ncp * E;
    const panels = ncp / NR;
    const chunk = Math.max(1, Math.ceil(panels / (2 * threads)));
    // Step s packs A into buffer s & 1 and B (once per k-block) into buffer (pc / KC) & 1.
    const prepare = (s: number) => {
      const [pc, ig] = steps[s] as [number, number];
      const kc = Math.min(KC, K - pc);
      if (ig === 0) packB(db, bOff + pc * brs + jc * bcs, brs, bcs, kc, ncur, ncp, NR, view, (bpB[(pc / KC) & 1] as number) / E);
      for (let ic = ig; ic < Math.min(Mp, ig + mg); ic += MC) {
        const mc = Math.min(MC, Mp - ic);
        packA(
          da,
          aOff + ic * ars + pc * acs,
          ars,
          acs,
          Math.min(mc, M - ic),
          mc,
          kc,
          view,
          ((apB[s & 1] as number) + (ic - ig) * kc * E) / E,
        );
      }
    };
    prepare(0);
    for (let s = 0; s < steps.length; s++) {
      const [pc, ig] = steps[s] as [number, number];
      const kc = Math.min(KC, K - pc);
      const bp = bpB[(pc / KC) & 1] as number;
      const job = r.job(end);
      for (let ic = ig; ic < Math.min(Mp, ig + mg); ic += MC) {
        const mc = Math.min(MC, Mp - ic);
        const ap = (apB[s & 1] as number) + (ic - ig) * kc * E;
        for (let j0 = 0; j0 < panels; j0 += chunk) {
          job.task();
          job.call(
            k.fn,
            0,
            ap,
            bp + j0 * kc * NR * E,
            cB + ic * ldc + j0 * NR * E,
            mc / MR,
            Math.min(chunk, panels - j0),
            kc,
            ldc,
            pc === 0 ? 1 : 0,
          );
        }
      }
      job.start();
      if (s + 1 < steps.length) prepare(s + 1);
      job.finish();
    }
    if (!accumulate && ncp === N) out.set(view.subarray(cE, cE + M * N), outOff);
    else {
      for (let i = 0, src = cE, dst = outOff + jc; i < M; i++, src += ncp, dst += N) {
        if (accumulate) for (let j = 0; j < ncur; j++) out[dst + j] += view[src + j] as number;
        else for (let j = 0; j < ncur; j++) out[dst + j] = view[src + j] as number;
      }
    }
  }
}

/** C[M,N] (at cOff) += A[M,K] B[K,N] on contiguous row-major arrays; float32 C accumulates in float32. */
export function gemm(a: HostArray, b: HostArray, c: HostArray, cOff: number, M: number, K: number, N: number): void {
  if (M === 0 || N === 0 || K === 0) return;
  const ws = getEngine();
  gemmStrided(c instanceof Float32Array ? ws.f32 : ws.f64, ws, a, 0, K, 1, b, 0, N, 1, c, cOff, M, K, N, true);
}

/**
 * out[outOff..] (row-major M x N) = A B (or += with `accumulate`) for strided A [M,K] and B [K,N]
 * (offset, row stride, column stride each); computes in float32 when out is a Float32Array.
 * For fused kernels that multiply blocks of larger operands.
 */
export function gemmView(
  a: HostArray,
  aOff: number,
  ars: number,
  acs: number,
  b: HostArray,
  bOff: number,
  brs: number,
  bcs: number,
  out: HostArray,
  outOff: number,
  M: number,
  K: number,
  N: number,
  accumulate = false,
): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!accumulate) out.fill(0, outOff, outOff + M * N);
    return;
  }
  const ws = getEngine();
  gemmStrided(out instanceof Float64Array ? ws.f64 : ws.f32, ws, a, aOff, ars, acs, b, bOff, brs, bcs, out, outOff, M, K, N, accumulate);
}

const computesIn32 = (dtype: DType) => dtype === "float32" || dtype === "float16" || dtype === "bfloat16";

/** Batched [B,M,K] x [B,K,N] -> contiguous [B,M,N]; batch strides may be 0 (broadcast). */
export function matmul(a: StridedRef, b: StridedRef, dtype: DType): HostArray {
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2] as number;
  // Every element is stored by gemmStrided's copy-out (non-accumulating), except for K = 0.
  const out = K === 0 ? allocArray(B * M * N, dtype) : allocArrayUninit(B * M * N, dtype);
  if (B === 0 || M === 0 || N === 0 || K === 0) return out; // empty sum: zeros
  const ws = getEngine();
  const k = computesIn32(dtype) ? ws.f32 : ws.f64;
  const da = a.data as HostArray;
  const db = b.data as HostArray;
  const [sab, sam, sak] = a.strides as [number, number, number];
  const [sbb, sbk, sbn] = b.strides as [number, number, number];
  if (B > 1 && sbb === 0 && sab === M * sam) {
    // One B for every batch and A's batches evenly spaced rows: a single [B*M, K] x [K, N] product.
    gemmStrided(k, ws, da, a.offset, sam, sak, db, b.offset, sbk, sbn, out, 0, B * M, K, N);
  } else {
    const r = threadRunner;
    const each = M * N * K;
    let bi = 0;
    if (r && k.fn >= 0 && each < threadMinWork && B * each >= threadMinWork && r.threads() > 1) {
      // Many small products (attention's batched matmuls): one task per product.
      bi = gemmBatchedThreaded(r, k, da, a.offset, sab, sam, sak, db, b.offset, sbb, sbk, sbn, out, B, M, K, N);
    }
    for (; bi < B; bi++) {
      gemmStrided(k, ws, da, a.offset + bi * sab, sam, sak, db, b.offset + bi * sbb, sbk, sbn, out, bi * M * N, M, K, N);
    }
  }
  return finalize(out, dtype);
}

const BATCH_BUDGET = 16 << 20; // bytes of packed operands and results per job (batched products)

/**
 * Batched small products on the thread pool: the calling thread packs every product's A and B
 * (all k-blocks) for a group of batches, one task per product runs its kernel calls (k-blocks in
 * order, the first storing), and the calling thread copies the results out. The same kernel calls
 * per C element as gemmStrided (one column block: these products are small), so the same bits.
 * Returns the number of batches done (all, unless one product alone exceeds the budget).
 */
function gemmBatchedThreaded(
  r: ThreadRunner,
  k: Kernel,
  da: HostArray,
  aOff: number,
  sab: number,
  ars: number,
  acs: number,
  db: HostArray,
  bOff: number,
  sbb: number,
  brs: number,
  bcs: number,
  out: HostArray,
  B: number,
  M: number,
  K: number,
  N: number,
): number {
  const { E, MR, NR } = k;
  const Mp = roundUp(M, MR);
  const Np = roundUp(N, NR);
  const per = (Mp * K + K * Np + Mp * Np) * E; // packed A, packed B, C
  const G = Math.min(B, Math.floor(BATCH_BUDGET / per));
  if (G < 1) return 0;
  const end = G * per;
  const view: View = E === 4 ? new Float32Array(r.reserve(end)) : new Float64Array(r.reserve(end));
  const ldc = Np * E;
  for (let b0 = 0; b0 < B; b0 += G) {
    const gn = Math.min(G, B - b0);
    const job = r.job(end);
    for (let i = 0; i < gn; i++) {
      const at = i * per; // bytes: [A: k-blocks of Mp x kc | B: k-blocks of kc x Np | C]
      const aB = at;
      const bB = at + Mp * K * E;
      const cB = bB + K * Np * E;
      const ab = aOff + (b0 + i) * sab;
      const bb = bOff + (b0 + i) * sbb;
      job.task();
      for (let pc = 0; pc < K; pc += KC) {
        const kc = Math.min(KC, K - pc);
        packB(db, bb + pc * brs, brs, bcs, kc, N, Np, NR, view, (bB + pc * Np * E) / E);
        for (let ic = 0; ic < Mp; ic += MC) {
          const mc = Math.min(MC, Mp - ic);
          const ap = aB + (pc * Mp + ic * kc) * E;
          packA(da, ab + ic * ars + pc * acs, ars, acs, Math.min(mc, M - ic), mc, kc, view, ap / E);
          job.call(k.fn, 0, ap, bB + pc * Np * E, cB + ic * ldc, mc / MR, Np / NR, kc, ldc, pc === 0 ? 1 : 0);
        }
      }
    }
    job.run();
    for (let i = 0; i < gn; i++) {
      const c = (i * per + (Mp * K + K * Np) * E) / E;
      const dst = (b0 + i) * M * N;
      if (Np === N) out.set(view.subarray(c, c + M * N), dst);
      else for (let m = 0; m < M; m++) for (let j = 0; j < N; j++) out[dst + m * N + j] = view[c + m * Np + j] as number;
    }
  }
  return B;
}
