import type { DType, StridedRef } from "@dl/tensor";
import { fill } from "./elementwise.js";
import { finalize } from "./map.js";
import { MAX_LOOP, fetch } from "./program.js";
import { reduceWalks } from "./reduce.js";
import type { Runtime } from "./runtime.js";
import { coalesce } from "./strided.js";

/**
 * Batched matmul [B,M,K] x [B,K,N] -> contiguous [B,M,N], one fused kernel that reads both
 * operands through their strides (transposed, sliced and batch-broadcast operands need no copy).
 * Each output element accumulates its dot product in float32 (as PyTorch's float32 GEMMs);
 * K longer than KCHUNK is split into partial products summed by the reduction tree.
 */
export const KCHUNK = MAX_LOOP / 2;

export function matmul(rt: Runtime, a: StridedRef, b: StridedRef, dtype: DType): ReturnType<Runtime["wrap"]> {
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2] as number;
  const total = B * M * N;
  if (total === 0) return rt.wrap(null, 0, dtype);
  if (K === 0) return fill(rt, total, 0, dtype);
  const chunks = Math.ceil(K / KCHUNK);
  const program = rt.programs.get(`matmul|${chunks > 1 ? "partial" : dtype}`, () => ({
    textures: ["a", "b"],
    ints: ["m", "n", "k", "bmn", "aoff", "sab", "sam", "sak", "boff", "sbb", "sbk", "sbn"],
    body: [
      "int c = i / user_bmn;",
      "int r = i - c * user_bmn;",
      "int bi = r / (user_m * user_n);",
      "int rem = r - bi * user_m * user_n;",
      "int m = rem / user_n;",
      "int col = rem - m * user_n;",
      `int k0 = c * ${KCHUNK};`,
      "int pa = user_aoff + bi * user_sab + m * user_sam + k0 * user_sak;",
      "int pb = user_boff + bi * user_sbb + col * user_sbn + k0 * user_sbk;",
      "float acc = 0.0;",
      // Unrolled by 4 (fewer loop iterations: llvmpipe pays per iteration), then the tail.
      "int kend = user_k - k0;",
      `if (kend > ${KCHUNK}) kend = ${KCHUNK};`,
      "int j = 0;",
      `for (int q = 0; q < ${KCHUNK / 4}; q++) {`,
      "  if (j + 4 > kend) break;",
      `  acc += ${fetch("a", "pa")} * ${fetch("b", "pb")};`,
      `  acc += ${fetch("a", "pa + user_sak")} * ${fetch("b", "pb + user_sbk")};`,
      `  acc += ${fetch("a", "pa + 2 * user_sak")} * ${fetch("b", "pb + 2 * user_sbk")};`,
      `  acc += ${fetch("a", "pa + 3 * user_sak")} * ${fetch("b", "pb + 3 * user_sbk")};`,
      "  pa += 4 * user_sak;",
      "  pb += 4 * user_sbk;",
      "  j += 4;",
      "}",
      "for (int t = 0; t < 3; t++) {",
      "  if (j >= kend) break;",
      `  acc += ${fetch("a", "pa")} * ${fetch("b", "pb")};`,
      "  pa += user_sak;",
      "  pb += user_sbk;",
      "  j++;",
      "}",
      `return ${chunks > 1 ? "acc" : finalize(dtype, "acc")};`,
    ].join("\n"),
  }));
  const [sab, sam, sak] = a.strides as [number, number, number];
  const [sbb, sbk, sbn] = b.strides as [number, number, number];
  const out = program.run(chunks * total, [rt.tex(a), rt.tex(b)], [M, N, K, total, a.offset, sab, sam, sak, b.offset, sbb, sbk, sbn]);
  if (chunks === 1) return rt.wrap(out, total, dtype);
  // Partials are [chunks, B*M*N]: sum over the chunk dim.
  const result = reduceWalks(rt, "sum", out, 0, coalesce([total], [[1]]), coalesce([chunks], [[total]]), chunks, total, dtype);
  out.delete();
  return result;
}
