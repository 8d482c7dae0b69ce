import type { HostArray, StridedRef, WindowGeometry } from "@dl/tensor";
import { allocArray, allocArrayUninit, finalize } from "../storage.js";

/** The t in [0, n) with 0 <= start + t * step < limit, as [lo, hi). */
function span(start: number, step: number, limit: number, n: number): [number, number] {
  if (step === 0) return start >= 0 && start < limit ? [0, n] : [0, 0];
  const lo = Math.max(0, Math.ceil(-start / step));
  return [lo, Math.max(lo, Math.min(n, Math.ceil((limit - start) / step)))];
}

/**
 * im2col in one pass over the output, in memory order. Each logical dim [n, c, i, j, oh, ow]
 * moves the source by an offset (n, c) or the window's row/column (i, oh / j, ow); the innermost
 * dim is a strided copy between two runs of zeros.
 */
export function im2col(x: StridedRef, g: WindowGeometry, order: readonly number[]): HostArray {
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  const sizes = [g.n, g.c, g.kh, g.kw, g.ho, g.wo];
  const dOff = [sN, sC, 0, 0, 0, 0];
  const dRow = [0, 0, g.dh, 0, g.sh, 0];
  const dCol = [0, 0, 0, g.dw, 0, g.sw];
  const S = order.map((d) => sizes[d] as number);
  const O = order.map((d) => dOff[d] as number);
  const R = order.map((d) => dRow[d] as number);
  const C = order.map((d) => dCol[d] as number);
  const total = S.reduce((a, b) => a * b, 1);
  const out = allocArrayUninit(total, x.dtype);
  if (total === 0) return out;
  const src = x.data as HostArray;
  const n5 = S[5] as number;
  const step = (O[5] as number) + (R[5] as number) * sH + (C[5] as number) * sW;
  const at = [0, 0, 0, 0, 0];
  let off = x.offset;
  let row = -g.pt;
  let col = -g.pl;
  for (let p = 0; p < total; p += n5) {
    const [rl, rh] = span(row, R[5] as number, g.h, n5);
    const [cl, ch] = span(col, C[5] as number, g.w, n5);
    const lo = Math.max(rl, cl);
    const hi = Math.max(lo, Math.min(rh, ch));
    out.fill(0, p, p + lo);
    for (let t = lo, q = off + row * sH + col * sW + lo * step; t < hi; t++, q += step) out[p + t] = src[q] as number;
    out.fill(0, p + hi, p + n5);
    for (let d = 4; d >= 0; d--) {
      off += O[d] as number;
      row += R[d] as number;
      col += C[d] as number;
      if (++(at[d] as number) < (S[d] as number)) break;
      at[d] = 0;
      off -= (O[d] as number) * (S[d] as number);
      row -= (R[d] as number) * (S[d] as number);
      col -= (C[d] as number) * (S[d] as number);
    }
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
          const [lo, hi] = span(col0, g.sw, g.w, g.wo);
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
