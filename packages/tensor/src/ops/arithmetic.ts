import { type DType, getDefaultDtype, isFloating, isIntegral } from "../dtype.js";
import { ArgumentError, DTypeError } from "../errors.js";
import { labelGrad } from "../grad-hooks.js";
import { broadcastShapes, numel } from "../shape.js";
import { Tensor } from "../tensor.js";
import { binaryOp, promote, type Scalar, type TensorLike, unaryOp, assertTensor, assertTensorLike } from "./dispatch.js";

/**
 * The arithmetic operators: + - * / // % ** and their unary relatives, with PyTorch's promotion,
 * result dtypes and dtype restrictions.
 */

/** Integer and bool inputs of float-valued ops compute in the default float dtype. */
const floatOf = (d: DType): DType => (isFloating(d) ? d : getDefaultDtype());

const notImplemented = (op: string, d: DType, why = ""): DTypeError => new DTypeError(op, `not implemented for dtype ${d}${why}`);

/** Broadcast check under the public op's name (the primitives below would report their own). */
function checkBroadcast(op: string, ...values: TensorLike[]): void {
  broadcastShapes(op, ...values.map((v) => (v instanceof Tensor ? v.shape : [])));
}

const isBool = (v: TensorLike): boolean => (v instanceof Tensor ? v.dtype === "bool" : typeof v === "boolean");

/** PyTorch's alpha checks: no fractional alpha for integral results, bool alpha only for bool results. */
function checkAlpha(op: string, alpha: Scalar, dt: DType): void {
  if (typeof alpha === "boolean" && dt !== "bool") {
    throw new ArgumentError(op, `boolean alpha is only supported for bool results (result dtype is ${dt})`);
  }
  if (typeof alpha === "number" && !Number.isInteger(alpha) && isIntegral(dt, true)) {
    throw new ArgumentError(op, `for integral input tensors (result dtype ${dt}), alpha must not be a floating point number, got ${alpha}`);
  }
}

/** alpha * b, computed in the op's result dtype so that alpha never changes the promotion. */
function scaled(b: TensorLike, alpha: Scalar, dt: DType): TensorLike {
  if (Number(alpha) === 1) return b;
  if (!(b instanceof Tensor)) return Number(b) * Number(alpha);
  return binaryOp("mul", b, alpha, dt);
}

/** add(a, b, { alpha }) = a + alpha * b. Two bools give bool (logical or). */
export function add(a: TensorLike, b: TensorLike, options: { alpha?: Scalar } = {}): Tensor {
  assertTensorLike("add", a, "input");
  assertTensorLike("add", b, "other");
  const dt = promote(a, b);
  const alpha = options.alpha ?? 1;
  checkAlpha("add", alpha, dt);
  return binaryOp("add", a, scaled(b, alpha, dt), dt);
}

function subtract(op: string, a: TensorLike, b: TensorLike, alpha: Scalar): Tensor {
  if (isBool(a) && isBool(b)) {
    throw new DTypeError(op, "subtraction with two bool tensors is not supported; use logicalXor() instead");
  }
  if (isBool(a) || isBool(b)) {
    throw new DTypeError(op, "subtraction with a bool tensor is not supported; to invert a mask, use logicalNot() instead");
  }
  const dt = promote(a, b);
  checkAlpha(op, alpha, dt);
  checkBroadcast(op, a, b);
  return binaryOp("sub", a, scaled(b, alpha, dt), dt);
}

/** sub(a, b, { alpha }) = a - alpha * b (bool operands are an error, as in PyTorch). */
export function sub(a: TensorLike, b: TensorLike, options: { alpha?: Scalar } = {}): Tensor {
  assertTensorLike("sub", a, "input");
  assertTensorLike("sub", b, "other");
  return subtract("sub", a, b, options.alpha ?? 1);
}

/** rsub(a, b, { alpha }) = b - alpha * a. */
export function rsub(a: TensorLike, b: TensorLike, options: { alpha?: Scalar } = {}): Tensor {
  assertTensorLike("rsub", a, "input");
  assertTensorLike("rsub", b, "other");
  return labelGrad(subtract("rsub", b, a, options.alpha ?? 1), b instanceof Tensor ? "RsubBackward0" : "RsubBackward1");
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("mul", a, "input");
  assertTensorLike("mul", b, "other");
  return binaryOp("mul", a, b);
}

/**
 * PyTorch raises ZeroDivisionError for integer division by zero. Checked on the host where the
 * backend can read synchronously (an asynchronous device computes 0, as CUDA does).
 */
function checkIntegerDivisor(op: string, a: TensorLike, b: TensorLike, dt: DType): void {
  if (!isIntegral(dt)) return;
  if (!(b instanceof Tensor)) {
    if (Number(b) === 0) throw new ArgumentError(op, `ZeroDivisionError: integer division by zero (dtype ${dt})`);
    return;
  }
  const shape = broadcastShapes(op, a instanceof Tensor ? a.shape : [], b.shape);
  if (numel(shape) === 0 || !b.backend.canReadSync) return;
  const values = b.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (values[i] === 0)
      throw new ArgumentError(op, `ZeroDivisionError: integer division by zero (divisor of dtype ${b.dtype} contains 0)`);
  }
}

export type RoundingMode = "trunc" | "floor" | null;

function divide(op: string, a: TensorLike, b: TensorLike, mode: RoundingMode): Tensor {
  const dt = promote(a, b);
  checkBroadcast(op, a, b);
  if (mode === null) return binaryOp("div", a, b, floatOf(dt));
  if (mode !== "trunc" && mode !== "floor") {
    throw new ArgumentError(op, `expected roundingMode to be one of null, 'trunc', or 'floor' but found '${String(mode)}'`);
  }
  if (dt === "bool") throw notImplemented(op, dt, ` with roundingMode '${mode}'`);
  checkIntegerDivisor(op, a, b, dt);
  return binaryOp(mode === "trunc" ? "truncDiv" : "floorDiv", a, b, dt);
}

/** True division (integers and bools give the default float dtype), or rounding mode "trunc" / "floor". */
export function div(a: TensorLike, b: TensorLike, options: { roundingMode?: RoundingMode } = {}): Tensor {
  assertTensorLike("div", a, "input");
  assertTensorLike("div", b, "other");
  return divide("div", a, b, options.roundingMode ?? null);
}

/** Alias of div (true division). */
export function trueDivide(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("trueDivide", a, "input");
  assertTensorLike("trueDivide", b, "other");
  return divide("trueDivide", a, b, null);
}

/** Division rounded toward -infinity (Python's //); keeps integer dtypes. */
export function floorDivide(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("floorDivide", a, "input");
  assertTensorLike("floorDivide", b, "other");
  return divide("floorDivide", a, b, "floor");
}

/** Python's %: the result has the sign of the divisor. */
export function remainder(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("remainder", a, "input");
  assertTensorLike("remainder", b, "other");
  const dt = promote(a, b);
  if (dt === "bool") throw notImplemented("remainder", dt);
  checkIntegerDivisor("remainder", a, b, dt);
  return labelGrad(binaryOp("remainder", a, b, dt), b instanceof Tensor ? "RemainderBackward1" : "RemainderBackward0");
}

/** C's fmod: the result has the sign of the dividend. */
export function fmod(a: TensorLike, b: TensorLike): Tensor {
  assertTensorLike("fmod", a, "input");
  assertTensorLike("fmod", b, "other");
  const dt = promote(a, b);
  if (dt === "bool") throw notImplemented("fmod", dt);
  checkIntegerDivisor("fmod", a, b, dt);
  return labelGrad(binaryOp("fmod", a, b, dt), b instanceof Tensor ? "FmodBackward1" : "FmodBackward0");
}

/**
 * base ** exponent for tensor^tensor, tensor^scalar and scalar^tensor. Integer results to a
 * negative integer scalar power are an error (as in PyTorch); a negative integer exponent tensor
 * gives 0 except for bases 1 and -1.
 */
export function pow(base: TensorLike, exponent: TensorLike): Tensor {
  assertTensorLike("pow", base, "base");
  assertTensorLike("pow", exponent, "exponent");
  const dt = promote(base, exponent);
  if (dt === "bool") throw notImplemented("pow", dt, " (bool ** bool); convert one operand to an integer or float dtype");
  if (isIntegral(dt) && typeof exponent === "number" && Number.isInteger(exponent) && exponent < 0) {
    throw new ArgumentError("pow", `integers to negative integer powers are not allowed (result dtype ${dt}, exponent ${exponent})`);
  }
  const r = binaryOp("pow", base, exponent, dt);
  // PyTorch's overloads: PowBackward0 (tensor ** scalar), PowBackward1 (tensor ** tensor), PowBackward2 (scalar ** tensor).
  return labelGrad(r, !(exponent instanceof Tensor) ? "PowBackward0" : base instanceof Tensor ? "PowBackward1" : "PowBackward2");
}

export function neg(x: Tensor): Tensor {
  assertTensor("neg", x, "input");
  if (x.dtype === "bool")
    throw new DTypeError(
      "neg",
      "negation, the `-` operator, on a bool tensor is not supported; to invert a mask, use logicalNot() instead",
    );
  return unaryOp("neg", x);
}

export function abs(x: Tensor): Tensor {
  assertTensor("abs", x, "input");
  if (x.dtype === "bool") throw notImplemented("abs", x.dtype);
  return unaryOp("abs", x);
}

/** -1, 0 or 1 in x's dtype (sign(NaN) is 0, as in PyTorch; bools are returned as they are). */
export function sign(x: Tensor): Tensor {
  assertTensor("sign", x, "input");
  return unaryOp("sign", x);
}

/** sign extended to complex numbers in PyTorch; equal to sign for real dtypes. */
export function sgn(x: Tensor): Tensor {
  assertTensor("sgn", x, "input");
  return labelGrad(unaryOp("sign", x), "SgnBackward0");
}

/** 1 / x; integer and bool inputs give the default float dtype. */
export function reciprocal(x: Tensor): Tensor {
  assertTensor("reciprocal", x, "input");
  return unaryOp("reciprocal", x, floatOf(x.dtype));
}

/** x * x; bool inputs give int64 (as pow(x, 2) does). */
export function square(x: Tensor): Tensor {
  assertTensor("square", x, "input");
  return unaryOp("square", x, x.dtype === "bool" ? "int64" : x.dtype);
}
