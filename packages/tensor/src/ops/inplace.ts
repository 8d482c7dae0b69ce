import { DTypeError, ShapeError } from "../errors.js";
import { labelGrad } from "../grad-hooks.js";
import { Tensor } from "../tensor.js";
import { type RoundingMode, abs, add, div, mul, neg, pow, sub } from "./arithmetic.js";
import {
  type Scalar,
  type TensorLike,
  assertNoInternalOverlap,
  commonDevice,
  scalarTensor,
  whereOp,
  writeInPlace,
  assertTensor,
  assertTensorLike,
} from "./dispatch.js";
import { type ClampOptions, clamp, exp, relu, sigmoid, sqrt, tanh } from "./math.js";

/**
 * In-place variants (trailing underscore, as in PyTorch). Each computes the out-of-place result
 * with the regular op, then writes it into x with writeInPlace, which rejects a result that would
 * change x's shape or need an unsafe cast (int += float). Nothing is written unless every check
 * passes, and writes through views reach the base tensor. The in-place indexing ops (scatter_,
 * indexPut_, indexSet_, indexFill_, indexAdd_, indexCopy_) live with their family in indexing.ts.
 */

function inPlace(op: string, x: Tensor, compute: () => Tensor): Tensor {
  assertTensor(op, x, "input");
  x._assertLive(op);
  assertNoInternalOverlap(op, x);
  const result = compute();
  writeInPlace(op, x, result);
  // The out-of-place result was only a carrier (its autograd node, if any, now belongs to x).
  if (result._storage !== x._storage) result.dispose();
  return x;
}

// ---- arithmetic ----

/** x += alpha * other. */
export function add_(x: Tensor, other: TensorLike, options: { alpha?: Scalar } = {}): Tensor {
  assertTensor("add_", x, "input");
  assertTensorLike("add_", other, "other");
  return inPlace("add_", x, () => add(x, other, options));
}

/** x -= alpha * other. */
export function sub_(x: Tensor, other: TensorLike, options: { alpha?: Scalar } = {}): Tensor {
  assertTensor("sub_", x, "input");
  assertTensorLike("sub_", other, "other");
  return inPlace("sub_", x, () => sub(x, other, options));
}

export function mul_(x: Tensor, other: TensorLike): Tensor {
  assertTensor("mul_", x, "input");
  assertTensorLike("mul_", other, "other");
  return inPlace("mul_", x, () => mul(x, other));
}

/** x /= other; true division into an integer tensor is an error unless roundingMode is given. */
export function div_(x: Tensor, other: TensorLike, options: { roundingMode?: RoundingMode } = {}): Tensor {
  assertTensor("div_", x, "input");
  assertTensorLike("div_", other, "other");
  return inPlace("div_", x, () => div(x, other, options));
}

export function pow_(x: Tensor, exponent: TensorLike): Tensor {
  assertTensor("pow_", x, "input");
  assertTensorLike("pow_", exponent, "exponent");
  return inPlace("pow_", x, () => pow(x, exponent));
}

/** clamp_(x, { min, max }) or clamp_(x, min, max). */
export function clamp_(x: Tensor, min?: TensorLike | null | ClampOptions, max?: TensorLike | null): Tensor {
  assertTensor("clamp_", x, "input");
  return inPlace("clamp_", x, () => clamp(x, min, max));
}

// ---- elementwise functions ----

export const neg_ = (x: Tensor): Tensor => inPlace("neg_", x, () => neg(x));
export const abs_ = (x: Tensor): Tensor => inPlace("abs_", x, () => abs(x));
export const exp_ = (x: Tensor): Tensor => inPlace("exp_", x, () => exp(x));
export const sqrt_ = (x: Tensor): Tensor => inPlace("sqrt_", x, () => sqrt(x));
export const sigmoid_ = (x: Tensor): Tensor => inPlace("sigmoid_", x, () => sigmoid(x));
export const tanh_ = (x: Tensor): Tensor => inPlace("tanh_", x, () => tanh(x));
export const relu_ = (x: Tensor): Tensor => inPlace("relu_", x, () => relu(x));

// ---- masks ----

/** x[mask] = value for a bool mask broadcastable to x and a scalar or 0-dim tensor value (cast to x's dtype). */
export function maskedFill_(x: Tensor, mask: Tensor, value: TensorLike): Tensor {
  assertTensor("maskedFill_", x, "input");
  assertTensor("maskedFill_", mask, "mask");
  assertTensorLike("maskedFill_", value, "value");
  const op = "maskedFill_";
  commonDevice(op, value instanceof Tensor ? [x, mask, value] : [x, mask]);
  if (mask.dtype !== "bool") throw new DTypeError(op, `only supports boolean masks, but got mask with dtype ${mask.dtype}`);
  if (value instanceof Tensor && value.ndim !== 0) {
    throw new ShapeError(op, `only supports a 0-dimensional value tensor, but got tensor with ${value.ndim} dimension(s)`);
  }
  const v = value instanceof Tensor ? value.to(x.dtype) : scalarTensor(value, x.dtype, x.device);
  return inPlace(op, x, () => labelGrad(whereOp(mask, v, x), "MaskedFillBackward0"));
}
