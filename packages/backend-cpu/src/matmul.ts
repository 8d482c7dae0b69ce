import type { DType, HostArray, StridedRef } from "@dl/tensor";
import { allocArray, freeArray } from "./storage.js";

/** Copies one [rows, cols] matrix of a strided view into a contiguous array. */
function pack(src: HostArray, offset: number, rows: number, cols: number, rs: number, cs: number, dtype: DType): HostArray {
  const out = allocArray(rows * cols, dtype);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    let p = offset + r * rs;
    for (let c = 0; c < cols; c++, p += cs) out[o++] = src[p] as number;
  }
  return out;
}

const KC = 256; // k-block: a B panel of KC rows stays in cache while 4 rows of C accumulate
const NC = 512; // n-block

/**
 * C[M,N] += A[M,K] B[K,N] on contiguous row-major arrays. Four rows of A are processed together
 * so each B element loaded serves four multiply-adds; k and n are blocked to keep the B panel
 * cache-resident.
 */
export function gemm(a: HostArray, b: HostArray, c: HostArray, cOff: number, M: number, K: number, N: number): void {
  for (let n0 = 0; n0 < N; n0 += NC) {
    const n1 = Math.min(N, n0 + NC);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const k1 = Math.min(K, k0 + KC);
      let i = 0;
      for (; i + 4 <= M; i += 4) {
        const c0 = cOff + i * N;
        const c1 = c0 + N;
        const c2 = c1 + N;
        const c3 = c2 + N;
        const a0 = i * K;
        for (let k = k0; k < k1; k++) {
          const x0 = a[a0 + k] as number;
          const x1 = a[a0 + K + k] as number;
          const x2 = a[a0 + 2 * K + k] as number;
          const x3 = a[a0 + 3 * K + k] as number;
          const bk = k * N;
          for (let j = n0; j < n1; j++) {
            const bv = b[bk + j] as number;
            c[c0 + j] += x0 * bv;
            c[c1 + j] += x1 * bv;
            c[c2 + j] += x2 * bv;
            c[c3 + j] += x3 * bv;
          }
        }
      }
      for (; i < M; i++) {
        const ci = cOff + i * N;
        for (let k = k0; k < k1; k++) {
          const x = a[i * K + k] as number;
          const bk = k * N;
          for (let j = n0; j < n1; j++) c[ci + j] += x * (b[bk + j] as number);
        }
      }
    }
  }
}

/** Batched [B,M,K] x [B,K,N] -> contiguous [B,M,N]. */
export function matmul(a: StridedRef, b: StridedRef, dtype: DType): HostArray {
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2] as number;
  const out = allocArray(B * M * N, dtype);
  const da = a.data as HostArray;
  const db = b.data as HostArray;
  const [sab, sam, sak] = a.strides as [number, number, number];
  const [sbb, sbk, sbn] = b.strides as [number, number, number];
  // Accumulate in float64 for every dtype, then round once.
  const acc = dtype === "float64" ? out : allocArray(M * N, "float64");
  for (let bi = 0; bi < B; bi++) {
    const pa = pack(da, a.offset + bi * sab, M, K, sam, sak, "float64");
    const pb = pack(db, b.offset + bi * sbb, K, N, sbk, sbn, "float64");
    if (acc === out) gemm(pa, pb, out, bi * M * N, M, K, N);
    else {
      acc.fill(0);
      gemm(pa, pb, acc, 0, M, K, N);
      out.set(acc, bi * M * N);
    }
    freeArray(pa);
    freeArray(pb);
  }
  if (acc !== out) freeArray(acc);
  return out;
}
