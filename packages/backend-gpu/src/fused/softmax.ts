import { type StridedRef, numel } from "@dl/tensor";
import { finalize, mapKernel } from "../map.js";
import type { Runtime } from "../runtime.js";
import type { GpuStorage } from "../storage.js";
import { around, asLines, at, lineReduce, lineView } from "./lines.js";

/**
 * softmax / logSoftmax along dim: the max of each line, then the sum of exp(x - max) (each a
 * chunked line reduction), then one elementwise program. Computed in float32, rounded once to x's dtype.
 */
export function softmax(rt: Runtime, x: StridedRef, dim: number, log: boolean): GpuStorage {
  if (numel(x.shape) === 0) return rt.wrap(null, 0, x.dtype);
  const l = around(x.shape, dim);
  const c = asLines(rt, x, l);
  const m = lineReduce(rt, "max", "max", l, [c.ref], at(0));
  const s = lineReduce(rt, "sumExp", "sum", l, [c.ref, lineView(m, l)], `exp(${at(0)} - ${at(1, "o")})`);
  const y = mapKernel(
    rt,
    `softmax|${log}|${x.dtype}`,
    l,
    [c.ref, lineView(m, l), lineView(s, l)],
    ([v, mx, sm]) => finalize(x.dtype, log ? `${v} - ${mx} - log(${sm})` : `exp(${v} - ${mx}) / ${sm}`),
    x.dtype,
  );
  rt.tracker.free(m);
  rt.tracker.free(s);
  c.done();
  return y;
}

/** softmax's input gradient y * (g - sum(g * y)); logSoftmax's g - exp(y) * sum(g). */
export function softmaxBackward(rt: Runtime, y: StridedRef, g: StridedRef, dim: number, log: boolean): GpuStorage {
  if (numel(y.shape) === 0) return rt.wrap(null, 0, y.dtype);
  const l = around(y.shape, dim);
  const yc = asLines(rt, y, l);
  const gc = asLines(rt, g, l);
  const s = lineReduce(rt, log ? "sumG" : "sumGY", "sum", l, [gc.ref, yc.ref], log ? at(0) : `${at(0)} * ${at(1)}`);
  const gx = mapKernel(
    rt,
    `softmaxBackward|${log}|${y.dtype}`,
    l,
    [yc.ref, gc.ref, lineView(s, l)],
    ([yv, gv, sv]) => finalize(y.dtype, log ? `${gv} - exp(${yv}) * ${sv}` : `${yv} * (${gv} - ${sv})`),
    y.dtype,
  );
  rt.tracker.free(s);
  yc.done();
  gc.done();
  return gx;
}
