import { type DType, isFloating } from "../dtype.js";
import { DTypeError, ShapeError } from "../errors.js";
import { fusedKernel } from "../fused.js";
import { labelGrad } from "../grad-hooks.js";
import { Tensor, record } from "../tensor.js";
import { binaryOp, reduceOp, unaryOp, assertTensor } from "./dispatch.js";

/**
 * torch.softmax / torch.log_softmax, the one implementation behind F.softmax and F.logSoftmax too.
 * On a backend with the fused softmax kernel the result is one recorded "softmax" primitive (its
 * gradient, in @dl/autograd, uses the fused backward kernel); otherwise it is composed from
 * primitives that autograd differentiates one by one. Either way gradFn is PyTorch's
 * SoftmaxBackward0 / LogSoftmaxBackward0.
 */
export interface SoftmaxOptions {
  /** Cast the input to this dtype first (PyTorch's dtype argument). */
  dtype?: DType;
}

function softmaxImpl(op: "softmax" | "logSoftmax", input: Tensor, dim: number, options: SoftmaxOptions): Tensor {
  input._assertLive(op);
  const x = options.dtype !== undefined && options.dtype !== input.dtype ? input.to(options.dtype) : input;
  if (!isFloating(x.dtype)) throw new DTypeError(op, `expected a floating point input, got ${x.dtype}`);
  const nd = Math.max(x.ndim, 1);
  if (!Number.isInteger(dim) || dim < -nd || dim >= nd) {
    throw new ShapeError(op, `dimension out of range (expected to be in range of [${-nd}, ${nd - 1}], but got ${dim})`);
  }
  const d = dim < 0 ? dim + nd : dim;
  const log = op === "logSoftmax";
  const kernel = fusedKernel(x, "softmax");
  if (kernel) return record("softmax", [x], Tensor.fromData(x.backend, x.device, kernel(x.ref, d, log), x.dtype, x.shape), { dim: d, log });
  // A 0-dim input has one element along its only (virtual) dim.
  const dims = x.ndim === 0 ? [] : [d];
  const shifted = binaryOp("sub", x, reduceOp("max", x, dims, true, x.dtype).detach());
  const e = unaryOp("exp", shifted);
  const s = reduceOp("sum", e, dims, true, x.dtype);
  const out = log ? binaryOp("sub", shifted, unaryOp("log", s)) : binaryOp("div", e, s);
  return labelGrad(out, log ? "LogSoftmaxBackward0" : "SoftmaxBackward0", [x]);
}

/** exp(x) / sum(exp(x)) along dim, computed as exp(x - max) for stability (torch.softmax). */
export function softmax(x: Tensor, dim: number, options: SoftmaxOptions = {}): Tensor {
  assertTensor("softmax", x, "input");
  return softmaxImpl("softmax", x, dim, options);
}

/** x - logsumexp(x) along dim (torch.log_softmax). */
export function logSoftmax(x: Tensor, dim: number, options: SoftmaxOptions = {}): Tensor {
  assertTensor("logSoftmax", x, "input");
  return softmaxImpl("logSoftmax", x, dim, options);
}
