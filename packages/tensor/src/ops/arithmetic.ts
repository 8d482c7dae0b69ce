import { type DType, getDefaultDtype, isFloating } from "../dtype.js";
import { ArgumentError, DTypeError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { type TensorLike, binaryOp, promote, unaryOp } from "./dispatch.js";

/** add(a, b, { alpha }) = a + alpha * b. */
export function add(a: TensorLike, b: TensorLike, options: { alpha?: number } = {}): Tensor {
  const alpha = options.alpha ?? 1;
  return binaryOp("add", a, alpha === 1 ? b : mul(b, alpha));
}

/** sub(a, b, { alpha }) = a - alpha * b. */
export function sub(a: TensorLike, b: TensorLike, options: { alpha?: number } = {}): Tensor {
  if (promote(a, b) === "bool") {
    throw new DTypeError("sub", "subtraction with two bool tensors is not supported; use logicalXor() instead");
  }
  const alpha = options.alpha ?? 1;
  return binaryOp("sub", a, alpha === 1 ? b : mul(b, alpha));
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binaryOp("mul", a, b);
}

/** True division (integers give the default float dtype), or rounding mode "trunc" / "floor". */
export function div(a: TensorLike, b: TensorLike, options: { roundingMode?: "trunc" | "floor" | null } = {}): Tensor {
  const mode = options.roundingMode ?? null;
  const dt = promote(a, b);
  if (mode === null) {
    const ct: DType = isFloating(dt) ? dt : getDefaultDtype();
    return binaryOp("div", a, b, ct);
  }
  if (mode !== "trunc" && mode !== "floor") throw new ArgumentError("div", `expected rounding_mode to be one of null, 'trunc', or 'floor' but found '${mode}'`);
  return binaryOp(mode === "trunc" ? "truncDiv" : "floorDiv", a, b, dt);
}

export const neg = (x: Tensor): Tensor => {
  if (x.dtype === "bool") throw new DTypeError("neg", "negation, the `-` operator, on a bool tensor is not supported; use logicalNot() instead");
  return unaryOp("neg", x);
};
