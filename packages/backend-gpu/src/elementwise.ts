import { type BinaryOp, type DType, isFloating, type StridedRef, type UnaryOp } from "@dl/tensor";
import { cast, finalize, mapKernel } from "./map.js";
import { MAX_LOOP, fetch } from "./program.js";
import type { Runtime } from "./runtime.js";
import type { GpuStorage } from "./storage.js";
import { coalesce } from "./strided.js";

/** GLSL per unary op over `x`, with PyTorch's conventions at edge cases (see glsl.ts). */
const unaryExpr: Record<UnaryOp, (x: string) => string> = {
  neg: (x) => `-${x}`,
  abs: (x) => `abs(${x})`,
  sign: (x) => `dl_sign(${x})`,
  reciprocal: (x) => `1.0 / ${x}`,
  square: (x) => `${x} * ${x}`,
  exp: (x) => `exp(${x})`,
  exp2: (x) => `exp2(${x})`,
  expm1: (x) => `dl_expm1(${x})`,
  log: (x) => `(${x} < 0.0 ? DL_NAN : log(${x}))`,
  log2: (x) => `(${x} < 0.0 ? DL_NAN : log2(${x}))`,
  log10: (x) => `(${x} < 0.0 ? DL_NAN : log2(${x}) * 0.30102999566398120)`,
  log1p: (x) => `(${x} < -1.0 ? DL_NAN : dl_log1p(${x}))`,
  sqrt: (x) => `(${x} < 0.0 ? DL_NAN : sqrt(${x}))`,
  rsqrt: (x) => `(${x} < 0.0 ? DL_NAN : 1.0 / sqrt(${x}))`,
  sin: (x) => `sin(${x})`,
  cos: (x) => `cos(${x})`,
  tan: (x) => `tan(${x})`,
  asin: (x) => `dl_asin(${x})`,
  acos: (x) => `dl_acos(${x})`,
  atan: (x) => `dl_atan(${x})`,
  sinh: (x) => `dl_sinh(${x})`,
  cosh: (x) => `dl_cosh(${x})`,
  tanh: (x) => `dl_tanh(${x})`,
  asinh: (x) => `dl_asinh(${x})`,
  acosh: (x) => `dl_acosh(${x})`,
  atanh: (x) => `dl_atanh(${x})`,
  sigmoid: (x) => `dl_sigmoid(${x})`,
  erf: (x) => `dl_erf(${x})`,
  erfc: (x) => `dl_erfc(${x})`,
  erfinv: (x) => `dl_erfinv(${x})`,
  // Written with an explicit NaN test: the GLSL compiler turns x < 0 ? 0 : x into max(x, 0), which drops NaN.
  relu: (x) => `(dl_isnan(${x}) ? ${x} : max(${x}, 0.0))`,
  floor: (x) => `floor(${x})`,
  ceil: (x) => `ceil(${x})`,
  round: (x) => `dl_round(${x})`,
  trunc: (x) => `dl_trunc(${x})`,
  frac: (x) => `(dl_isinf(${x}) ? DL_NAN : ${x} - dl_trunc(${x}))`,
  logicalNot: (x) => `dl_bool(${x} == 0.0)`,
  bitwiseNot: (x) => `(-${x} - 1.0)`,
  isnan: (x) => `dl_bool(dl_isnan(${x}))`,
  isinf: (x) => `dl_bool(dl_isinf(${x}))`,
  isposinf: (x) => `dl_bool(${x} == DL_INF)`,
  isneginf: (x) => `dl_bool(${x} == -DL_INF)`,
  isfinite: (x) => `dl_bool(dl_isfinite(${x}))`,
  signbit: (x) => `dl_bool(dl_signbit(${x}))`,
};

/** Ops that stay exact on integers get integer variants (floor division of ints, ...). */
function binaryExpr(op: BinaryOp, a: string, b: string, integral: boolean): string {
  switch (op) {
    case "add":
      return `${a} + ${b}`;
    case "sub":
      return `${a} - ${b}`;
    case "mul":
      return `${a} * ${b}`;
    case "div":
      return `${a} / ${b}`;
    case "floorDiv":
      return integral ? `dl_ifloordiv(${a}, ${b})` : `dl_floordiv(${a}, ${b})`;
    case "truncDiv":
      return integral ? `dl_itruncdiv(${a}, ${b})` : `dl_trunc(${a} / ${b})`;
    case "pow":
      return `dl_pow(${a}, ${b})`;
    case "remainder":
      return integral ? `dl_iremainder(${a}, ${b})` : `dl_remainder(${a}, ${b})`;
    case "fmod":
      return integral ? `dl_ifmod(${a}, ${b})` : `dl_fmod(${a}, ${b})`;
    case "atan2":
      return `dl_atan2(${a}, ${b})`;
    case "hypot":
      return `dl_hypot(${a}, ${b})`;
    case "maximum":
      return `dl_maximum(${a}, ${b})`;
    case "minimum":
      return `dl_minimum(${a}, ${b})`;
    case "fmax":
      return `dl_fmax(${a}, ${b})`;
    case "fmin":
      return `dl_fmin(${a}, ${b})`;
    case "copysign":
      return `dl_copysign(${a}, ${b})`;
    case "xlogy":
      return `dl_xlogy(${a}, ${b})`;
    case "eq":
      return `dl_bool(${a} == ${b})`;
    case "ne":
      return `dl_bool(${a} != ${b})`;
    case "lt":
      return `dl_bool(${a} < ${b})`;
    case "le":
      return `dl_bool(${a} <= ${b})`;
    case "gt":
      return `dl_bool(${a} > ${b})`;
    case "ge":
      return `dl_bool(${a} >= ${b})`;
    case "logicalAnd":
      return `dl_bool(${a} != 0.0 && ${b} != 0.0)`;
    case "logicalOr":
      return `dl_bool(${a} != 0.0 || ${b} != 0.0)`;
    case "logicalXor":
      return `dl_bool((${a} != 0.0) != (${b} != 0.0))`;
    case "bitwiseAnd":
      return `dl_bitwise(${a}, ${b}, 0)`;
    case "bitwiseOr":
      return `dl_bitwise(${a}, ${b}, 1)`;
    case "bitwiseXor":
      return `dl_bitwise(${a}, ${b}, 2)`;
  }
}

export function copy(rt: Runtime, x: StridedRef, dtype: DType): GpuStorage {
  return mapKernel(rt, `copy|${x.dtype}>${dtype}`, x.shape, [x], ([v]) => cast(x.dtype, dtype, v as string), dtype);
}

export function unary(rt: Runtime, op: UnaryOp, x: StridedRef, dtype: DType): GpuStorage {
  const f = unaryExpr[op];
  return mapKernel(rt, `unary|${op}|${dtype}`, x.shape, [x], ([v]) => finalize(dtype, f(v as string)), dtype);
}

export function binary(rt: Runtime, op: BinaryOp, a: StridedRef, b: StridedRef, dtype: DType): GpuStorage {
  const integral = !isFloating(a.dtype);
  return mapKernel(
    rt,
    `binary|${op}|${integral ? "i" : "f"}|${dtype}`,
    a.shape,
    [a, b],
    ([x, y]) => finalize(dtype, binaryExpr(op, x as string, y as string, integral)),
    dtype,
  );
}

export function where(rt: Runtime, cond: StridedRef, a: StridedRef, b: StridedRef, dtype: DType): GpuStorage {
  return mapKernel(rt, `where|${dtype}`, a.shape, [cond, a, b], ([c, x, y]) => finalize(dtype, `(${c} != 0.0 ? ${x} : ${y})`), dtype);
}

/** A fresh storage of n elements, all `value` (already a value of dtype). */
export function fill(rt: Runtime, n: number, value: number, dtype: DType): GpuStorage {
  return mapKernel(rt, "fill", [n], [], () => "user_value", dtype, [{ name: "value", value }]);
}

/**
 * Writes src (broadcast to dst's shape) into the strided view dst. A fragment shader cannot
 * scatter, so the kernel runs over every element of dst's storage and inverts the view: with the
 * view's dims sorted by stride (each stride larger than the span of the smaller ones, true of
 * every view made by slicing, permuting, selecting, diagonal and unfold without overlap), an
 * offset's coordinates follow by successive division; other views take writeBySearch. The
 * storage then takes the new texture.
 */
export function write(rt: Runtime, dst: StridedRef, src: StridedRef): void {
  const storage = dst.data as GpuStorage;
  const total = storage.size;
  if (total === 0 || dst.shape.some((s) => s === 0)) return;
  const merged = coalesce(dst.shape, [dst.strides, src.strides]);
  let offset = dst.offset;
  let srcOffset = src.offset;
  const dims = merged.shape.map((n, d) => {
    let st = (merged.strides[0] as number[])[d] as number;
    let ss = (merged.strides[1] as number[])[d] as number;
    if (st < 0) {
      // Walk a reversed dim forwards: start at its last element.
      offset += (n - 1) * st;
      srcOffset += (n - 1) * ss;
      st = -st;
      ss = -ss;
    }
    return { n, st, ss };
  });
  dims.sort((a, b) => b.st - a.st);
  for (let k = 0; k < dims.length; k++) {
    let span = 0;
    for (let j = k + 1; j < dims.length; j++) span += ((dims[j] as { n: number }).n - 1) * (dims[j] as { st: number }).st;
    if ((dims[k] as { st: number }).st <= span) {
      writeBySearch(rt, storage, dst, src);
      return;
    }
  }
  const rank = dims.length;
  const program = rt.programs.get(`write|${src.dtype}>${dst.dtype}|r${rank}`, () => {
    const lines = ["int r = i - user_off;", "bool inside = r >= 0;", "int ps = user_soff;", "int c;"];
    for (let k = 0; k < rank; k++) {
      lines.push(`c = r / user_st${k};`, `if (c >= user_n${k}) inside = false;`, `r -= c * user_st${k};`, `ps += c * user_ss${k};`);
    }
    lines.push(
      "if (r != 0) inside = false;",
      `if (inside) return ${cast(src.dtype, dst.dtype, fetch("src", "ps"))};`,
      `return ${fetch("old", "i")};`,
    );
    const ints = ["off", "soff"];
    for (let k = 0; k < rank; k++) ints.push(`st${k}`, `n${k}`, `ss${k}`);
    return { textures: ["old", "src"], ints, body: lines.join("\n") };
  });
  const ints = [offset, srcOffset];
  for (const d of dims) ints.push(d.st, d.n, d.ss);
  const texture = program.run(total, [rt.tex(storage), rt.tex(src)], ints);
  rt.tracker.replace(storage, texture);
}

/**
 * write() for views whose strides interleave or overlap (unfold with step < size, as_strided): no
 * division recovers an offset's coordinates, so each storage element scans the view's elements in
 * order and takes the last one that lands on it (the CPU backend's order). O(storage x view):
 * only these rare views take it, MAX_LOOP view elements per pass.
 */
function writeBySearch(rt: Runtime, storage: GpuStorage, dst: StridedRef, src: StridedRef): void {
  const walk = coalesce(dst.shape, [dst.strides, src.strides]);
  const rank = walk.shape.length;
  const total = storage.size;
  const count = walk.shape.reduce((a, b) => a * b, 1);
  const program = rt.programs.get(`writeSearch|${src.dtype}>${dst.dtype}|r${rank}`, () => {
    const lines = [
      `float val = ${fetch("old", "i")};`,
      `for (int j = 0; j < ${MAX_LOOP}; j++) {`,
      "  int e = user_j0 + j;",
      "  if (e >= user_j1) break;",
      "  int q = e;",
      "  int c;",
      "  int pd = user_off;",
      "  int ps = user_soff;",
    ];
    for (let d = rank - 1; d >= 0; d--) {
      lines.push(
        d > 0 ? `  c = q - (q / user_n${d}) * user_n${d}; q = q / user_n${d};` : "  c = q;",
        `  pd += c * user_st${d};`,
        `  ps += c * user_ss${d};`,
      );
    }
    lines.push(`  if (pd == i) val = ${cast(src.dtype, dst.dtype, fetch("src", "ps"))};`, "}", "return val;");
    const ints = ["off", "soff", "j0", "j1"];
    for (let d = 0; d < rank; d++) ints.push(`n${d}`, `st${d}`, `ss${d}`);
    return { textures: ["old", "src"], ints, body: lines.join("\n") };
  });
  for (let j0 = 0; j0 < count; j0 += MAX_LOOP) {
    const ints = [dst.offset, src.offset, j0, Math.min(count, j0 + MAX_LOOP)];
    for (let d = 0; d < rank; d++)
      ints.push(walk.shape[d] as number, (walk.strides[0] as number[])[d] as number, (walk.strides[1] as number[])[d] as number);
    rt.tracker.replace(storage, program.run(total, [rt.tex(storage), rt.tex(src)], ints));
  }
}
