import type { LayerNormGrads, LayerNormResult, StridedRef } from "@dl/tensor";
import { finalize, mapKernel } from "../map.js";
import type { Runtime } from "../runtime.js";
import type { GpuStorage } from "../storage.js";
import { type Lines, asLines, at, lineReduce, lineView } from "./lines.js";

/** weight / bias ([size] elements) read at [rows, size] (stride 0 over rows), or null. */
function perColumn(rt: Runtime, t: StridedRef | null, size: number) {
  if (t === null) return null;
  const c = asLines(rt, t, [1, size, 1]);
  return { ref: { ...c.ref, shape: [size], strides: [1] }, done: c.done };
}
const columnView = (r: StridedRef, rows: number, size: number): StridedRef => ({ ...r, shape: [rows, size], strides: [0, 1] });
const rowStat = (s: GpuStorage, rows: number): StridedRef => ({ data: s, dtype: "float32", shape: [rows], strides: [1], offset: 0 });

/** Layer norm of x as [rows, size]: line sums for the mean and the centered squares, then y in one program. */
export function layerNorm(
  rt: Runtime,
  x: StridedRef,
  size: number,
  w: StridedRef | null,
  b: StridedRef | null,
  eps: number,
): LayerNormResult {
  const total = x.shape.reduce((a, s) => a * s, 1);
  const rows = size === 0 ? 0 : total / size;
  const l: Lines = [rows, size, 1];
  const xc = asLines(rt, x, l);
  const sum = lineReduce(rt, "lnSum", "sum", l, [xc.ref], at(0));
  const mean = mapKernel(rt, "lnMean", [rows], [rowStat(sum, rows)], ([s]) => `${s} / user_n`, "float32", [{ name: "n", value: size }]);
  const sq = lineReduce(rt, "lnSq", "sum", l, [xc.ref, lineView(mean, l)], `(${at(0)} - ${at(1, "o")}) * (${at(0)} - ${at(1, "o")})`);
  const rstd = mapKernel(rt, "lnRstd", [rows], [rowStat(sq, rows)], ([v]) => `1.0 / sqrt(${v} / user_n + user_eps)`, "float32", [
    { name: "n", value: size },
    { name: "eps", value: eps },
  ]);
  const wc = perColumn(rt, w, size);
  const bc = perColumn(rt, b, size);
  const perRow = (r: StridedRef): StridedRef => ({ ...r, shape: [rows, size], strides: [1, 0] });
  const ops = [{ ...xc.ref, shape: [rows, size], strides: [size, 1] }, perRow(rowStat(mean, rows)), perRow(rowStat(rstd, rows))];
  if (wc) ops.push(columnView(wc.ref, rows, size));
  if (bc) ops.push(columnView(bc.ref, rows, size));
  const y = mapKernel(
    rt,
    `layerNorm|${wc !== null}|${bc !== null}|${x.dtype}`,
    [rows, size],
    ops,
    (v) => {
      let e = `(${v[0]} - ${v[1]}) * ${v[2]}`;
      if (wc) e = `${e} * ${v[3]}`;
      if (bc) e = `${e} + ${v[wc ? 4 : 3]}`;
      return finalize(x.dtype, e);
    },
    x.dtype,
  );
  for (const s of [sum, sq]) rt.tracker.free(s);
  for (const c of [xc, wc, bc]) c?.done();
  return { y, mean, rstd };
}

/**
 * layerNorm's gradients: two line sums per row (of gxhat and gxhat * xhat), gx in one program,
 * and gw, gb as sums down the columns (lines of the [1, rows, size] layout).
 */
export function layerNormBackward(
  rt: Runtime,
  g: StridedRef,
  x: StridedRef,
  mean: StridedRef,
  rstd: StridedRef,
  w: StridedRef | null,
  size: number,
  weightGrad: boolean,
): LayerNormGrads {
  const total = x.shape.reduce((a, s) => a * s, 1);
  const rows = size === 0 ? 0 : total / size;
  const l: Lines = [rows, size, 1];
  const gc = asLines(rt, g, l);
  const xc = asLines(rt, x, l);
  const mc = asLines(rt, mean, [rows, 1, 1]);
  const rc = asLines(rt, rstd, [rows, 1, 1]);
  const wc = perColumn(rt, w, size);
  // Operands of the line sums: g, x, mean, rstd (at the row o), and w (at the column j).
  const sumOps = [gc.ref, xc.ref, mc.ref, rc.ref, ...(wc ? [wc.ref] : [])];
  const gh = wc ? `${at(0)} * ${at(4, "j")}` : at(0);
  const xh = `(${at(1)} - ${at(2, "o")}) * ${at(3, "o")}`;
  const s1 = lineReduce(rt, `lnG|${wc !== null}`, "sum", l, sumOps, gh);
  const s2 = lineReduce(rt, `lnGX|${wc !== null}`, "sum", l, sumOps, `${gh} * ${xh}`);
  const whole = (r: StridedRef): StridedRef => ({ ...r, shape: [rows, size], strides: [size, 1] });
  const perRow = (r: StridedRef): StridedRef => ({ ...r, shape: [rows, size], strides: [1, 0] });
  const ops = [whole(gc.ref), whole(xc.ref), perRow(mc.ref), perRow(rc.ref), perRow(rowStat(s1, rows)), perRow(rowStat(s2, rows))];
  if (wc) ops.push(columnView(wc.ref, rows, size));
  const gx = mapKernel(
    rt,
    `layerNormBackward|${wc !== null}|${x.dtype}`,
    [rows, size],
    ops,
    ([gv, xv, mv, rv, a1, a2, wv]) =>
      finalize(x.dtype, `${rv} * (${wv ? `${gv} * ${wv}` : gv} - ${a1} / user_n - (${xv} - ${mv}) * ${rv} * (${a2} / user_n))`),
    x.dtype,
    [{ name: "n", value: size }],
  );
  let gw: GpuStorage | null = null;
  let gb: GpuStorage | null = null;
  if (weightGrad) {
    // Down the columns: lines of [1, rows, size]; the line index j is the row.
    const cols: Lines = [1, rows, size];
    const colOps = [gc.ref, xc.ref, mc.ref, rc.ref];
    const gwSum = lineReduce(rt, "lnGW", "sum", cols, colOps, `${at(0)} * (${at(1)} - ${at(2, "j")}) * ${at(3, "j")}`);
    const gbSum = lineReduce(rt, "lnGB", "sum", cols, colOps, at(0));
    gw = mapKernel(rt, `round|${x.dtype}`, [size], [rowStat(gwSum, size)], ([v]) => finalize(x.dtype, v as string), x.dtype);
    gb = mapKernel(rt, `round|${x.dtype}`, [size], [rowStat(gbSum, size)], ([v]) => finalize(x.dtype, v as string), x.dtype);
    rt.tracker.free(gwSum);
    rt.tracker.free(gbSum);
  }
  for (const s of [s1, s2]) rt.tracker.free(s);
  for (const c of [gc, xc, mc, rc, wc]) c?.done();
  return { gx, gw, gb };
}
