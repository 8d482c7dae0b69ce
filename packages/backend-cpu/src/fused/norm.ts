import type { LayerNormGrads, LayerNormResult, StridedRef } from "@dl/tensor";
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
  const a = x.a;
  const y = allocArrayUninit(n, xRef.dtype);
  const mean = allocArrayUninit(rows, statDtype(xRef));
  const rstd = allocArrayUninit(rows, statDtype(xRef));
  for (let r = 0; r < rows; r++) {
    const p0 = x.o + r * size;
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
    for (let j = 0, q = r * size; j < size; j++, q++) {
      let v = ((a[p0 + j] as number) - mu) * rs;
      if (w) v *= w.a[w.o + j] as number;
      if (b) v += b.a[b.o + j] as number;
      y[q] = v;
    }
  }
  x.done();
  w?.done();
  b?.done();
  return { y: finalize(y, xRef.dtype), mean, rstd };
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
  const ga = g.a;
  const xa = x.a;
  const gx = allocArrayUninit(n, xRef.dtype);
  const gw = weightGrad ? new Float64Array(size) : null;
  const gb = weightGrad ? new Float64Array(size) : null;
  for (let r = 0; r < rows; r++) {
    const mu = mean.a[mean.o + r] as number;
    const rs = rstd.a[rstd.o + r] as number;
    const gp = g.o + r * size;
    const xp = x.o + r * size;
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < size; j++) {
      const gh = (ga[gp + j] as number) * (w ? (w.a[w.o + j] as number) : 1);
      s1 += gh;
      s2 += gh * ((xa[xp + j] as number) - mu) * rs;
    }
    s1 /= size;
    s2 /= size;
    for (let j = 0, q = r * size; j < size; j++, q++) {
      const gv = ga[gp + j] as number;
      const xh = ((xa[xp + j] as number) - mu) * rs;
      gx[q] = rs * (gv * (w ? (w.a[w.o + j] as number) : 1) - s1 - xh * s2);
      if (gw && gb) {
        gw[j] += gv * xh;
        gb[j] += gv;
      }
    }
  }
  for (const t of [g, x, mean, rstd, w]) t?.done();
  const out = (v: Float64Array | null) => {
    if (v === null) return null;
    const o = allocArrayUninit(size, xRef.dtype);
    o.set(v);
    return finalize(o, xRef.dtype);
  };
  return { gx: finalize(gx, xRef.dtype), gw: out(gw), gb: out(gb) };
}
