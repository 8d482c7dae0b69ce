import type { ArgReduceOp, DType, ReduceOp, StridedRef } from "@dl/tensor";
import type { GLTexture } from "./gpujs.js";
import { fill } from "./elementwise.js";
import { finalize } from "./map.js";
import { fetch } from "./program.js";
import type { Runtime } from "./runtime.js";
import type { GpuStorage } from "./storage.js";
import { type Walk, coalesce, numel, walkCode, walkUniforms } from "./strided.js";

/**
 * Reductions. Each output element loops over its reduced elements; reductions longer than CHUNK
 * are split: pass 1 reduces chunks into partials laid out [outputs, chunks], the next pass reduces
 * those partials (a tree), until one value per output remains. Short loops keep llvmpipe's
 * per-fragment loop cap (see program.ts) and give float32 sums pairwise-like accuracy.
 */
export const CHUNK = 256;

const init: Record<ReduceOp, string> = { sum: "0.0", prod: "1.0", max: "-DL_INF", min: "DL_INF", all: "1.0", any: "0.0" };

function combine(op: ReduceOp): string {
  switch (op) {
    case "sum":
      return "acc += v;";
    case "prod":
      return "acc *= v;";
    case "max":
      // The first NaN wins and stays (PyTorch propagates NaN).
      return "if (!dl_isnan(acc) && (dl_isnan(v) || v > acc)) acc = v;";
    case "min":
      return "if (!dl_isnan(acc) && (dl_isnan(v) || v < acc)) acc = v;";
    case "all":
      return "if (v == 0.0) acc = 0.0;";
    case "any":
      return "if (v != 0.0) acc = 1.0;";
  }
}

interface Source {
  texture: GLTexture;
  offset: number;
  kept: Walk;
  red: Walk;
  redSize: number;
}

/** One pass: out[o * chunks + c] = op over reduced elements [c*CHUNK, (c+1)*CHUNK) of output o. */
function pass(rt: Runtime, op: ReduceOp, src: Source, outputs: number, chunks: number, dtype: DType | null): GLTexture {
  const kr = src.kept.shape.length;
  const rr = src.red.shape.length;
  const ku = walkUniforms("k", src.kept, ["base"]);
  const ru = walkUniforms("r", src.red, ["p"]);
  const program = rt.programs.get(`reduce|${op}|k${kr}|r${rr}|${dtype ?? "raw"}`, () => ({
    textures: ["x"],
    ints: [...ku.names, ...ru.names, "off", "chunks", "total"],
    body: [
      "int o = i / user_chunks;",
      "int c = i - o * user_chunks;",
      "int base = user_off;",
      walkCode("k", kr, ["base"], "o"),
      `int start = c * ${CHUNK};`,
      `float acc = ${init[op]};`,
      `for (int j = 0; j < ${CHUNK}; j++) {`,
      "  if (start + j >= user_total) break;",
      "  int p = base;",
      walkCode("r", rr, ["p"], "start + j"),
      `  float v = ${fetch("x", "p")};`,
      `  ${combine(op)}`,
      "}",
      `return ${dtype === null ? "acc" : finalize(dtype, "acc")};`,
    ].join("\n"),
  }));
  return program.run(outputs * chunks, [src.texture], [...ku.values, ...ru.values, src.offset, chunks, src.redSize]);
}

/** Reduces `x` over `dims`; the result has x's shape with those dims set to 1 (contiguous). */
export function reduce(rt: Runtime, op: ReduceOp, x: StridedRef, dims: readonly number[], dtype: DType): GpuStorage {
  const keptShape: number[] = [];
  const keptStrides: number[] = [];
  const redShape: number[] = [];
  const redStrides: number[] = [];
  x.shape.forEach((s, d) => {
    if (dims.includes(d)) {
      redShape.push(s);
      redStrides.push(x.strides[d] as number);
    } else {
      keptShape.push(s);
      keptStrides.push(x.strides[d] as number);
    }
  });
  const outputs = numel(keptShape);
  const redSize = numel(redShape);
  if (outputs === 0) return rt.wrap(null, 0, dtype);
  if (redSize === 0)
    return fill(
      rt,
      outputs,
      op === "sum" || op === "any" ? 0 : op === "max" ? Number.NEGATIVE_INFINITY : op === "min" ? Number.POSITIVE_INFINITY : 1,
      dtype,
    );
  return reduceWalks(
    rt,
    op,
    rt.tex(x),
    x.offset,
    coalesce(keptShape, [keptStrides]),
    coalesce(redShape, [redStrides]),
    redSize,
    outputs,
    dtype,
  );
}

/** Tree of passes until one value per output remains; only the last rounds to dtype. */
export function reduceWalks(
  rt: Runtime,
  op: ReduceOp,
  texture: GLTexture,
  offset: number,
  kept: Walk,
  red: Walk,
  redSize: number,
  outputs: number,
  dtype: DType,
): GpuStorage {
  let src: Source = { texture, offset, kept, red, redSize };
  let owned: GLTexture | null = null;
  for (;;) {
    const chunks = Math.ceil(src.redSize / CHUNK);
    const out = pass(rt, op, src, outputs, chunks, chunks === 1 ? dtype : null);
    owned?.delete();
    if (chunks === 1) return rt.wrap(out, outputs, dtype);
    owned = out;
    // Partials are contiguous [outputs, chunks]: reduce the last dim next.
    src = { texture: out, offset: 0, kept: coalesce([outputs], [[chunks]]), red: coalesce([chunks], [[1]]), redSize: chunks };
  }
}

/**
 * argmax/argmin along dim: first occurrence, NaN counts as the extreme (the first NaN wins).
 * Pass 1 writes each chunk's best index; later passes choose among those candidates (reading the
 * values again from x), so long dims need no index/value pairs in one texture.
 */
export function argReduce(rt: Runtime, op: ArgReduceOp, x: StridedRef, dim: number): GpuStorage {
  const keptShape = x.shape.filter((_, d) => d !== dim);
  const keptStrides = x.strides.filter((_, d) => d !== dim);
  const outputs = numel(keptShape);
  if (outputs === 0) return rt.wrap(null, 0, "int64");
  const len = x.shape[dim] as number;
  if (len === 0) return fill(rt, outputs, 0, "int64");
  const step = x.strides[dim] as number;
  const kept = coalesce(keptShape, [keptStrides]);
  const kr = kept.shape.length;
  const ku = walkUniforms("k", kept, ["base"]);
  const better = op === "argmax" ? "v > bv" : "v < bv";
  const make = (fromCandidates: boolean) => () => ({
    textures: ["x", "cand"],
    ints: [...ku.names, "off", "step", "chunks", "total"],
    body: [
      "int o = i / user_chunks;",
      "int c = i - o * user_chunks;",
      "int base = user_off;",
      walkCode("k", kr, ["base"], "o"),
      `int start = c * ${CHUNK};`,
      "float best = -1.0;",
      "float bv = 0.0;",
      `for (int j = 0; j < ${CHUNK}; j++) {`,
      "  if (start + j >= user_total) break;",
      fromCandidates ? `  float k = ${fetch("cand", "o * user_total + start + j")};` : "  float k = float(start + j);",
      `  float v = ${fetch("x", "base + int(k) * user_step")};`,
      "  if (best < 0.0) { best = k; bv = v; }",
      `  else if (!dl_isnan(bv) && (dl_isnan(v) || ${better})) { best = k; bv = v; }`,
      "}",
      "return best;",
    ].join("\n"),
  });
  let candidates: GLTexture | null = null;
  let total = len;
  for (;;) {
    const chunks = Math.ceil(total / CHUNK);
    const first = candidates === null;
    const program = rt.programs.get(`argReduce|${op}|k${kr}|${first ? "x" : "cand"}`, make(!first));
    const out = program.run(outputs * chunks, [rt.tex(x), candidates ?? rt.tex(x)], [...ku.values, x.offset, step, chunks, total]);
    candidates?.delete();
    if (chunks === 1) return rt.wrap(out, outputs, "int64");
    candidates = out;
    total = chunks;
  }
}
