import type { BinaryOp, UnaryOp } from "../backend.js";
import { type DType, getDefaultDtype, isFloating } from "../dtype.js";
import { ArgumentError, DTypeError, ShapeError } from "../errors.js";
import { labelGrad } from "../grad-hooks.js";
import { broadcastShapes, shapesEqual } from "../shape.js";
import { Tensor } from "../tensor.js";
import { abs, sub } from "./arithmetic.js";
import {
  binaryOp,
  commonDevice,
  promote,
  reduceOp,
  type Scalar,
  scalarTensor,
  type TensorLike,
  unaryOp,
  whereOp,
  assertTensor,
  assertTensorLike,
} from "./dispatch.js";

/**
 * Comparisons, logical and bitwise ops, float-class predicates and selection (where,
 * maskedFill, nanToNum). Comparisons compute in the promoted dtype and return bool.
 */

function compare(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  return binaryOp(op, a, b, promote(a, b), "bool");
}

export function eq(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("eq", a, "input");
  assertTensorLike("eq", b, "other");
  return compare("eq", a, b);
}
export function ne(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("ne", a, "input");
  assertTensorLike("ne", b, "other");
  return compare("ne", a, b);
}
export function lt(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("lt", a, "input");
  assertTensorLike("lt", b, "other");
  return compare("lt", a, b);
}
export function le(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("le", a, "input");
  assertTensorLike("le", b, "other");
  return compare("le", a, b);
}
export function gt(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("gt", a, "input");
  assertTensorLike("gt", b, "other");
  return compare("gt", a, b);
}
export function ge(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("ge", a, "input");
  assertTensorLike("ge", b, "other");
  return compare("ge", a, b);
}

// ---- logical (any dtype, nonzero is true) ----

export function logicalAnd(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("logicalAnd", a, "input");
  assertTensorLike("logicalAnd", b, "other");
  return compare("logicalAnd", a, b);
}
export function logicalOr(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("logicalOr", a, "input");
  assertTensorLike("logicalOr", b, "other");
  return compare("logicalOr", a, b);
}
export function logicalXor(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("logicalXor", a, "input");
  assertTensorLike("logicalXor", b, "other");
  return compare("logicalXor", a, b);
}
export function logicalNot(x: Tensor): Tensor {
  assertTensor("logicalNot", x, "input");
  return unaryOp("logicalNot", x, "bool");
}

// ---- bitwise (integer and bool dtypes) ----

function bitwise(op: "bitwiseAnd" | "bitwiseOr" | "bitwiseXor", a: TensorLike, b: TensorLike): Tensor {
  const dt = promote(a, b);
  if (isFloating(dt)) throw new DTypeError(op, `not implemented for dtype ${dt} (bitwise ops need integer or bool operands)`);
  return binaryOp(op, a, b, dt);
}

export function bitwiseAnd(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("bitwiseAnd", a, "input");
  assertTensorLike("bitwiseAnd", b, "other");
  return bitwise("bitwiseAnd", a, b);
}
export function bitwiseOr(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("bitwiseOr", a, "input");
  assertTensorLike("bitwiseOr", b, "other");
  return bitwise("bitwiseOr", a, b);
}
export function bitwiseXor(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("bitwiseXor", a, "input");
  assertTensorLike("bitwiseXor", b, "other");
  return bitwise("bitwiseXor", a, b);
}

/** ~x: two's complement for integers, logical not for bool. */
export function bitwiseNot(x: Tensor): Tensor {
  assertTensor("bitwiseNot", x, "input");
  if (isFloating(x.dtype))
    throw new DTypeError("bitwiseNot", `not implemented for dtype ${x.dtype} (bitwise ops need integer or bool tensors)`);
  return x.dtype === "bool" ? unaryOp("logicalNot", x, "bool") : unaryOp("bitwiseNot", x);
}

// ---- predicates (bool results) ----

function predicate(op: UnaryOp, x: Tensor): Tensor {
  return unaryOp(op, x, "bool");
}

export function isnan(x: Tensor): Tensor {
  assertTensor("isnan", x, "input");
  return predicate("isnan", x);
}
export function isinf(x: Tensor): Tensor {
  assertTensor("isinf", x, "input");
  return predicate("isinf", x);
}
export function isposinf(x: Tensor): Tensor {
  assertTensor("isposinf", x, "input");
  return predicate("isposinf", x);
}
export function isneginf(x: Tensor): Tensor {
  assertTensor("isneginf", x, "input");
  return predicate("isneginf", x);
}
export function isfinite(x: Tensor): Tensor {
  assertTensor("isfinite", x, "input");
  return predicate("isfinite", x);
}
/** Whether the sign bit is set (true for -0). */
export function signbit(x: Tensor): Tensor {
  assertTensor("signbit", x, "input");
  return predicate("signbit", x);
}

// ---- closeness and equality ----

export interface IsCloseOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-8). */
  atol?: number;
  /** Whether NaN equals NaN (default false). */
  equalNan?: boolean;
}

/**
 * |a - b| <= atol + rtol * |b| elementwise (bool), broadcasting; equal infinities are close.
 * a and b must have the same dtype. Computed as PyTorch does (the difference in the input dtype).
 */
export function isclose(a: Tensor, b: TensorLike, options: IsCloseOptions = {}): Tensor {
  assertTensor("isclose", a, "input");
  assertTensorLike("isclose", b, "other");
  return closeness("isclose", a, b, options);
}

function closeness(op: string, a: Tensor, b: TensorLike, options: IsCloseOptions): Tensor {
  const rtol = options.rtol ?? 1e-5;
  const atol = options.atol ?? 1e-8;
  const other = b instanceof Tensor ? b : scalarTensor(b, a.dtype, a.device);
  commonDevice(op, [a, other]);
  if (other.dtype !== a.dtype) {
    throw new DTypeError(op, `expected both tensors to have the same dtype, but got ${a.dtype} and ${other.dtype}`);
  }
  broadcastShapes(op, a.shape, other.shape);
  if (!(rtol >= 0)) throw new ArgumentError(op, `rtol must be greater than or equal to zero, but got ${rtol}`);
  if (!(atol >= 0)) throw new ArgumentError(op, `atol must be greater than or equal to zero, but got ${atol}`);
  let close = eq(a, other);
  if (options.equalNan && isFloating(a.dtype)) close = logicalOr(close, logicalAnd(isnan(a), isnan(other)));
  if (rtol === 0 && atol === 0) return close;
  const fa = a.dtype === "bool" ? a.to(getDefaultDtype()) : a;
  const fb = other.dtype === "bool" ? other.to(getDefaultDtype()) : other;
  const fdt: DType = isFloating(fb.dtype) ? fb.dtype : getDefaultDtype();
  // atol + |rtol * b| in a float dtype; |a - b| in the input dtype.
  const allowed = binaryOp("add", abs(binaryOp("mul", fb, rtol, fdt)), atol, fdt);
  const actual = abs(sub(fa, fb));
  return logicalOr(close, logicalAnd(isfinite(actual), le(actual, allowed)));
}

/** Whether every element of a is close to b (see isclose). */
export function allclose(a: Tensor, b: TensorLike, options: IsCloseOptions = {}): boolean {
  assertTensor("allclose", a, "input");
  assertTensorLike("allclose", b, "other");
  const close = closeness("allclose", a, b, options);
  const all = reduceOp("all", close, undefined, false, "bool");
  const result = all.item() as boolean;
  all.dispose();
  close.dispose();
  return result;
}

/** Whether a and b have the same shape and the same values (NaN never equals NaN); dtypes may differ. */
export function equal(a: Tensor, b: Tensor): boolean {
  assertTensor("equal", a, "input");
  assertTensor("equal", b, "other");
  commonDevice("equal", [a, b]);
  if (!shapesEqual(a.shape, b.shape)) return false;
  const same = eq(a, b);
  const all = reduceOp("all", same, undefined, false, "bool");
  const result = all.item() as boolean;
  all.dispose();
  same.dispose();
  return result;
}

// ---- selection ----

const maxFinite: Partial<Record<DType, number>> = {
  float64: Number.MAX_VALUE,
  float32: 3.4028234663852886e38,
  float16: 65504,
  bfloat16: 3.3895313892515355e38,
};

/** PyTorch refuses scalars that overflow the target dtype (infinities are fine for floats). */
function checkScalarFits(op: string, v: number, dtype: DType): void {
  let fits = true;
  if (isFloating(dtype)) fits = !Number.isFinite(v) || Math.abs(v) <= (maxFinite[dtype] as number);
  else if (dtype === "int32") fits = Number.isNaN(v) || (v >= -(2 ** 31) && v < 2 ** 31);
  else if (dtype === "int64") fits = Number.isNaN(v) || (v >= -(2 ** 63) && v < 2 ** 63);
  if (!fits) throw new ArgumentError(op, `value ${v} cannot be converted to dtype ${dtype} without overflow`);
}

/** cond ? a : b elementwise, broadcasting all three; a and b promote as in PyTorch. cond must be bool. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  assertTensor("where", cond, "cond");
  assertTensorLike("where", a, "input");
  assertTensorLike("where", b, "other");
  if (cond.dtype !== "bool") {
    throw new DTypeError("where", `expected condition to be a bool tensor, but got a tensor with dtype ${cond.dtype}`);
  }
  return whereOp(cond, a, b);
}

/**
 * x with value where mask is true. mask is bool and broadcasts with x; value is a scalar or a
 * 0-dim tensor, converted to x's dtype (the result keeps x's dtype).
 */
export function maskedFill(x: Tensor, mask: Tensor, value: TensorLike): Tensor {
  assertTensor("maskedFill", x, "input");
  assertTensor("maskedFill", mask, "mask");
  assertTensorLike("maskedFill", value, "value");
  if (mask.dtype !== "bool") {
    throw new DTypeError("maskedFill", `only supports boolean masks, but got mask with dtype ${mask.dtype}`);
  }
  if (value instanceof Tensor && value.ndim !== 0) {
    throw new ShapeError("maskedFill", `only supports a 0-dimensional value tensor, but got tensor with ${value.ndim} dimension(s)`);
  }
  commonDevice("maskedFill", [x, mask]);
  broadcastShapes("maskedFill", x.shape, mask.shape);
  if (!(value instanceof Tensor)) checkScalarFits("maskedFill", Number(value), x.dtype);
  const v = value instanceof Tensor ? value.to(x.dtype) : scalarTensor(value, x.dtype, x.device);
  return labelGrad(whereOp(mask, v, x), value instanceof Tensor ? "MaskedFillBackward1" : "MaskedFillBackward0");
}

export interface NanToNumOptions {
  /** Replacement for NaN (default 0). */
  nan?: Scalar;
  /** Replacement for +inf (default: the dtype's largest finite value). */
  posinf?: Scalar | null;
  /** Replacement for -inf (default: the dtype's most negative finite value). */
  neginf?: Scalar | null;
}

/** Replaces NaN and infinities by finite numbers; integer and bool tensors are returned as a copy. */
export function nanToNum(x: Tensor, options: NanToNumOptions = {}): Tensor {
  assertTensor("nanToNum", x, "input");
  if (!isFloating(x.dtype)) return x.clone();
  const big = maxFinite[x.dtype] as number;
  let r = whereOp(isnan(x), options.nan ?? 0, x);
  r = whereOp(isposinf(x), options.posinf ?? big, r);
  return labelGrad(whereOp(isneginf(x), options.neginf ?? -big, r), "NanToNumBackward0");
}
