import type { DType, ScanOp, StridedRef } from "@dl/tensor";
import { copy, fill } from "./elementwise.js";
import type { GLTexture } from "./gpujs.js";
import { finalize, mapKernel } from "./map.js";
import { fetch } from "./program.js";
import type { Runtime } from "./runtime.js";
import type { GpuStorage } from "./storage.js";
import { contiguousStrides, numel } from "./strided.js";

/**
 * Inclusive scans by Hillis-Steele doubling: after the pass with distance d, element k along dim
 * holds the combination of the 2d elements ending at k. log2(len) passes, no loops, any length.
 * cummax/cummin carry (value, index) pairs as two textures, each pass running once per output.
 * Values are combined in float32 and rounded to dtype once at the end (as the CPU backend, which
 * accumulates in float64 and rounds at the end).
 */
function combineValue(op: ScanOp): string {
  switch (op) {
    case "cumsum":
      return "return a + b;";
    case "cumprod":
      return "return a * b;";
    case "logcumsumexp":
      return "return dl_logaddexp(a, b);";
    case "cummax":
    case "cummin":
      return "return takeB ? b : a;";
  }
}

/** For cummax/cummin: the later segment's result wins on ties and whenever it is NaN; an earlier NaN stays. */
function takeLater(op: ScanOp): string {
  const cmp = op === "cummax" ? "b >= a" : "b <= a";
  return `bool takeB = dl_isnan(b) || (!dl_isnan(a) && ${cmp});`;
}

export function scan(rt: Runtime, op: ScanOp, x: StridedRef, dim: number, dtype: DType): { values: GpuStorage; indices?: GpuStorage } {
  const withIndices = op === "cummax" || op === "cummin";
  const total = numel(x.shape);
  const contiguous = contiguousStrides(x.shape);
  if (total === 0) {
    return { values: rt.wrap(null, 0, dtype), indices: withIndices ? rt.wrap(null, 0, "int64") : undefined };
  }
  const len = x.shape[dim] as number;
  const os = contiguous[dim] as number;
  // A contiguous float32 copy: every pass reads and writes this layout.
  let vals = copy(rt, x, "float32");
  let idx: GpuStorage | null = null;
  const passes: number[] = [];
  for (let d = 1; d < len; d *= 2) passes.push(d);
  for (const d of passes) {
    const first = idx === null;
    const run = (output: "value" | "index"): GLTexture => {
      const program = rt.programs.get(`scan|${op}|${output}|${first ? "first" : "next"}`, () => ({
        textures: ["val", "idx"],
        ints: ["os", "len", "d"],
        body: [
          "int k = i / user_os;",
          "k = k - (k / user_len) * user_len;",
          `float b = ${fetch("val", "i")};`,
          `float ib = ${first ? "float(k)" : fetch("idx", "i")};`,
          `if (k < user_d) return ${output === "value" ? "b" : "ib"};`,
          "int j = i - user_d * user_os;",
          `float a = ${fetch("val", "j")};`,
          `float ia = ${first ? "float(k - user_d)" : fetch("idx", "j")};`,
          withIndices ? takeLater(op) : "",
          output === "value" ? combineValue(op) : "return takeB ? ib : ia;",
        ].join("\n"),
      }));
      return program.run(total, [rt.tex(vals), idx === null ? rt.tex(vals) : rt.tex(idx)], [os, len, d]);
    };
    const nextVals = rt.wrap(run("value"), total, "float32");
    const nextIdx = withIndices ? rt.wrap(run("index"), total, "int64") : null;
    rt.tracker.free(vals);
    if (idx !== null) rt.tracker.free(idx);
    vals = nextVals;
    idx = nextIdx;
  }
  let values = vals;
  if (dtype !== "float32") {
    values = mapKernel(
      rt,
      `finalize|${dtype}`,
      x.shape,
      [{ data: vals, dtype: "float32", shape: x.shape, strides: contiguous, offset: 0 }],
      ([v]) => finalize(dtype, v as string),
      dtype,
    );
    rt.tracker.free(vals);
  }
  if (!withIndices) return { values };
  // A scan of length 1 (no passes): every index is 0.
  return { values, indices: idx ?? fill(rt, total, 0, "int64") };
}
