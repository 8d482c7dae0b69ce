import type { StridedRef, WindowGeometry } from "@dl/tensor";
import type { GLTexture } from "../gpujs.js";
import { finalize } from "../map.js";
import { MAX_LOOP, fetch } from "../program.js";
import type { Runtime } from "../runtime.js";
import type { GpuStorage } from "../storage.js";
import { WINDOW_INTS, coveringWindow, pixelOf, tapPasses, windowInts } from "./conv.js";

/**
 * Max pooling: each window's first maximum in row-major order (a NaN beats any number, the first
 * NaN wins), starting from -inf at the window's first position inside the input. One program
 * computes either the values or the flat indices (`want`); windows longer than MAX_LOOP taps
 * continue from the previous pass's values and indices.
 */
export function maxPool2d(rt: Runtime, x: StridedRef, g: WindowGeometry): { values: GpuStorage; indices: GpuStorage } {
  const total = g.n * g.c * g.ho * g.wo;
  if (total === 0) return { values: rt.wrap(null, 0, x.dtype), indices: rt.wrap(null, 0, "int64") };
  const program = rt.programs.get("maxPool2d", () => ({
    textures: ["x", "pv", "pi"],
    ints: [
      "want",
      "hasPrev",
      "t0",
      "t1",
      "off",
      "sn",
      "sc",
      "sh",
      "sw",
      "c",
      "h",
      "w",
      "kw",
      "ho",
      "wo",
      "strh",
      "strw",
      "pt",
      "pl",
      "dh",
      "dw",
    ],
    body: [
      "int ow = i - (i / user_wo) * user_wo;",
      "int q = i / user_wo;",
      "int oh = q - (q / user_ho) * user_ho;",
      "q = q / user_ho;",
      "int ch = q - (q / user_c) * user_c;",
      "int base = user_off + (q / user_c) * user_sn + ch * user_sc;",
      "int r0 = oh * user_strh - user_pt;",
      "int c0 = ow * user_strw - user_pl;",
      "float best = -DL_INF;",
      "int at = (r0 >= 0 ? r0 : r0 + ((user_dh - 1 - r0) / user_dh) * user_dh) * user_w + (c0 >= 0 ? c0 : c0 + ((user_dw - 1 - c0) / user_dw) * user_dw);",
      `if (user_hasPrev == 1) { best = ${fetch("pv", "i")}; at = int(${fetch("pi", "i")}); }`,
      `for (int k = 0; k < ${MAX_LOOP}; k++) {`,
      "  int t = user_t0 + k;",
      "  if (t >= user_t1) break;",
      "  int ti = t / user_kw;",
      "  int r = r0 + ti * user_dh;",
      "  int cc = c0 + (t - ti * user_kw) * user_dw;",
      "  if (r < 0 || r >= user_h || cc < 0 || cc >= user_w) continue;",
      `  float v = ${fetch("x", "base + r * user_sh + cc * user_sw")};`,
      "  if (v > best || (dl_isnan(v) && !dl_isnan(best))) { best = v; at = r * user_w + cc; }",
      "}",
      "return user_want == 0 ? best : float(at);",
    ].join("\n"),
  }));
  const [sn, sc, sh, sw] = x.strides as [number, number, number, number];
  const src = rt.tex(x);
  const geometry = [x.offset, sn, sc, sh, sw, g.c, g.h, g.w, g.kw, g.ho, g.wo, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw];
  let indices: GLTexture | null = null;
  const values = tapPasses(g.kh * g.kw, (t0, t1, prev) => {
    const pi = indices;
    const ints = [prev ? 1 : 0, t0, t1, ...geometry];
    indices = program.run(total, [src, prev ?? src, pi ?? src], [1, ...ints]);
    const values = program.run(total, [src, prev ?? src, pi ?? src], [0, ...ints]);
    pi?.delete();
    return values;
  });
  return { values: rt.wrap(values, total, x.dtype), indices: rt.wrap(indices, total, "int64") };
}

/** Max pooling's input gradient: each input pixel sums the grads of the windows whose argmax it is. */
export function maxPool2dBackward(rt: Runtime, grad: StridedRef, indices: StridedRef, g: WindowGeometry): GpuStorage {
  const total = g.n * g.c * g.h * g.w;
  const dtype = grad.dtype;
  if (total === 0) return rt.wrap(null, 0, dtype);
  const program = rt.programs.get(`maxPool2dBackward|${dtype}`, () => ({
    textures: ["grad", "idx", "prev"],
    ints: ["h", "w", "c", "hasPrev", "t0", "t1", "goff", "ioff", ...WINDOW_INTS, "g0", "g1", "g2", "g3", "i0", "i1", "i2", "i3"],
    body: [
      pixelOf,
      "int gb = user_goff + n * user_g0 + ch * user_g1;",
      "int ib = user_ioff + n * user_i0 + ch * user_i1;",
      "float me = float(h * user_w + w);",
      `float acc = user_hasPrev == 1 ? ${fetch("prev", "i")} : 0.0;`,
      `for (int k = 0; k < ${MAX_LOOP}; k++) {`,
      "  int t = user_t0 + k;",
      "  if (t >= user_t1) break;",
      coveringWindow,
      `  if (${fetch("idx", "ib + oh * user_i2 + ow * user_i3")} == me) acc += ${fetch("grad", "gb + oh * user_g2 + ow * user_g3")};`,
      "}",
      `return ${finalize(dtype, "acc")};`,
    ].join("\n"),
  }));
  const gt = rt.tex(grad);
  const it = rt.tex(indices);
  const out = tapPasses(g.kh * g.kw, (t0, t1, prev) =>
    program.run(
      total,
      [gt, it, prev ?? gt],
      [g.h, g.w, g.c, prev ? 1 : 0, t0, t1, grad.offset, indices.offset, ...windowInts(g), ...grad.strides, ...indices.strides],
    ),
  );
  return rt.wrap(out, total, dtype);
}

/** GLSL setting float `d` to the average-pooling divisor of window (oh, ow) (no int min/max in GLSL ES 1.00). */
const divisorCode = [
  "float d = float(user_divisor);",
  "if (user_divisor == 0) {",
  "  int r0 = oh * user_sh - user_pt;",
  "  int c0 = ow * user_sw - user_pl;",
  "  int r1 = r0 + user_kh < user_h + user_pt ? r0 + user_kh : user_h + user_pt;",
  "  int c1 = c0 + user_kw < user_w + user_pl ? c0 + user_kw : user_w + user_pl;",
  "  if (user_cip == 1) d = float((r1 - r0) * (c1 - c0));",
  "  else {",
  "    int rs = (r1 < user_h ? r1 : user_h) - (r0 > 0 ? r0 : 0);",
  "    int cs = (c1 < user_w ? c1 : user_w) - (c0 > 0 ? c0 : 0);",
  "    d = rs > 0 && cs > 0 ? float(rs * cs) : 1.0;",
  "  }",
  "}",
].join("\n");

const AVG_INTS = ["h", "w", "c", "hasPrev", "last", "t0", "t1", "off", "s0", "s1", "s2", "s3", "kh", ...WINDOW_INTS, "cip", "divisor"];

/**
 * Average pooling forward (x [N, C, H, W] -> [N, C, ho, wo]: a window sum over the input) or
 * backward (grad [N, C, ho, wo] -> [N, C, H, W]: each input pixel sums the covering windows'
 * grads), each divided by its window's divisor. Taps beyond MAX_LOOP continue in further passes.
 */
function avgPool(rt: Runtime, x: StridedRef, g: WindowGeometry, cip: boolean, divisor: number, backward: boolean): GpuStorage {
  const total = g.n * g.c * (backward ? g.h * g.w : g.ho * g.wo);
  const dtype = x.dtype;
  if (total === 0) return rt.wrap(null, 0, dtype);
  const [rows, cols] = backward ? ["h", "w"] : ["ho", "wo"];
  const program = rt.programs.get(`avgPool2d${backward ? "Backward" : ""}|${dtype}`, () => ({
    textures: ["x", "prev"],
    ints: AVG_INTS,
    body: [
      `int ${cols === "w" ? "w" : "ow"} = i - (i / user_${cols}) * user_${cols};`,
      `int q = i / user_${cols};`,
      `int ${rows === "h" ? "h" : "oh"} = q - (q / user_${rows}) * user_${rows};`,
      `q = q / user_${rows};`,
      "int ch = q - (q / user_c) * user_c;",
      "int base = user_off + (q / user_c) * user_s0 + ch * user_s1;",
      `float acc = user_hasPrev == 1 ? ${fetch("prev", "i")} : 0.0;`,
      ...(backward
        ? [
            `for (int k = 0; k < ${MAX_LOOP}; k++) {`,
            "  int t = user_t0 + k;",
            "  if (t >= user_t1) break;",
            coveringWindow,
            divisorCode,
            `  acc += ${fetch("x", "base + oh * user_s2 + ow * user_s3")} / d;`,
            "}",
            `return ${finalize(dtype, "acc")};`,
          ]
        : [
            "int r0 = oh * user_sh - user_pt;",
            "int c0 = ow * user_sw - user_pl;",
            `for (int k = 0; k < ${MAX_LOOP}; k++) {`,
            "  int t = user_t0 + k;",
            "  if (t >= user_t1) break;",
            "  int ti = t / user_kw;",
            "  int r = r0 + ti;",
            "  int cc = c0 + t - ti * user_kw;",
            "  if (r < 0 || r >= user_h || cc < 0 || cc >= user_w) continue;",
            `  acc += ${fetch("x", "base + r * user_s2 + cc * user_s3")};`,
            "}",
            "if (user_last == 0) return acc;",
            divisorCode,
            `return ${finalize(dtype, "acc / d")};`,
          ]),
    ].join("\n"),
  }));
  const taps = g.kh * g.kw;
  const src = rt.tex(x);
  const out = tapPasses(taps, (t0, t1, prev) =>
    program.run(
      total,
      [src, prev ?? src],
      [g.h, g.w, g.c, prev ? 1 : 0, t1 >= taps ? 1 : 0, t0, t1, x.offset, ...x.strides, g.kh, ...windowInts(g), cip ? 1 : 0, divisor],
    ),
  );
  return rt.wrap(out, total, dtype);
}

export const avgPool2d = (rt: Runtime, x: StridedRef, g: WindowGeometry, cip: boolean, divisor: number) =>
  avgPool(rt, x, g, cip, divisor, false);
export const avgPool2dBackward = (rt: Runtime, grad: StridedRef, g: WindowGeometry, cip: boolean, divisor: number) =>
  avgPool(rt, grad, g, cip, divisor, true);
