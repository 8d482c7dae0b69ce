import {
  DTypeError,
  ShapeError,
  type Tensor,
  add,
  clamp,
  div,
  isFloating,
  matmul,
  mul,
  norm,
  sqrt,
  sub,
  sum,
  assertTensor,
} from "@dl/tensor";

/** Distances and similarities (torch.nn.functional), plus the bilinear form. */

export interface PairwiseDistanceOptions {
  /** The norm degree (default 2). */
  p?: number;
  /** Added to the difference to avoid a zero norm (default 1e-6). */
  eps?: number;
  keepdim?: boolean;
}

/** ||x1 - x2 + eps||_p over the last dim (F.pairwise_distance); x1 and x2 broadcast. */
export function pairwiseDistance(x1: Tensor, x2: Tensor, options: PairwiseDistanceOptions = {}): Tensor {
  assertTensor("pairwiseDistance", x1, "x1");
  assertTensor("pairwiseDistance", x2, "x2");
  if (!isFloating(x1.dtype) || !isFloating(x2.dtype))
    throw new DTypeError("pairwiseDistance", `expected floating point inputs, got ${x1.dtype} and ${x2.dtype}`);
  const ndim = Math.max(x1.ndim, x2.ndim);
  if (ndim === 0) throw new ShapeError("pairwiseDistance", "expected inputs with at least 1 dim, got two 0-D tensors");
  return norm(add(sub(x1, x2), options.eps ?? 1e-6), options.p ?? 2, ndim - 1, { keepdim: options.keepdim ?? false });
}

export interface CosineSimilarityOptions {
  /** The dim of the vectors (default 1). */
  dim?: number;
  /** Lower bound of each norm (default 1e-8). */
  eps?: number;
}

/**
 * ||x||_2 clamped below at eps, with PyTorch 1.13's gradient: the clamp happens under no_grad, so
 * the gradient is x / clamped_norm even where the clamp is active. The value is exact.
 */
function clampedNorm(x: Tensor, dim: number, eps: number): Tensor {
  const sq = sum(mul(x, x), dim, { keepdim: true });
  const n = clamp(sqrt(sq.detach()), { min: eps });
  // n + (sq - sq) / (2 n): the added term is exactly 0, and its derivative is x / n.
  return add(n, div(sub(sq, sq.detach()), mul(n, 2)));
}

/**
 * sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along dim (F.cosine_similarity, PyTorch 1.13's
 * formula: each input is normalized first); x1 and x2 broadcast.
 */
export function cosineSimilarity(x1: Tensor, x2: Tensor, options: CosineSimilarityOptions = {}): Tensor {
  assertTensor("cosineSimilarity", x1, "x1");
  assertTensor("cosineSimilarity", x2, "x2");
  const op = "cosineSimilarity";
  if (!isFloating(x1.dtype) || !isFloating(x2.dtype))
    throw new DTypeError(op, `expected floating point inputs, got ${x1.dtype} and ${x2.dtype}`);
  const ndim = Math.max(x1.ndim, x2.ndim);
  let dim = options.dim ?? 1;
  if (dim < -ndim || dim >= Math.max(ndim, 1))
    throw new ShapeError(op, `dimension out of range (expected to be in range of [${-ndim}, ${ndim - 1}], but got ${dim})`);
  if (dim < 0) dim += ndim;
  // Align both operands to the broadcast rank so that dim names the same axis in each.
  const a = x1.ndim < ndim ? x1.reshape([...Array(ndim - x1.ndim).fill(1), ...x1.shape]) : x1;
  const b = x2.ndim < ndim ? x2.reshape([...Array(ndim - x2.ndim).fill(1), ...x2.shape]) : x2;
  const eps = options.eps ?? 1e-8;
  return sum(mul(div(a, clampedNorm(a, dim, eps)), div(b, clampedNorm(b, dim, eps))), dim);
}

/**
 * y = x1^T W x2 + b for each output feature (F.bilinear): x1 [*, in1], x2 [*, in2], weight
 * [out, in1, in2], bias [out]; y is [*, out]. (Kept here until functional/linear.ts exports it.)
 */
export function bilinear(x1: Tensor, x2: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  assertTensor("bilinear", x1, "x1");
  assertTensor("bilinear", x2, "x2");
  assertTensor("bilinear", weight, "weight");
  const op = "bilinear";
  if (weight.ndim !== 3) throw new ShapeError(op, `expected a 3-D weight [out, in1, in2], got shape [${weight.shape.join(",")}]`);
  const [out, in1, in2] = weight.shape as [number, number, number];
  if (x1.ndim === 0 || x2.ndim === 0) throw new ShapeError(op, "expected inputs with at least 1 dim");
  const lead = x1.shape.slice(0, -1);
  if (x1.ndim !== x2.ndim || lead.some((s, i) => s !== x2.shape[i])) {
    throw new ShapeError(
      op,
      `input1 [${x1.shape.join(",")}] and input2 [${x2.shape.join(",")}] must have the same size except for the last dim`,
    );
  }
  if (x1.shape[x1.ndim - 1] !== in1)
    throw new ShapeError(op, `input1 size does not match weight size: got ${x1.shape[x1.ndim - 1]} but expected ${in1}`);
  if (x2.shape[x2.ndim - 1] !== in2)
    throw new ShapeError(op, `input2 size does not match weight size: got ${x2.shape[x2.ndim - 1]} but expected ${in2}`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== out))
    throw new ShapeError(op, `expected bias of shape [${out}], got [${bias.shape.join(",")}]`);
  const n = lead.reduce((p, s) => p * s, 1);
  // [n, in1] @ [in1, out * in2] -> [n, out, in2]; then a batched dot with x2 over in2.
  const t = matmul(x1.reshape([n, in1]), weight.permute(1, 0, 2).reshape([in1, out * in2])).reshape([n, out, in2]);
  let y = matmul(t, x2.reshape([n, in2, 1])).reshape([...lead, out]);
  if (bias) y = add(y, bias);
  return y;
}
