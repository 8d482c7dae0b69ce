import type { HostArray, StridedRef } from "@dl/tensor";
import { numel } from "@dl/tensor";
import { expShiftSum32 } from "../elementwise.js";
import { simdMath } from "../simd-math.js";
import { allocArrayUninit, finalize } from "../storage.js";
import { around, rowMajor } from "./row-major.js";

/**
 * softmax / logSoftmax along dim: per line (the elements along dim, `inner` apart) one pass for the
 * max, one for exp and the sum, one to scale; sums in float64, one rounding per output.
 */
export function softmax(x: StridedRef, dim: number, log: boolean): HostArray {
  const [outer, len, inner] = around(x.shape, dim);
  const { a, o, done } = rowMajor(x);
  const y = allocArrayUninit(numel(x.shape), x.dtype);
  const simd = y instanceof Float32Array && a instanceof Float32Array && inner === 1 ? simdMath() : undefined;
  // Contiguous float32 rows: every pass of every row in WebAssembly SIMD, a block of rows per call.
  if (simd?.softmaxRows(y as Float32Array, 0, a as Float32Array, o, outer, len, log)) {
    done();
    return finalize(y, x.dtype);
  }
  for (let b = 0; b < outer; b++) {
    for (let k = 0; k < inner; k++) {
      const q0 = b * len * inner + k;
      const end = q0 + len * inner;
      // NaN wins the max (then every output of the line is NaN, as the composed op gives).
      let m = Number.NEGATIVE_INFINITY;
      for (let q = q0; q < end; q += inner) {
        const v = a[q + o] as number;
        if (v > m) m = v;
        else if (v !== v) {
          m = v;
          break;
        }
      }
      let sum = 0;
      if (inner === 1 && y instanceof Float32Array) {
        // Contiguous lines stored as float32: the backend's fast float32 exp, which also sums.
        sum = expShiftSum32(y, q0, a, q0 + o, len, m);
      } else {
        for (let q = q0; q < end; q += inner) {
          const e = Math.exp((a[q + o] as number) - m);
          sum += e;
          y[q] = e;
        }
      }
      if (log) {
        const ls = Math.log(sum);
        for (let q = q0; q < end; q += inner) y[q] = (a[q + o] as number) - m - ls;
      } else {
        const inv = 1 / sum;
        for (let q = q0; q < end; q += inner) y[q] = (y[q] as number) * inv;
      }
    }
  }
  done();
  return finalize(y, x.dtype);
}

/** softmax's input gradient: y * (g - sum(g * y)); logSoftmax's: g - exp(y) * sum(g). */
export function softmaxBackward(yRef: StridedRef, gRef: StridedRef, dim: number, log: boolean): HostArray {
  const [outer, len, inner] = around(yRef.shape, dim);
  const y = rowMajor(yRef);
  const g = rowMajor(gRef);
  const ya = y.a;
  const ga = g.a;
  const gx = allocArrayUninit(numel(yRef.shape), yRef.dtype);
  for (let b = 0; b < outer; b++) {
    for (let k = 0; k < inner; k++) {
      const q0 = b * len * inner + k;
      const end = q0 + len * inner;
      let s = 0;
      for (let q = q0; q < end; q += inner) s += log ? (ga[q + g.o] as number) : (ga[q + g.o] as number) * (ya[q + y.o] as number);
      for (let q = q0; q < end; q += inner) {
        const gv = ga[q + g.o] as number;
        const yv = ya[q + y.o] as number;
        gx[q] = log ? gv - Math.exp(yv) * s : yv * (gv - s);
      }
    }
  }
  y.done();
  g.done();
  return finalize(gx, yRef.dtype);
}
