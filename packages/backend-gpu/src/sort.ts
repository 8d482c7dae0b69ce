import type { StridedRef } from "@dl/tensor";
import type { GLTexture } from "./gpujs.js";
import { fetch } from "./program.js";
import type { Runtime } from "./runtime.js";
import type { GpuStorage } from "./storage.js";
import { coalesce, contiguousStrides, numel, walkCode, walkUniforms } from "./strided.js";

/**
 * Stable sort along a dim by a bitonic network over (key, original index) pairs. Pairs are
 * distinct, so the network's order is total: equal keys keep their input order (stable), NaN
 * sorts above every number (last ascending, first descending, as PyTorch). Lines are padded to a
 * power of two P with elements that sort after everything. Layout during the sort: [lines, P].
 * log2(P) * (log2(P) + 1) / 2 compare-exchange passes, each run once for keys and once for indices.
 */

export function sort(rt: Runtime, x: StridedRef, dim: number, descending: boolean): { values: GpuStorage; indices: GpuStorage } {
  const total = numel(x.shape);
  if (total === 0) return { values: rt.wrap(null, 0, x.dtype), indices: rt.wrap(null, 0, "int64") };
  const len = x.shape[dim] as number;
  let P = 1;
  while (P < len) P *= 2;
  const lines = total / len;
  const step = x.strides[dim] as number;

  // Gather each line into [lines, P] (keys) with the original positions as indices.
  const kept = coalesce(
    x.shape.filter((_, d) => d !== dim),
    [x.strides.filter((_, d) => d !== dim)],
  );
  const kr = kept.shape.length;
  const ku = walkUniforms("k", kept, ["base"]);
  const load = (output: "key" | "index") =>
    rt.programs.get(`sort|load|${output}|k${kr}`, () => ({
      textures: ["x"],
      ints: [...ku.names, "P", "len", "off", "step"],
      body: [
        "int line = i / user_P;",
        "int k = i - line * user_P;",
        output === "index" ? "return float(k);" : "if (k >= user_len) return 0.0;",
        "int base = user_off;",
        walkCode("k", kr, ["base"], "line"),
        `return ${fetch("x", "base + k * user_step")};`,
      ].join("\n"),
    }));
  const n = lines * P;
  const loadInts = [...ku.values, P, len, x.offset, step];
  let keys: GLTexture = load("key").run(n, [rt.tex(x)], loadInts);
  let idx: GLTexture = load("index").run(n, [rt.tex(x)], loadInts);

  const exchange = (output: "key" | "index") =>
    rt.programs.get(`sort|exchange|${output}`, () => ({
      textures: ["keys", "idx"],
      ints: ["P", "len", "j", "blk", "desc"],
      body: [
        "int line = i / user_P;",
        "int k = i - line * user_P;",
        "int q = k / user_j;",
        "bool lower = q - (q / 2) * 2 == 0;",
        "int partner = lower ? i + user_j : i - user_j;",
        "int b = k / user_blk;",
        "bool up = b - (b / 2) * 2 == 0;",
        `float ka = ${fetch("keys", "i")};`,
        `float ia = ${fetch("idx", "i")};`,
        `float kb = ${fetch("keys", "partner")};`,
        `float ib = ${fetch("idx", "partner")};`,
        "bool selfFirst = dl_sort_before(ka, ia, kb, ib, user_len, user_desc);",
        // The lower slot of an ascending block keeps the element that comes first; the rest follow.
        "bool keepSelf = (lower == up) == selfFirst;",
        output === "key" ? "return keepSelf ? ka : kb;" : "return keepSelf ? ia : ib;",
      ].join("\n"),
    }));
  for (let blk = 2; blk <= P; blk *= 2) {
    for (let j = blk / 2; j >= 1; j /= 2) {
      const ints = [P, len, j, blk, descending ? 1 : 0];
      const k2 = exchange("key").run(n, [keys, idx], ints);
      const i2 = exchange("index").run(n, [keys, idx], ints);
      keys.delete();
      idx.delete();
      keys = k2;
      idx = i2;
    }
  }

  // Back to x's shape, contiguous, dim in place.
  const os = contiguousStrides(x.shape)[dim] as number;
  const unload = rt.programs.get("sort|unload", () => ({
    textures: ["src"],
    ints: ["os", "len", "P"],
    body: [
      "int outer = i / (user_os * user_len);",
      "int rest = i - outer * user_os * user_len;",
      "int k = rest / user_os;",
      "int inner = rest - k * user_os;",
      `return ${fetch("src", "(outer * user_os + inner) * user_P + k")};`,
    ].join("\n"),
  }));
  const values = rt.wrap(unload.run(total, [keys], [os, len, P]), total, x.dtype);
  const indices = rt.wrap(unload.run(total, [idx], [os, len, P]), total, "int64");
  keys.delete();
  idx.delete();
  return { values, indices };
}
