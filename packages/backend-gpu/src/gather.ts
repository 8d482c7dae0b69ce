import { type DType, IndexError, type ScatterReduce, type StridedRef } from "@dl/tensor";
import { copy } from "./elementwise.js";
import { finalize, mapKernel } from "./map.js";
import { MAX_LOOP, fetch } from "./program.js";
import { reduce } from "./reduce.js";
import type { Runtime } from "./runtime.js";
import type { GpuStorage } from "./storage.js";
import { coalesce, numel, walkCode, walkUniforms } from "./strided.js";

/**
 * Indices must lie in [0, len) (PyTorch's gather/scatter kernels raise otherwise). A GPU kernel
 * cannot throw, so the check is its own small kernel: the position of the first bad index (or
 * +inf) reduced to one value and read back — one float crossing to the CPU per gather/scatter,
 * disabled with createGpuBackend({ checkIndices: false }).
 */
function checkIndices(rt: Runtime, op: string, index: StridedRef, dim: number, len: number): void {
  if (!rt.checkIndices || numel(index.shape) === 0) return;
  const bad = mapKernel(
    rt,
    "badIndex",
    index.shape,
    [index],
    ([v]) => `((${v} < 0.0 || ${v} >= user_len || floor(${v}) != ${v}) ? float(i) : DL_INF)`,
    "float32",
    [{ name: "len", value: len }],
  );
  const first = reduce(rt, "min", { data: bad, dtype: "float32", shape: [numel(index.shape)], strides: [1], offset: 0 }, [0], "float32");
  rt.tracker.free(bad);
  const at = rt.read(first)[0] as number;
  rt.tracker.free(first);
  if (at === Number.POSITIVE_INFINITY) return;
  const all = copy(rt, index, index.dtype);
  const value = rt.read(all)[at] as number;
  rt.tracker.free(all);
  throw new IndexError(op, `index ${value} is out of bounds for dimension ${dim} with size ${len}`);
}

/** out has index's shape; out[..i..] = x[..index[..i..]..] along dim. */
export function gather(rt: Runtime, x: StridedRef, dim: number, index: StridedRef): GpuStorage {
  const size = x.shape.length === 0 ? 1 : (x.shape[dim] as number);
  checkIndices(rt, "gather", index, dim, size);
  const step = x.shape.length === 0 ? 0 : (x.strides[dim] as number);
  // Walk index and x together, x's stride along dim zeroed; the gathered offset is added after.
  const xs = x.strides.map((s, d) => (d === dim ? 0 : s));
  return mapGather(rt, x, index, xs, step);
}

function mapGather(rt: Runtime, x: StridedRef, index: StridedRef, xs: readonly number[], step: number): GpuStorage {
  const n = numel(index.shape);
  if (n === 0) return rt.wrap(null, 0, x.dtype);
  const walk = coalesce(index.shape, [index.strides, xs]);
  const rank = walk.shape.length;
  const wu = walkUniforms("w", walk, ["pi", "px"]);
  const program = rt.programs.get(`gather|r${rank}`, () => ({
    textures: ["x", "idx"],
    ints: [...wu.names, "ioff", "xoff", "step"],
    body: [
      "int pi = user_ioff;",
      "int px = user_xoff;",
      walkCode("w", rank, ["pi", "px"], "i"),
      `int k = int(${fetch("idx", "pi")});`,
      `return ${fetch("x", "px + k * user_step")};`,
    ].join("\n"),
  }));
  return rt.wrap(program.run(n, [rt.tex(x), rt.tex(index)], [...wu.values, index.offset, x.offset, step]), n, x.dtype);
}

function combine(reduce: ScatterReduce): string {
  switch (reduce) {
    case "none":
      return "v";
    case "add":
      return "acc + v";
    case "multiply":
      return "acc * v";
    case "amax":
      return "dl_maximum(acc, v)";
    case "amin":
      return "dl_minimum(acc, v)";
  }
}

/**
 * A copy of base with src scattered at index along dim. Fragment shaders cannot scatter, so each
 * output element gathers instead: it scans the index entries that share its coordinates off dim
 * and combines, in index order, the src values of those that point at it (the CPU backend's
 * order: for "none" the last write wins). Index extents longer than MAX_LOOP take several passes.
 */
export function scatter(rt: Runtime, base: StridedRef, dim: number, index: StridedRef, src: StridedRef, reduce: ScatterReduce): GpuStorage {
  const dtype: DType = base.dtype;
  const total = numel(base.shape);
  if (total === 0) return rt.wrap(null, 0, dtype);
  const rank = base.shape.length;
  const size = rank === 0 ? 1 : (base.shape[dim] as number);
  checkIndices(rt, "scatter", index, dim, size);
  let current = copy(rt, base, dtype);
  const extent = rank === 0 ? 1 : (index.shape[dim] as number);
  if (numel(index.shape) === 0) return current;
  const shape = rank === 0 ? [1] : base.shape;
  const is = rank === 0 ? [0] : index.strides;
  const ss = rank === 0 ? [0] : src.strides;
  const ishape = rank === 0 ? [1] : index.shape;
  const d0 = rank === 0 ? 0 : dim;
  const R = shape.length;
  const program = rt.programs.get(`scatter|${reduce}|${dtype}|r${R}|d${d0}`, () => {
    const lines = [
      "int q = i;",
      "int c;",
      "int pb = 0;",
      "int pi = user_ioff;",
      "int ps = user_soff;",
      "int p = 0;",
      "bool inside = true;",
    ];
    for (let d = R - 1; d >= 0; d--) {
      lines.push(d > 0 ? `c = q - (q / user_n${d}) * user_n${d}; q = q / user_n${d};` : "c = q;");
      if (d === d0) lines.push("p = c;");
      else lines.push(`if (c >= user_in${d}) inside = false;`, `pi += c * user_is${d};`, `ps += c * user_ss${d};`);
    }
    lines.push(
      `float acc = ${fetch("base", "i")};`,
      "if (!inside) return acc;",
      `for (int j = 0; j < ${MAX_LOOP}; j++) {`,
      "  int jj = user_j0 + j;",
      "  if (jj >= user_j1) break;",
      `  float iv = ${fetch("idx", `pi + jj * user_is${d0}`)};`,
      "  if (int(iv) == p) {",
      `    float v = ${fetch("src", `ps + jj * user_ss${d0}`)};`,
      `    acc = ${reduce === "none" ? "v" : finalize(dtype, combine(reduce))};`,
      "  }",
      "}",
      "return acc;",
    );
    const ints = ["ioff", "soff", "j0", "j1"];
    for (let d = 0; d < R; d++) ints.push(`n${d}`, `in${d}`, `is${d}`, `ss${d}`);
    return { textures: ["base", "idx", "src"], ints, body: lines.join("\n") };
  });
  for (let j0 = 0; j0 < extent; j0 += MAX_LOOP) {
    const ints = [index.offset, src.offset, j0, Math.min(extent, j0 + MAX_LOOP)];
    for (let d = 0; d < R; d++) ints.push(shape[d] as number, ishape[d] as number, is[d] as number, ss[d] as number);
    const next = rt.wrap(program.run(total, [rt.tex(current), rt.tex(index), rt.tex(src)], ints), total, dtype);
    rt.tracker.free(current);
    current = next;
  }
  return current;
}
