import type { HostArray, LayerNormGrads, LayerNormResult, StridedRef } from "@dl/tensor";
import { numel } from "@dl/tensor";
import { allocArrayUninit, finalize } from "../storage.js";
import { rowMajor } from "./row-major.js";

const statDtype = (x: StridedRef) => (x.dtype === "float64" ? "float64" : "float32");

/** Layer norm of the rows of x viewed as [rows, size]: two passes for mean and variance, one for y. */
export function layerNorm(xRef: StridedRef, size: number, wRef: StridedRef | null, bRef: StridedRef | null, eps: number): LayerNormResult {
  const n = numel(xRef.shape);
  const rows = size === 0 ? 0 : n / size;
  const x = rowMajor(xRef);
  const w = wRef && rowMajor(wRef);
  const b = bRef && rowMajor(bRef);
  const y = allocArrayUninit(n, xRef.dtype);
  const mean = allocArrayUninit(rows, statDtype(xRef));
  const rstd = allocArrayUninit(rows, statDtype(xRef));
  normRows(rows, size, eps, x.a, x.o, w?.a ?? null, w?.o ?? 0, b?.a ?? null, b?.o ?? 0, y, mean, rstd);
  x.done();
  w?.done();
  b?.done();
  return { y: finalize(y, xRef.dtype), mean, rstd };
}

/**
 * layerNorm's loops on plain arrays and offsets: a function of its own, so that V8 optimizes it with
 * the arrays' types (reading them through the row-major views' properties in the loops was ~3x slower).
 */
function normRows(
  rows: number,
  size: number,
  eps: number,
  a: HostArray,
  ao: number,
  wa: HostArray | null,
  wo: number,
  ba: HostArray | null,
  bo: number,
  y: HostArray,
  mean: HostArray,
  rstd: HostArray,
): void {
  for (let r = 0; r < rows; r++) {
    const p0 = ao + r * size;
    let s = 0;
    for (let j = 0; j < size; j++) s += a[p0 + j] as number;
    const mu = s / size;
    let ss = 0;
    for (let j = 0; j < size; j++) {
      const c = (a[p0 + j] as number) - mu;
      ss += c * c;
    }
    const rs = 1 / Math.sqrt(ss / size + eps);
    mean[r] = mu;
    rstd[r] = rs;
    const q0 = r * size;
    if (wa && ba)
      for (let j = 0; j < size; j++) y[q0 + j] = ((a[p0 + j] as number) - mu) * rs * (wa[wo + j] as number) + (ba[bo + j] as number);
    else if (wa) for (let j = 0; j < size; j++) y[q0 + j] = ((a[p0 + j] as number) - mu) * rs * (wa[wo + j] as number);
    else if (ba) for (let j = 0; j < size; j++) y[q0 + j] = ((a[p0 + j] as number) - mu) * rs + (ba[bo + j] as number);
    else for (let j = 0; j < size; j++) y[q0 + j] = ((a[p0 + j] as number) - mu) * rs;
  }
}

/** layerNorm's gradients, one pass per row for the two row sums and one for gx (and gw, gb). */
export function layerNormBackward(
  gRef: StridedRef,
  xRef: StridedRef,
  meanRef: StridedRef,
  rstdRef: StridedRef,
  wRef: StridedRef | null,
  size: number,
  weightGrad: boolean,
): LayerNormGrads {
  const n = numel(xRef.shape);
  const rows = size === 0 ? 0 : n / size;
  const [g, x, mean, rstd] = [gRef, xRef, meanRef, rstdRef].map(rowMajor) as [
    ReturnType<typeof rowMajor>,
    ...ReturnType<typeof rowMajor>[],
  ];
  const w = wRef && rowMajor(wRef);
  const gx = allocArrayUninit(n, xRef.dtype);
  const gw = weightGrad ? new Float64Array(size) : null;
  const gb = weightGrad ? new Float64Array(size) : null;
  normBackwardRows(rows, size, g.a, g.o, x.a, x.o, mean.a, mean.o, rstd.a, rstd.o, w?.a ?? null, w?.o ?? 0, gx, gw, gb);
  for (const t of [g, x, mean, rstd, w]) t?.done();
  const out = (v: Float64Array | null) => {
    if (v === null) return null;
    const o = allocArrayUninit(size, xRef.dtype);
    o.set(v);
    return finalize(o, xRef.dtype);
  };
  return { gx: finalize(gx, xRef.dtype), gw: out(gw), gb: out(gb) };
}

/** layerNormBackward's loops on plain arrays and offsets (see normRows). */
function normBackwardRows(
  rows: number,
  size: number,
  ga: HostArray,
  go: number,
  xa: HostArray,
  xo: number,
  ma: HostArray,
  mo: number,
  ra: HostArray,
  ro: number,
  wa: HostArray | null,
  wo: number,
  gx: HostArray,
  gw: Float64Array | null,
  gb: Float64Array | null,
): void {
  for (let r = 0; r < rows; r++) {
    const mu = ma[mo + r] as number;
    const rs = ra[ro + r] as number;
    const gp = go + r * size;
    const xp = xo + r * size;
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < size; j++) {
      const gh = (ga[gp + j] as number) * (wa ? (wa[wo + j] as number) : 1);
      s1 += gh;
      s2 += gh * ((xa[xp + j] as number) - mu) * rs;
    }
    s1 /= size;
    s2 /= size;
    for (let j = 0, q = r * size; j < size; j++, q++) {
      const gv = ga[gp + j] as number;
      const xh = ((xa[xp + j] as number) - mu) * rs;
      gx[q] = rs * (gv * (wa ? (wa[wo + j] as number) : 1) - s1 - xh * s2);
      if (gw && gb) {
        gw[j] += gv * xh;
        gb[j] += gv;
      }
    }
  }
}
