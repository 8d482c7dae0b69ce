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

/** PyTorch's average-pooling divisor of window (y, z), or `divisor` when non-zero. */
function avgDivisor(g: WindowGeometry, y: number, z: number, countIncludePad: boolean, divisor: number): number {
  if (divisor !== 0) return divisor;
  const r0 = y * g.sh - g.pt;
  const c0 = z * g.sw - g.pl;
  const r1 = Math.min(r0 + g.kh, g.h + g.pt);
  const c1 = Math.min(c0 + g.kw, g.w + g.pl);
  if (countIncludePad) return (r1 - r0) * (c1 - c0);
  const d = Math.max(Math.min(r1, g.h) - Math.max(r0, 0), 0) * Math.max(Math.min(c1, g.w) - Math.max(c0, 0), 0);
  return d === 0 ? 1 : d;
}

/**
 * Average pooling forward (`grad` null: x [N, C, H, W] -> [N, C, ho, wo]) or backward (x is the
 * grad [N, C, ho, wo] -> [N, C, H, W]): the same window walk, summing or spreading.
 */
function avgPool(x: StridedRef, g: WindowGeometry, countIncludePad: boolean, divisor: number, backward: boolean): HostArray {
  const out = allocArray(g.n * g.c * (backward ? g.h * g.w : g.ho * g.wo), x.dtype);
  const src = x.data as HostArray;
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  let o = 0;
  for (let n = 0; n < g.n; n++) {
    for (let c = 0; c < g.c; c++) {
      const base = x.offset + n * sN + c * sC;
      const plane = (n * g.c + c) * g.h * g.w;
      for (let y = 0; y < g.ho; y++) {
        const r0 = y * g.sh - g.pt;
        const ra = Math.max(r0, 0);
        const rb = Math.min(r0 + g.kh, g.h);
        for (let z = 0; z < g.wo; z++, o++) {
          const c0 = z * g.sw - g.pl;
          const ca = Math.max(c0, 0);
          const cb = Math.min(c0 + g.kw, g.w);
          const d = avgDivisor(g, y, z, countIncludePad, divisor);
          if (backward) {
            const v = (src[base + y * sH + z * sW] as number) / d;
            for (let r = ra; r < rb; r++) for (let k = ca; k < cb; k++) out[plane + r * g.w + k] = (out[plane + r * g.w + k] as number) + v;
          } else {
            let s = 0;
            for (let r = ra; r < rb; r++) for (let k = ca; k < cb; k++) s += src[base + r * sH + k * sW] as number;
            out[o] = s / d;
          }
        }
      }
    }
  }
  return finalize(out, x.dtype);
}

export const avgPool2d = (x: StridedRef, g: WindowGeometry, countIncludePad: boolean, divisor: number) =>
  avgPool(x, g, countIncludePad, divisor, false);
export const avgPool2dBackward = (grad: StridedRef, g: WindowGeometry, countIncludePad: boolean, divisor: number) =>
  avgPool(grad, g, countIncludePad, divisor, true);
