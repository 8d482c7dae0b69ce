import type { UnaryOp } from "../backend.js";
import { type DType, getDefaultDtype, isFloating, isIntegral } from "../dtype.js";
import { ArgumentError, DTypeError } from "../errors.js";
import { labelGrad } from "../grad-hooks.js";
import { broadcastShapes } from "../shape.js";
import { Tensor } from "../tensor.js";
import { add, mul, rsub, sub } from "./arithmetic.js";
import { binaryOp, promote, type TensorLike, unaryOp, whereOp, assertTensor, assertTensorLike } from "./dispatch.js";

/**
 * Elementwise math: exponentials, logarithms, trigonometry, special functions, rounding,
 * clamping and the binary max/min family. Float-valued functions of integer or bool tensors give
 * the default float dtype, as in PyTorch.
 */

const floatOf = (d: DType): DType => (isFloating(d) ? d : getDefaultDtype());

const notImplemented = (op: string, d: DType, why = ""): DTypeError => new DTypeError(op, `not implemented for dtype ${d}${why}`);

/** Broadcast check under the public op's name (the primitives below would report their own). */
function checkBroadcast(op: string, ...values: TensorLike[]): void {
  broadcastShapes(op, ...values.map((v) => (v instanceof Tensor ? v.shape : [])));
}

function floatUnary(op: UnaryOp, x: Tensor): Tensor {
  return unaryOp(op, x, floatOf(x.dtype));
}

// ---- exponentials and logarithms ----

export function exp(x: Tensor): Tensor {
  assertTensor("exp", x, "input");
  return floatUnary("exp", x);
}
export function exp2(x: Tensor): Tensor {
  assertTensor("exp2", x, "input");
  return floatUnary("exp2", x);
}
export function expm1(x: Tensor): Tensor {
  assertTensor("expm1", x, "input");
  return floatUnary("expm1", x);
}
export function log(x: Tensor): Tensor {
  assertTensor("log", x, "input");
  return floatUnary("log", x);
}
export function log2(x: Tensor): Tensor {
  assertTensor("log2", x, "input");
  return floatUnary("log2", x);
}
export function log10(x: Tensor): Tensor {
  assertTensor("log10", x, "input");
  return floatUnary("log10", x);
}
export function log1p(x: Tensor): Tensor {
  assertTensor("log1p", x, "input");
  return floatUnary("log1p", x);
}
export function sqrt(x: Tensor): Tensor {
  assertTensor("sqrt", x, "input");
  return floatUnary("sqrt", x);
}
export function rsqrt(x: Tensor): Tensor {
  assertTensor("rsqrt", x, "input");
  return floatUnary("rsqrt", x);
}

// ---- trigonometric and hyperbolic ----

export function sin(x: Tensor): Tensor {
  assertTensor("sin", x, "input");
  return floatUnary("sin", x);
}
export function cos(x: Tensor): Tensor {
  assertTensor("cos", x, "input");
  return floatUnary("cos", x);
}
export function tan(x: Tensor): Tensor {
  assertTensor("tan", x, "input");
  return floatUnary("tan", x);
}
export function asin(x: Tensor): Tensor {
  assertTensor("asin", x, "input");
  return floatUnary("asin", x);
}
export function acos(x: Tensor): Tensor {
  assertTensor("acos", x, "input");
  return floatUnary("acos", x);
}
export function atan(x: Tensor): Tensor {
  assertTensor("atan", x, "input");
  return floatUnary("atan", x);
}
export function sinh(x: Tensor): Tensor {
  assertTensor("sinh", x, "input");
  return floatUnary("sinh", x);
}
export function cosh(x: Tensor): Tensor {
  assertTensor("cosh", x, "input");
  return floatUnary("cosh", x);
}
export function tanh(x: Tensor): Tensor {
  assertTensor("tanh", x, "input");
  return floatUnary("tanh", x);
}
export function asinh(x: Tensor): Tensor {
  assertTensor("asinh", x, "input");
  return floatUnary("asinh", x);
}
export function acosh(x: Tensor): Tensor {
  assertTensor("acosh", x, "input");
  return floatUnary("acosh", x);
}
export function atanh(x: Tensor): Tensor {
  assertTensor("atanh", x, "input");
  return floatUnary("atanh", x);
}

/** Angle of (b, a) in (-pi, pi]; integer inputs give the default float dtype. */
export function atan2(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("atan2", a, "input");
  assertTensorLike("atan2", b, "other");
  return binaryOp("atan2", a, b, floatOf(promote(a, b)));
}

// ---- activations and special functions ----

export function sigmoid(x: Tensor): Tensor {
  assertTensor("sigmoid", x, "input");
  return floatUnary("sigmoid", x);
}

/** max(x, 0); keeps integer dtypes. */
export function relu(x: Tensor): Tensor {
  assertTensor("relu", x, "input");
  if (x.dtype === "bool") throw notImplemented("relu", x.dtype, " (boolean inputs are not supported)");
  return unaryOp("relu", x);
}

export function erf(x: Tensor): Tensor {
  assertTensor("erf", x, "input");
  return floatUnary("erf", x);
}
export function erfc(x: Tensor): Tensor {
  assertTensor("erfc", x, "input");
  return floatUnary("erfc", x);
}
export function erfinv(x: Tensor): Tensor {
  assertTensor("erfinv", x, "input");
  return floatUnary("erfinv", x);
}

/**
 * log(z / (1 - z)); with eps >= 0, z is x clamped to [eps, 1 - eps] first (PyTorch's rule:
 * below eps -> eps, else above 1 - eps -> 1 - eps, so NaN stays NaN).
 */
export function logit(x: Tensor, eps?: number | null): Tensor {
  assertTensor("logit", x, "input");
  let z = isFloating(x.dtype) ? x : x.to(getDefaultDtype());
  if (eps !== undefined && eps !== null && eps >= 0) {
    const hi = 1 - eps;
    z = whereOp(binaryOp("lt", z, eps, z.dtype, "bool"), eps, whereOp(binaryOp("gt", z, hi, z.dtype, "bool"), hi, z));
  }
  return labelGrad(log(binaryOp("div", z, rsub(z, 1), z.dtype)), "LogitBackward0");
}

/** x * log(y), defined as 0 where x == 0 (unless y is NaN). */
export function xlogy(x: TensorLike, y: TensorLike): Tensor {
  assertTensorLike("xlogy", x, "input");
  assertTensorLike("xlogy", y, "y");
  const r = binaryOp("xlogy", x, y, floatOf(promote(x, y)));
  // PyTorch names the scalar overloads XlogyBackward1 (scalar x) and XlogyBackward2 (scalar y).
  return x instanceof Tensor && y instanceof Tensor ? r : labelGrad(r, x instanceof Tensor ? "XlogyBackward2" : "XlogyBackward1");
}

/** sqrt(a^2 + b^2) without overflow; floating dtypes only. */
export function hypot(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("hypot", a, "input");
  assertTensorLike("hypot", b, "other");
  const dt = promote(a, b);
  if (!isFloating(dt)) throw notImplemented("hypot", dt, " (hypot needs floating point inputs)");
  return binaryOp("hypot", a, b, dt);
}

/** |a| with the sign of b (the sign bit: -0 counts as negative); integers give the default float dtype. */
export function copysign(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("copysign", a, "input");
  assertTensorLike("copysign", b, "other");
  const r = binaryOp("copysign", a, b, floatOf(promote(a, b)));
  return b instanceof Tensor ? r : labelGrad(r, "CopysignBackward1");
}

// ---- rounding ----

function rounding(op: "floor" | "ceil" | "trunc" | "round", x: Tensor): Tensor {
  if (x.dtype === "bool") throw notImplemented(op, x.dtype);
  // Integers are already integral: PyTorch returns a copy.
  return isIntegral(x.dtype) ? x.clone() : unaryOp(op, x);
}

export function floor(x: Tensor): Tensor {
  assertTensor("floor", x, "input");
  return rounding("floor", x);
}
export function ceil(x: Tensor): Tensor {
  assertTensor("ceil", x, "input");
  return rounding("ceil", x);
}
export function trunc(x: Tensor): Tensor {
  assertTensor("trunc", x, "input");
  return rounding("trunc", x);
}

/**
 * Round half to even. With { decimals }, rounds to that many decimal places as PyTorch does:
 * round(x * 10^d) / 10^d (x / 10^-d then * 10^-d for negative d), each step in x's dtype.
 */
export function round(x: Tensor, options: { decimals?: number } = {}): Tensor {
  assertTensor("round", x, "input");
  const decimals = options.decimals ?? 0;
  if (!Number.isInteger(decimals)) throw new ArgumentError("round", `decimals must be an integer, got ${decimals}`);
  if (decimals === 0) return rounding("round", x);
  if (!isFloating(x.dtype)) throw notImplemented("round", x.dtype, " with decimals (needs a floating point tensor)");
  // Halves compute in float32 and round once at the end, like PyTorch's opmath on GPU.
  const half = x.dtype === "float16" || x.dtype === "bfloat16";
  const xf = half ? x.to("float32") : x;
  const scale = 10 ** Math.abs(decimals);
  const r =
    decimals > 0 ? binaryOp("div", unaryOp("round", mul(xf, scale)), scale) : mul(unaryOp("round", binaryOp("div", xf, scale)), scale);
  return labelGrad(half ? r.to(x.dtype) : r, "RoundBackward1");
}

/** x - trunc(x), with the sign of x; floating dtypes only. */
export function frac(x: Tensor): Tensor {
  assertTensor("frac", x, "input");
  if (!isFloating(x.dtype)) throw notImplemented("frac", x.dtype, " (frac needs a floating point tensor)");
  return unaryOp("frac", x);
}

// ---- max / min family ----

/** Elementwise max; NaN if either is NaN. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("maximum", a, "input");
  assertTensorLike("maximum", b, "other");
  return binaryOp("maximum", a, b);
}

/** Elementwise min; NaN if either is NaN. */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("minimum", a, "input");
  assertTensorLike("minimum", b, "other");
  return binaryOp("minimum", a, b);
}

/** Elementwise max ignoring NaN (NaN only where both are NaN). */
export function fmax(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("fmax", a, "input");
  assertTensorLike("fmax", b, "other");
  return binaryOp("fmax", a, b);
}

/** Elementwise min ignoring NaN (NaN only where both are NaN). */
export function fmin(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("fmin", a, "input");
  assertTensorLike("fmin", b, "other");
  return binaryOp("fmin", a, b);
}

export interface ClampOptions {
  min?: TensorLike | null;
  max?: TensorLike | null;
}

function isNaNScalar(v: TensorLike | null): boolean {
  return typeof v === "number" && Number.isNaN(v);
}

/**
 * One side of clamp: where x is past the bound (x < lo, or x > hi), the bound; elsewhere x. A
 * NaN in a tensor bound counts as past, so it propagates. Built from where (not maximum) so that
 * the gradient reaches x wherever lo <= x <= hi, ties included, as PyTorch's clamp backward does.
 */
function applyBound(r: Tensor, bound: TensorLike, past: "lt" | "gt"): Tensor {
  let mask = binaryOp(past, r, bound, promote(r, bound), "bool");
  if (bound instanceof Tensor && isFloating(bound.dtype))
    mask = binaryOp("logicalOr", mask, unaryOp("isnan", bound, "bool"), "bool", "bool");
  return whereOp(mask, bound, r);
}

function clampImpl(op: string, x: Tensor, lo: TensorLike | null, hi: TensorLike | null): Tensor {
  if (lo === null && hi === null) throw new ArgumentError(op, "at least one of 'min' or 'max' must not be null");
  const bounds = [lo, hi].filter((v): v is TensorLike => v !== null);
  const dt = promote(x, ...bounds);
  checkBroadcast(op, x, ...bounds);
  const scalars = !(lo instanceof Tensor) && !(hi instanceof Tensor);
  const label = scalars ? "ClampBackward1" : "ClampBackward0";
  // PyTorch's scalar bounds: with both given, a NaN one makes every element NaN; a NaN bound
  // given alone is ignored. Tensor bounds propagate NaN elementwise.
  if (scalars && lo !== null && hi !== null && (isNaNScalar(lo) || isNaNScalar(hi))) {
    return labelGrad(binaryOp("maximum", x, Number.NaN, dt), label);
  }
  // min(max(x, lo), hi): where lo > hi every element becomes hi, as in PyTorch.
  let r = x.dtype === dt ? x : x.to(dt);
  if (lo !== null && !isNaNScalar(lo)) r = applyBound(r, lo, "lt");
  if (hi !== null && !isNaNScalar(hi)) r = applyBound(r, hi, "gt");
  if (r === x) r = x.clone();
  return labelGrad(r, label);
}

function clampArgs(min?: TensorLike | null | ClampOptions, max?: TensorLike | null): [TensorLike | null, TensorLike | null] {
  if (min !== null && typeof min === "object" && !(min instanceof Tensor)) return [min.min ?? null, min.max ?? null];
  return [min ?? null, max ?? null];
}

/**
 * Limits x to [min, max]: clamp(x, { min, max }) or clamp(x, min, max). Bounds are numbers or
 * tensors (broadcast); the result dtype promotes x with the bounds (clamp(int, 0.5) is float).
 */
export function clamp(x: Tensor, min?: TensorLike | null | ClampOptions, max?: TensorLike | null): Tensor {
  assertTensor("clamp", x, "input");
  const [lo, hi] = clampArgs(min, max);
  return clampImpl("clamp", x, lo, hi);
}

/** Alias of clamp. */
export function clip(x: Tensor, min?: TensorLike | null | ClampOptions, max?: TensorLike | null): Tensor {
  assertTensor("clip", x, "input");
  const [lo, hi] = clampArgs(min, max);
  return clampImpl("clip", x, lo, hi);
}

// ---- interpolation ----

/**
 * start + weight * (end - start), evaluated as PyTorch 1.13 does for accuracy near weight = 1:
 * end - (end - start) * (1 - weight) when weight >= 0.5 (signed: negative weights take the first form). start, end (and a tensor weight) must
 * share one floating dtype; all three broadcast.
 */
export function lerp(start: Tensor, end: Tensor, weight: TensorLike): Tensor {
  assertTensor("lerp", start, "start");
  assertTensor("lerp", end, "end");
  assertTensorLike("lerp", weight, "weight");
  if (end.dtype !== start.dtype) throw new DTypeError("lerp", `expected dtype ${start.dtype} for end but got dtype ${end.dtype}`);
  if (weight instanceof Tensor && weight.dtype !== start.dtype) {
    throw new DTypeError("lerp", `expected dtype ${start.dtype} for weight but got dtype ${weight.dtype}`);
  }
  if (!isFloating(start.dtype)) throw notImplemented("lerp", start.dtype, " (lerp needs floating point tensors)");
  checkBroadcast("lerp", start, end, weight);
  // Halves compute in float32 and round once, like PyTorch's opmath.
  const half = start.dtype === "float16" || start.dtype === "bfloat16";
  const up = (t: Tensor) => (half ? t.to("float32") : t);
  const s = up(start);
  const e = up(end);
  const diff = sub(e, s);
  let r: Tensor;
  if (weight instanceof Tensor) {
    const w = up(weight);
    const small = binaryOp("lt", w, 0.5, w.dtype, "bool");
    r = whereOp(small, add(s, mul(w, diff)), sub(e, mul(diff, rsub(w, 1))));
  } else {
    const w = Number(weight);
    r = w < 0.5 ? add(s, mul(diff, w)) : sub(e, mul(diff, 1 - w));
  }
  return labelGrad(half ? r.to(start.dtype) : r, weight instanceof Tensor ? "LerpBackward1" : "LerpBackward0");
}
