import type { StridedRef, WindowGeometry } from "@dl/tensor";
import type { GLTexture } from "../gpujs.js";
import { finalize } from "../map.js";
import { MAX_LOOP, fetch } from "../program.js";
import type { Runtime } from "../runtime.js";
import type { GpuStorage } from "../storage.js";

/**
 * im2col and col2im as one kernel each. Both are compiled once (rank-6 addressing with every size,
 * stride and coefficient a uniform) and serve every geometry and output order.
 */

/**
 * im2col: output element i, split over the memory-order dims of the permuted [N, C, kh, kw, ho, wo],
 * moves the source offset (n, c), the window row (i, oh) and the window column (j, ow) by per-dim
 * coefficients; a position outside the input reads 0.
 */
export function im2col(rt: Runtime, x: StridedRef, g: WindowGeometry, order: readonly number[]): GpuStorage {
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  const pick = (v: number[]) => order.map((d) => v[d] as number);
  const sizes = pick([g.n, g.c, g.kh, g.kw, g.ho, g.wo]);
  const total = sizes.reduce((a, b) => a * b, 1);
  if (total === 0) return rt.wrap(null, 0, x.dtype);
  const offs = pick([sN, sC, 0, 0, 0, 0]);
  const rows = pick([0, 0, g.dh, 0, g.sh, 0]);
  const cols = pick([0, 0, 0, g.dw, 0, g.sw]);
  const program = rt.programs.get("im2col", () => {
    const lines = ["int q = i;", "int c;", "int off = user_xoff;", "int row = -user_pt;", "int col = -user_pl;"];
    for (let d = 5; d >= 0; d--) {
      lines.push(d > 0 ? `c = q - (q / user_n${d}) * user_n${d}; q = q / user_n${d};` : "c = q;");
      lines.push(`off += c * user_o${d};`, `row += c * user_r${d};`, `col += c * user_c${d};`);
    }
    lines.push(
      "if (row < 0 || row >= user_h || col < 0 || col >= user_w) return 0.0;",
      `return ${fetch("x", "off + row * user_sh + col * user_sw")};`,
    );
    const ints = ["xoff", "pt", "pl", "h", "w", "sh", "sw"];
    for (let d = 0; d < 6; d++) ints.push(`n${d}`, `o${d}`, `r${d}`, `c${d}`);
    return { textures: ["x"], ints, body: lines.join("\n") };
  });
  const ints = [x.offset, g.pt, g.pl, g.h, g.w, sH, sW];
  for (let d = 0; d < 6; d++) ints.push(sizes[d] as number, offs[d] as number, rows[d] as number, cols[d] as number);
  return rt.wrap(program.run(total, [rt.tex(x)], ints), total, x.dtype);
}

/**
 * Runs `pass` over window taps [t0, t1) in chunks of MAX_LOOP (llvmpipe's per-fragment loop cap),
 * each pass continuing from the previous pass's texture; returns the last.
 */
export function tapPasses(taps: number, pass: (t0: number, t1: number, prev: GLTexture | null) => GLTexture): GLTexture {
  let prev: GLTexture | null = null;
  for (let t0 = 0; t0 < Math.max(taps, 1); t0 += MAX_LOOP) {
    const next: GLTexture = pass(t0, Math.min(taps, t0 + MAX_LOOP), prev);
    prev?.delete();
    prev = next;
  }
  return prev as GLTexture;
}

/** GLSL splitting output index i of an [N, C, H, W] tensor into n, ch, h, w (uniforms c, h, w). */
export const pixelOf = [
  "int w = i - (i / user_w) * user_w;",
  "int q = i / user_w;",
  "int h = q - (q / user_h) * user_h;",
  "q = q / user_h;",
  "int ch = q - (q / user_c) * user_c;",
  "int n = q / user_c;",
].join("\n");

/**
 * GLSL (inside a tap loop, with int variables h, w of the input pixel and t of the tap) that
 * finds the window (oh, ow) whose tap t covers the pixel, or `continue`s when there is none.
 */
export const coveringWindow = [
  "int ti = t / user_kw;",
  "int tj = t - ti * user_kw;",
  "int rr = h + user_pt - ti * user_dh;",
  "int cc = w + user_pl - tj * user_dw;",
  "if (rr < 0 || cc < 0) continue;",
  "int oh = rr / user_sh;",
  "int ow = cc / user_sw;",
  "if (oh * user_sh != rr || ow * user_sw != cc || oh >= user_ho || ow >= user_wo) continue;",
].join("\n");

/** The geometry uniforms coveringWindow reads. */
export const WINDOW_INTS = ["kw", "pt", "pl", "dh", "dw", "sh", "sw", "ho", "wo"];
export const windowInts = (g: WindowGeometry) => [g.kw, g.pt, g.pl, g.dh, g.dw, g.sh, g.sw, g.ho, g.wo];

/** col2im: each input pixel sums the taps of the windows covering it (a gather: no scatter needed). */
export function col2im(rt: Runtime, cols: StridedRef, g: WindowGeometry): GpuStorage {
  const total = g.n * g.c * g.h * g.w;
  const dtype = cols.dtype;
  if (total === 0) return rt.wrap(null, 0, dtype);
  const program = rt.programs.get(`col2im|${dtype}`, () => ({
    textures: ["cols", "prev"],
    ints: ["h", "w", "c", "hasPrev", "t0", "t1", "off", ...WINDOW_INTS, "s0", "s1", "s2", "s3", "s4", "s5"],
    body: [
      pixelOf,
      "int base = user_off + n * user_s0 + ch * user_s1;",
      `float acc = user_hasPrev == 1 ? ${fetch("prev", "i")} : 0.0;`,
      `for (int k = 0; k < ${MAX_LOOP}; k++) {`,
      "  int t = user_t0 + k;",
      "  if (t >= user_t1) break;",
      coveringWindow,
      `  acc += ${fetch("cols", "base + ti * user_s2 + tj * user_s3 + oh * user_s4 + ow * user_s5")};`,
      "}",
      `return ${finalize(dtype, "acc")};`,
    ].join("\n"),
  }));
  const src = rt.tex(cols);
  const out = tapPasses(g.kh * g.kw, (t0, t1, prev) =>
    program.run(total, [src, prev ?? src], [g.h, g.w, g.c, prev ? 1 : 0, t0, t1, cols.offset, ...windowInts(g), ...cols.strides]),
  );
  return rt.wrap(out, total, dtype);
}
