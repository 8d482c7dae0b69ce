import type { DType, StridedRef } from "@dl/tensor";
import { copy, fill } from "./elementwise.js";
import { finalize } from "./map.js";
import { MAX_LOOP, fetch, fetch4 } from "./program.js";
import { reduceWalks } from "./reduce.js";
import type { Runtime } from "./runtime.js";
import type { GpuStorage } from "./storage.js";
import { coalesce } from "./strided.js";

/**
 * Batched matmul [B,M,K] x [B,K,N] -> contiguous [B,M,N], one fused kernel that reads both
 * operands through their strides (transposed, sliced and batch-broadcast operands need no copy).
 * Each output element accumulates its dot product in float32 (as PyTorch's float32 GEMMs);
 * K longer than KCHUNK is split into partial products summed by the reduction tree.
 *
 * When N is a multiple of 4, a fragment's four outputs are four neighbours in one row: they are
 * computed together (DL_QUAD), so each A value is read once for four outputs, and operands laid
 * out in aligned runs of 4 (rows of a contiguous A, rows of B or of a transposed B) are read a
 * whole texel at a time: 5 texel reads per 16 multiply-adds instead of 32.
 */
export const KCHUNK = MAX_LOOP / 2;

/** How an operand's 4 consecutive k (or n) values can be read: 1 = one aligned texel, 0 = one by one. */
const aligned = (offset: number, ...strides: number[]) => offset % 4 === 0 && strides.every((s) => s % 4 === 0);

export function matmul(rt: Runtime, a: StridedRef, b: StridedRef, dtype: DType): GpuStorage {
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2] as number;
  const total = B * M * N;
  if (total === 0) return rt.wrap(null, 0, dtype);
  if (K === 0) return fill(rt, total, 0, dtype);
  if (N % 4 !== 0 && M % 4 === 0 && K >= 64) {
    // Four outputs per texel need rows of a multiple of 4: compute C^T = B^T A^T (the usual shape
    // of weight gradients, [out, in] with a small odd `in`), then transpose it into place.
    const [sab, sam, sak] = a.strides as [number, number, number];
    const [sbb, sbk, sbn] = b.strides as [number, number, number];
    const bt: StridedRef = { ...b, shape: [B, N, K], strides: [sbb, sbn, sbk] };
    const at: StridedRef = { ...a, shape: [B, K, M], strides: [sab, sak, sam] };
    const ct = product(rt, bt, at, dtype);
    const c = copy(rt, { data: ct, dtype, shape: [B, M, N], strides: [N * M, 1, M], offset: 0 }, dtype);
    rt.tracker.free(ct);
    return c;
  }
  return product(rt, a, b, dtype);
}

function product(rt: Runtime, a: StridedRef, b: StridedRef, dtype: DType): GpuStorage {
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2] as number;
  const total = B * M * N;
  const chunks = Math.ceil(K / KCHUNK);
  const partial = chunks > 1;
  const [sab, sam, sak] = a.strides as [number, number, number];
  const [sbb, sbk, sbn] = b.strides as [number, number, number];
  // Strides of size-1 dims never move a pointer: they do not break alignment.
  const st = (size: number, stride: number) => (size === 1 ? 0 : stride);
  const amode = sak === 1 && aligned(a.offset, st(B, sab), st(M, sam)) ? 1 : 0;
  const bmode = sbn === 1 && aligned(b.offset, st(B, sbb), st(K, sbk)) ? 1 : sbk === 1 && aligned(b.offset, st(B, sbb), sbn) ? 2 : 0;
  // One program per read pattern: each has a single loop (llvmpipe compiles branchy shaders slowly).
  const pattern =
    N % 4 !== 0 ? "scalar" : amode === 1 && bmode !== 0 ? `quad-a4-b${bmode === 1 ? "n4" : "k4"}` : `quad-b${bmode === 1 ? "n4" : "1"}`;
  const program = rt.programs.get(`matmul|${partial ? "partial" : dtype}|${pattern}`, () => ({
    textures: ["a", "b"],
    ints: ["m", "n", "k", "bmn", "aoff", "sab", "sam", "sak", "boff", "sbb", "sbk", "sbn"],
    body: [
      "int c = i / user_bmn;",
      "int r = i - c * user_bmn;",
      ...(pattern === "scalar"
        ? []
        : ["int lane = i - (i / 4) * 4;", "if (lane != 0) return lane == 1 ? DL_QUAD.g : (lane == 2 ? DL_QUAD.b : DL_QUAD.a);"]),
      "int bi = r / (user_m * user_n);",
      "int rem = r - bi * user_m * user_n;",
      "int m = rem / user_n;",
      "int col = rem - m * user_n;",
      `int k0 = c * ${KCHUNK};`,
      "int pa = user_aoff + bi * user_sab + m * user_sam + k0 * user_sak;",
      "int pb = user_boff + bi * user_sbb + col * user_sbn + k0 * user_sbk;",
      "int kend = user_k - k0;",
      `if (kend > ${KCHUNK}) kend = ${KCHUNK};`,
      "int j = 0;",
      ...loop(pattern),
      pattern === "scalar"
        ? `return ${partial ? "acc" : finalize(dtype, "acc")};`
        : `DL_QUAD = ${partial ? "acc4" : `vec4(${["x", "y", "z", "w"].map((l) => finalize(dtype, `acc4.${l}`)).join(", ")})`};\nreturn DL_QUAD.r;`,
    ].join("\n"),
  }));
  const out = program.run(chunks * total, [rt.tex(a), rt.tex(b)], [M, N, K, total, a.offset, sab, sam, sak, b.offset, sbb, sbk, sbn]);
  if (!partial) return rt.wrap(out, total, dtype);
  // Partials are [chunks, B*M*N]: sum over the chunk dim.
  const result = reduceWalks(rt, "sum", out, 0, coalesce([total], [[1]]), coalesce([chunks], [[total]]), chunks, total, dtype);
  out.delete();
  return result;
}

/** The dot-product loop of each read pattern (accumulating into acc, or acc4 for four outputs). */
function loop(pattern: string): string[] {
  const b4n = fetch4("b", "pb");
  const b4col = `vec4(${fetch("b", "pb")}, ${fetch("b", "pb + user_sbn")}, ${fetch("b", "pb + 2 * user_sbn")}, ${fetch("b", "pb + 3 * user_sbn")})`;
  // A quad's tail (and unaligned operands): one A value per k for four outputs.
  const perK = (b4: string) => [
    `for (int q = 0; q < ${KCHUNK}; q++) {`,
    "  if (j >= kend) break;",
    `  acc4 += ${fetch("a", "pa")} * ${b4};`,
    "  pa += user_sak; pb += user_sbk; j++;",
    "}",
  ];
  switch (pattern) {
    case "quad-a4-bn4":
      // A's k-run and B's n-runs are whole texels, walked by texel coordinates (no divisions).
      return [
        "vec4 acc4 = vec4(0.0);",
        ...cursor("a", "pa", "1"),
        ...cursor("b", "pb", "user_sbk / 4"),
        "int b1x; int b1y; int b2x; int b2y; int b3x; int b3y;",
        `for (int q = 0; q < ${KCHUNK / 4}; q++) {`,
        "  if (j + 4 > kend) break;",
        "  vec4 a4 = dl_texel(user_a, user_aSize, ax, ay);",
        ...step("a", "ax", "ay", "ax", "ay"),
        ...step("b", "b1x", "b1y", "bx", "by"),
        ...step("b", "b2x", "b2y", "b1x", "b1y"),
        ...step("b", "b3x", "b3y", "b2x", "b2y"),
        "  acc4 += a4.x * dl_texel(user_b, user_bSize, bx, by) + a4.y * dl_texel(user_b, user_bSize, b1x, b1y)",
        "        + a4.z * dl_texel(user_b, user_bSize, b2x, b2y) + a4.w * dl_texel(user_b, user_bSize, b3x, b3y);",
        ...step("b", "bx", "by", "b3x", "b3y"),
        "  pa += 4; pb += 4 * user_sbk; j += 4;",
        "}",
        ...tail(b4n),
      ];
    case "quad-a4-bk4":
      // B transposed: each output column's k-run is a whole texel; five cursors move one texel a step.
      return [
        "vec4 acc4 = vec4(0.0);",
        ...cursor("a", "pa", "1"),
        ...[0, 1, 2, 3].flatMap((c) => cursor("b", `pb + ${c} * user_sbn`, "1", `c${c}`)),
        `for (int q = 0; q < ${KCHUNK / 4}; q++) {`,
        "  if (j + 4 > kend) break;",
        "  vec4 a4 = dl_texel(user_a, user_aSize, ax, ay);",
        "  acc4 += vec4(" + [0, 1, 2, 3].map((c) => `dot(a4, dl_texel(user_b, user_bSize, c${c}x, c${c}y))`).join(", ") + ");",
        ...step("a", "ax", "ay", "ax", "ay"),
        ...[0, 1, 2, 3].flatMap((c) => step("b", `c${c}x`, `c${c}y`, `c${c}x`, `c${c}y`, `c${c}`)),
        "  pa += 4; pb += 4; j += 4;",
        "}",
        ...tail(b4col),
      ];
    case "quad-bn4":
      // B's n-runs are whole texels, walked by a texel cursor; A one value per k.
      return [
        "vec4 acc4 = vec4(0.0);",
        ...cursor("b", "pb", "user_sbk / 4"),
        `for (int q = 0; q < ${KCHUNK}; q++) {`,
        "  if (j >= kend) break;",
        `  acc4 += ${fetch("a", "pa")} * dl_texel(user_b, user_bSize, bx, by);`,
        ...step("b", "bx", "by", "bx", "by"),
        "  pa += user_sak; j++;",
        "}",
      ];
    case "quad-b1":
      return ["vec4 acc4 = vec4(0.0);", ...perK(b4col)];
    default:
      // Unrolled by 4 (fewer loop iterations: llvmpipe pays per iteration), then the tail.
      return [
        "float acc = 0.0;",
        `for (int q = 0; q < ${KCHUNK / 4}; q++) {`,
        "  if (j + 4 > kend) break;",
        `  acc += ${fetch("a", "pa")} * ${fetch("b", "pb")};`,
        `  acc += ${fetch("a", "pa + user_sak")} * ${fetch("b", "pb + user_sbk")};`,
        `  acc += ${fetch("a", "pa + 2 * user_sak")} * ${fetch("b", "pb + 2 * user_sbk")};`,
        `  acc += ${fetch("a", "pa + 3 * user_sak")} * ${fetch("b", "pb + 3 * user_sbk")};`,
        "  pa += 4 * user_sak; pb += 4 * user_sbk; j += 4;",
        "}",
        "for (int t = 0; t < 3; t++) {",
        "  if (j >= kend) break;",
        `  acc += ${fetch("a", "pa")} * ${fetch("b", "pb")};`,
        "  pa += user_sak; pb += user_sbk; j++;",
        "}",
      ];
  }
}

/** The last k % 4 values after a texel-wide loop. */
function tail(b4: string): string[] {
  return [
    "for (int t = 0; t < 3; t++) {",
    "  if (j >= kend) break;",
    `  acc4 += ${fetch("a", "pa")} * ${b4};`,
    "  pa += user_sak; pb += user_sbk; j++;",
    "}",
  ];
}

/**
 * Declares a texel cursor over texture `t` at element `idx` (a multiple of 4): its column and row
 * (`${name}x`, `${name}y`) and its step of `texels` texels split into whole rows and a remainder,
 * so that moving it costs additions instead of the two divisions of dl_fetch4.
 */
function cursor(t: string, idx: string, texels: string, name = t): string[] {
  return [
    `int ${name}t = (${idx}) / 4;`,
    `int ${name}y = ${name}t / user_${t}Size.x;`,
    `int ${name}x = ${name}t - ${name}y * user_${t}Size.x;`,
    `int ${name}dt = ${texels};`,
    `int ${name}dy = ${name}dt / user_${t}Size.x;`,
    `int ${name}dx = ${name}dt - ${name}dy * user_${t}Size.x;`,
  ];
}

/** Moves a cursor of texture `t` one step (by the step of cursor `name`) from (fx, fy) to (x, y). */
function step(t: string, x: string, y: string, fx: string, fy: string, name = t): string[] {
  return [
    `  ${x} = ${fx} + ${name}dx;`,
    `  ${y} = ${fy} + ${name}dy;`,
    `  if (${x} >= user_${t}Size.x) { ${x} -= user_${t}Size.x; ${y} += 1; }`,
  ];
}
