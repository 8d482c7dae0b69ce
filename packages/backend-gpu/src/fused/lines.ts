import { type StridedRef, contiguousStrides } from "@dl/tensor";
import { copy } from "../elementwise.js";
import { fetch } from "../program.js";
import { CHUNK, reduceWalks } from "../reduce.js";
import type { Runtime } from "../runtime.js";
import type { GpuStorage } from "../storage.js";
import { coalesce } from "../strided.js";

/**
 * Shared by the fused softmax and layer norm kernels: a tensor seen as [outer, len, inner] around
 * one dim has outer * inner "lines" of len elements, `inner` apart. Kernels reduce each line to a
 * statistic (lineReduce), then one elementwise program combines x with its line's statistics,
 * read through stride-0 views (lineView).
 */
export type Lines = [outer: number, len: number, inner: number];

/** [outer, len, inner]: the sizes before, at and after `dim`. */
export function around(shape: readonly number[], dim: number): Lines {
  let outer = 1;
  let inner = 1;
  shape.forEach((s, d) => {
    if (d < dim) outer *= s;
    else if (d > dim) inner *= s;
  });
  return [outer, shape[dim] ?? 1, inner];
}

/** x as a contiguous [outer, len, inner] view: x itself, or a contiguous copy that `done()` frees. */
export function asLines(rt: Runtime, x: StridedRef, l: Lines): { ref: StridedRef; done: () => void } {
  const cs = contiguousStrides(x.shape);
  const strides = [l[1] * l[2], l[2], 1];
  if (x.shape.every((s, d) => s === 1 || x.strides[d] === cs[d])) return { ref: { ...x, shape: l, strides }, done: () => {} };
  const c = copy(rt, x, x.dtype);
  return { ref: { data: c, dtype: x.dtype, shape: l, strides, offset: 0 }, done: () => rt.tracker.free(c) };
}

/** A per-line statistic (outer * inner values) read as [outer, len, inner] (stride 0 along the line). */
export function lineView(s: GpuStorage, l: Lines): StridedRef {
  return { data: s, dtype: "float32", shape: l, strides: [l[2], 0, 1], offset: 0 };
}

/**
 * Reduces GLSL `expr` over each line of the contiguous layout `l`: output o = a * inner + k
 * combines expr for the elements e = a * len * inner + j * inner + k (j < len). expr reads the
 * int variables e (row-major element index), j and o, and the given textures / int uniforms.
 * Lines are cut into CHUNK-long pieces (llvmpipe's loop cap, pairwise-like float32 sums), whose
 * partials reduce.ts's tree then combines. Returns float32 [outer * inner].
 */
export function lineReduce(
  rt: Runtime,
  key: string,
  op: "sum" | "max",
  l: Lines,
  textures: readonly StridedRef[],
  expr: string,
): GpuStorage {
  const [outer, len, inner] = l;
  const outputs = outer * inner;
  const chunks = Math.max(1, Math.ceil(len / CHUNK));
  const names = textures.map((_, k) => `t${k}`);
  const program = rt.programs.get(`lines|${key}|${op}`, () => ({
    textures: names,
    ints: ["len", "inner", "chunks", ...names.map((n) => `${n}off`)],
    body: [
      "int o = i / user_chunks;",
      "int a = o / user_inner;",
      "int e0 = a * user_len * user_inner + o - a * user_inner;",
      `int start = (i - o * user_chunks) * ${CHUNK};`,
      `float acc = ${op === "sum" ? "0.0" : "-DL_INF"};`,
      `for (int jj = 0; jj < ${CHUNK}; jj++) {`,
      "  int j = start + jj;",
      "  if (j >= user_len) break;",
      "  int e = e0 + j * user_inner;",
      `  float v = ${expr};`,
      // max: the first NaN wins and stays (PyTorch propagates NaN).
      op === "sum" ? "  acc += v;" : "  if (!dl_isnan(acc) && (dl_isnan(v) || v > acc)) acc = v;",
      "}",
      "return acc;",
    ].join("\n"),
  }));
  const partial = program.run(
    outputs * chunks,
    textures.map((t) => rt.tex(t)),
    [len, inner, chunks, ...textures.map((t) => t.offset)],
  );
  if (chunks === 1) return rt.wrap(partial, outputs, "float32");
  const out = reduceWalks(rt, op, partial, 0, coalesce([outputs], [[chunks]]), coalesce([chunks], [[1]]), chunks, outputs, "float32");
  partial.delete();
  return out;
}

/** Reads texture operand k of lineReduce at element index `idx` (its offset added). */
export const at = (k: number, idx = "e"): string => fetch(`t${k}`, `user_t${k}off + ${idx}`);
