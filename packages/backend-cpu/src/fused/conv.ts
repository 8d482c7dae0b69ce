import type { HostArray, StridedRef, WindowGeometry } from "@dl/tensor";
import { allocArray, allocArrayUninit, finalize } from "../storage.js";

/** The first t >= 0 with start + t * step >= 0 (step > 0). */
const from = (start: number, step: number) => (start >= 0 ? 0 : Math.ceil(-start / step));
/** The first t with start + t * step >= limit (step > 0). */
const until = (start: number, step: number, limit: number) => Math.max(0, Math.ceil((limit - start) / step));

/**
 * im2col in one pass over the output, in memory order. Each logical dim [n, c, i, j, oh, ow]
 * moves the source by an offset (n, c) or the window's row/column (i, oh / j, ow); each run of the
 * innermost dim is zeros, a strided copy, zeros.
 */
export function im2col(x: StridedRef, g: WindowGeometry, order: readonly number[]): HostArray {
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  const pick = (v: number[]) => order.map((d) => v[d] as number);
  const S = pick([g.n, g.c, g.kh, g.kw, g.ho, g.wo]);
  const O = pick([sN, sC, 0, 0, 0, 0]);
  const R = pick([0, 0, g.dh, 0, g.sh, 0]);
  const C = pick([0, 0, 0, g.dw, 0, g.sw]);
  const total = S.reduce((a, b) => a * b, 1);
  const out = allocArrayUninit(total, x.dtype);
  if (total === 0) return out;
  const src = x.data as HostArray;
  const n5 = S[5] as number;
  const r5 = R[5] as number;
  const c5 = C[5] as number;
  const step = (O[5] as number) + r5 * sH + c5 * sW;
  const [S0, S1, S2, S3, S4] = S as [number, number, number, number, number];
  const [O0, O1, O2, O3, O4] = O as [number, number, number, number, number];
  const [R0, R1, R2, R3, R4] = R as [number, number, number, number, number];
  const [C0, C1, C2, C3, C4] = C as [number, number, number, number, number];
  let p = 0;
  for (let a = 0; a < S0; a++)
    for (let b = 0; b < S1; b++)
      for (let c = 0; c < S2; c++)
        for (let d = 0; d < S3; d++)
          for (let e = 0; e < S4; e++, p += n5) {
            const row = a * R0 + b * R1 + c * R2 + d * R3 + e * R4 - g.pt;
            const col = a * C0 + b * C1 + c * C2 + d * C3 + e * C4 - g.pl;
            let lo = 0;
            let hi = n5;
            if (r5 === 0) {
              if (row < 0 || row >= g.h) hi = 0;
            } else {
              lo = from(row, r5);
              hi = Math.min(hi, until(row, r5, g.h));
            }
            if (c5 === 0) {
              if (col < 0 || col >= g.w) hi = 0;
            } else {
              lo = Math.max(lo, from(col, c5));
              hi = Math.min(hi, until(col, c5, g.w));
            }
            if (hi < lo) hi = lo;
            let t = 0;
            for (; t < lo; t++) out[p + t] = 0;
            let q = x.offset + a * O0 + b * O1 + c * O2 + d * O3 + e * O4 + row * sH + col * sW + lo * step;
            for (; t < hi; t++, q += step) out[p + t] = src[q] as number;
            for (; t < n5; t++) out[p + t] = 0;
          }
  return out;
}

/** col2im: every window tap added into its input pixel (taps in the padding dropped). */
export function col2im(cols: StridedRef, g: WindowGeometry): HostArray {
  const out = allocArray(g.n * g.c * g.h * g.w, cols.dtype);
  const src = cols.data as HostArray;
  const [s0, s1, s2, s3, s4, s5] = cols.strides as [number, number, number, number, number, number];
  for (let n = 0; n < g.n; n++) {
    for (let c = 0; c < g.c; c++) {
      const plane = (n * g.c + c) * g.h * g.w;
      for (let i = 0; i < g.kh; i++) {
        for (let j = 0; j < g.kw; j++) {
          const col0 = j * g.dw - g.pl;
          const lo = from(col0, g.sw);
          const hi = Math.max(lo, Math.min(g.wo, until(col0, g.sw, g.w)));
          for (let y = 0; y < g.ho; y++) {
            const r = y * g.sh + i * g.dh - g.pt;
            if (r < 0 || r >= g.h) continue;
            let q = cols.offset + n * s0 + c * s1 + i * s2 + j * s3 + y * s4 + lo * s5;
            let o = plane + r * g.w + col0 + lo * g.sw;
            for (let t = lo; t < hi; t++, q += s5, o += g.sw) out[o] = (out[o] as number) + (src[q] as number);
          }
        }
      }
    }
  }
  return finalize(out, cols.dtype);
}
