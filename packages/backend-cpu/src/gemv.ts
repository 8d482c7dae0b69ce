import { gemvWasm } from "./gemv-wasm.js";

/**
 * Products with a few rows of A (float32): a language model's decoding step multiplies one token's
 * activations by every weight matrix, so each weight is read once per row of A. The GEMM path packs
 * all of B into panels first (a second full pass, and 3 of its kernel's 4 rows are padding);
 * here B is copied block by block into this module's memory and consumed at once (wasm/gemv.wat):
 * dot products when B is a transposed row-major matrix (nn.Linear's weight: x @ W^T), row updates
 * when B is row-major (GPT-2's Conv1D: x @ W). One thread: the copy, which bounds these products, is
 * on the calling thread in either case, and the results do not depend on the thread count.
 */

/** Rows of A up to which the matrix-vector kernels are used. */
export const GEMV_MAX_ROWS = 4;
/** Bytes of B copied per kernel call (stays in L2 while the kernel reads it). */
const BLOCK_BYTES = 256 << 10;

type Dot = (a: number, w: number, out: number, rows: number, n: number, K: number, ldo: number) => void;
type Axpy = (a: number, w: number, out: number, rows: number, n: number, kc: number, K: number, ldo: number, first: number) => void;

interface GemvEngine {
  memory: WebAssembly.Memory;
  dot: Dot;
  axpy: Axpy;
}

let engine: GemvEngine | null | undefined;

function getEngine(): GemvEngine | null {
  if (engine !== undefined) return engine;
  engine = null;
  try {
    const bytes = Uint8Array.from(atob(gemvWasm), (c) => c.charCodeAt(0));
    // validate() is false where WebAssembly SIMD is not supported: the GEMM path takes these products.
    if (typeof WebAssembly === "object" && WebAssembly.validate(bytes)) {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
      const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { gemv: { memory } }).exports;
      engine = { memory, dot: exports.dot_f32 as Dot, axpy: exports.axpy_f32 as Axpy };
    }
  } catch {
    engine = null; // no WebAssembly, or a sandbox that forbids compiling it
  }
  return engine;
}

const align4 = (n: number) => (n + 3) & ~3;

function heap(e: GemvEngine, bytes: number): Float32Array {
  const have = e.memory.buffer.byteLength;
  if (bytes > have) e.memory.grow(Math.ceil((bytes - have) / 65536));
  return new Float32Array(e.memory.buffer);
}

/**
 * out[outOff + m * N + j] = sum_k A[m, k] * B[k, j] for m < rows (A and B strided views of float32
 * arrays). Returns false, computing nothing, when B has no unit stride or WebAssembly SIMD is missing.
 */
export function gemvF32(
  da: Float32Array,
  aOff: number,
  ars: number,
  acs: number,
  db: Float32Array,
  bOff: number,
  brs: number,
  bcs: number,
  out: Float32Array,
  outOff: number,
  rows: number,
  K: number,
  N: number,
): boolean {
  const dotForm = brs === 1; // B[k, j] = db[bOff + k + j * bcs]: rows of W^T, contiguous in k
  if (!dotForm && bcs !== 1) return false;
  const e = getEngine();
  if (!e) return false;
  const Kp = align4(K);
  const Np = align4(N);
  // Memory (floats): A [rows, K] | out [rows, Np] | a block of B.
  const aF = 0;
  const oF = rows * Kp;
  const wF = oF + rows * Np;
  if (dotForm) {
    const nb = Math.max(1, Math.floor(BLOCK_BYTES / (4 * K)));
    const mem = heap(e, 4 * (wF + nb * K));
    copyA(mem, da, aOff, ars, acs, rows, K);
    for (let j = 0; j < N; j += nb) {
      const n = Math.min(nb, N - j);
      if (bcs === K) mem.set(db.subarray(bOff + j * K, bOff + (j + n) * K), wF);
      else for (let r = 0; r < n; r++) mem.set(db.subarray(bOff + (j + r) * bcs, bOff + (j + r) * bcs + K), wF + r * K);
      e.dot(4 * aF, 4 * wF, 4 * (oF + j), rows, n, K, Np);
    }
    copyOut(mem, oF, Np, out, outOff, rows, N);
  } else {
    // B[k, j] = db[bOff + k * brs + j]: rows of W, padded to Np columns in the block.
    const kb = Math.max(1, Math.floor(BLOCK_BYTES / (4 * Np)));
    const mem = heap(e, 4 * (wF + kb * Np));
    copyA(mem, da, aOff, ars, acs, rows, K);
    for (let p = 0; p < K; p += kb) {
      const kc = Math.min(kb, K - p);
      if (brs === N && Np === N) mem.set(db.subarray(bOff + p * N, bOff + (p + kc) * N), wF);
      else {
        for (let r = 0; r < kc; r++) {
          const src = bOff + (p + r) * brs;
          mem.set(db.subarray(src, src + N), wF + r * Np);
          mem.fill(0, wF + r * Np + N, wF + (r + 1) * Np);
        }
      }
      e.axpy(4 * (aF + p), 4 * wF, 4 * oF, rows, Np, kc, K, Np, p === 0 ? 1 : 0);
    }
    copyOut(mem, oF, Np, out, outOff, rows, N);
  }
  return true;
}

function copyA(mem: Float32Array, da: Float32Array, aOff: number, ars: number, acs: number, rows: number, K: number): void {
  for (let m = 0; m < rows; m++) {
    const src = aOff + m * ars;
    if (acs === 1) mem.set(da.subarray(src, src + K), m * K);
    else for (let k = 0; k < K; k++) mem[m * K + k] = da[src + k * acs] as number;
  }
}

function copyOut(mem: Float32Array, oF: number, Np: number, out: Float32Array, outOff: number, rows: number, N: number): void {
  for (let m = 0; m < rows; m++) out.set(mem.subarray(oF + m * Np, oF + m * Np + N), outOff + m * N);
}
