import type { HostArray, StridedRef, WindowGeometry } from "@dl/tensor";
import { allocArray, allocArrayUninit, finalize } from "../storage.js";

/** First row (or column) at or after `start`, in steps of `d`, that is not in the padding. */
const firstInside = (start: number, d: number) => (start >= 0 ? start : start + Math.ceil(-start / d) * d);

/**
 * Max pooling: per window, the first maximum in row-major order (a NaN beats any number; the first
 * NaN wins), starting from -inf at the window's first position inside the input.
 */
export function maxPool2d(x: StridedRef, g: WindowGeometry): { values: HostArray; indices: HostArray } {
  const total = g.n * g.c * g.ho * g.wo;
  const values = allocArrayUninit(total, x.dtype);
  const indices = allocArrayUninit(total, "int64");
  const src = x.data as HostArray;
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  let o = 0;
  for (let n = 0; n < g.n; n++) {
    for (let c = 0; c < g.c; c++) {
      const base = x.offset + n * sN + c * sC;
      for (let y = 0; y < g.ho; y++) {
        const r0 = y * g.sh - g.pt;
        const rFirst = firstInside(r0, g.dh);
        for (let z = 0; z < g.wo; z++, o++) {
          const c0 = z * g.sw - g.pl;
          let best = Number.NEGATIVE_INFINITY;
          let at = rFirst * g.w + firstInside(c0, g.dw);
          for (let i = 0, r = r0; i < g.kh; i++, r += g.dh) {
            if (r < 0 || r >= g.h) continue;
            for (let j = 0, k = c0; j < g.kw; j++, k += g.dw) {
              if (k < 0 || k >= g.w) continue;
              const v = src[base + r * sH + k * sW] as number;
              if (v > best || (v !== v && best === best)) {
                best = v;
                at = r * g.w + k;
              }
            }
          }
          values[o] = best;
          indices[o] = at;
        }
      }
    }
  }
  return { values, indices };
}

/** Max pooling's input gradient: each window's grad added at its argmax. */
export function maxPool2dBackward(grad: StridedRef, indices: StridedRef, g: WindowGeometry): HostArray {
  const hw = g.h * g.w;
  const out = allocArray(g.n * g.c * hw, grad.dtype);
  const gv = grad.data as HostArray;
  const iv = indices.data as HostArray;
  const [gN, gC, gH, gW] = grad.strides as [number, number, number, number];
  const [iN, iC, iH, iW] = indices.strides as [number, number, number, number];
  for (let n = 0; n < g.n; n++) {
    for (let c = 0; c < g.c; c++) {
      const plane = (n * g.c + c) * hw;
      for (let y = 0; y < g.ho; y++) {
        let p = grad.offset + n * gN + c * gC + y * gH;
        let q = indices.offset + n * iN + c * iC + y * iH;
        for (let z = 0; z < g.wo; z++, p += gW, q += iW) {
          const o = plane + (iv[q] as number);
          out[o] = (out[o] as number) + (gv[p] as number);
        }
      }
    }
  }
  return finalize(out, grad.dtype);
}
