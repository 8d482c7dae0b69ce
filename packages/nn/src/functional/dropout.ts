import {
  ArgumentError,
  DTypeError,
  type Generator,
  ShapeError,
  type Tensor,
  add,
  isFloating,
  lt,
  mul,
  rand,
  where,
  assertTensor,
} from "@dl/tensor";

/**
 * Dropout (torch.nn.functional.dropout and friends). Masks are drawn from @dl/tensor's seeded
 * generator (the default one unless `generator` is given), so manualSeed(s) reproduces them; the
 * streams differ from PyTorch's, so individual masks do not match PyTorch bit for bit.
 * `inplace` is accepted and ignored (the result is always a new tensor).
 */
export interface DropoutOptions {
  /** Accepted for PyTorch compatibility and ignored: the result is always a new tensor. */
  inplace?: boolean;
  /** Draw the mask from this generator instead of the default one. */
  generator?: Generator;
}

function checkDropoutP(op: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(op, `dropout probability has to be between 0 and 1, but got ${p}`);
}

/**
 * The keep mask as multipliers: 1/(1-p) where kept, 0 where dropped (dropout), or the alpha
 * dropout pair [a * keep, alpha a (keep - 1) + alpha a p]. `shape` is the noise shape (the input's,
 * or [N, C, 1, ...] for feature dropout); it broadcasts against the input.
 */
function keepMask(x: Tensor, shape: readonly number[], p: number, generator: Generator | undefined): Tensor {
  return lt(rand(shape, { dtype: x.dtype, device: x.device, generator }), 1 - p);
}

function dropoutImpl(
  op: string,
  x: Tensor,
  p: number,
  training: boolean,
  noiseShape: readonly number[],
  alpha: boolean,
  o: DropoutOptions,
): Tensor {
  checkDropoutP(op, p);
  if (!training || p === 0 || x.numel() === 0) return x;
  if (!isFloating(x.dtype)) throw new DTypeError(op, `expected a floating point input, got ${x.dtype}`);
  // PyTorch: p = 1 gives input * 0 (zeros, NaN stays NaN).
  if (p === 1) return mul(x, 0);
  const keep = keepMask(x, noiseShape, p, o.generator);
  if (!alpha) return mul(x, where(keep, 1 / (1 - p), 0));
  // ATen's alpha dropout: x * a * keep + (alpha a (keep - 1) + alpha a p), alpha = scale * alpha_selu.
  const ALPHA = 1.7580993408473766;
  const a = 1 / Math.sqrt((ALPHA * ALPHA * p + 1) * (1 - p));
  return add(mul(x, where(keep, a, 0)), where(keep, ALPHA * a * p, ALPHA * a * (p - 1)));
}

/** Zeroes elements with probability p and scales the rest by 1/(1-p) in training (F.dropout). */
export function dropout(
  x: Tensor,
  pOrOptions: number | (DropoutOptions & { p?: number; training?: boolean }) = 0.5,
  trainingArg = true,
  options: DropoutOptions = {},
): Tensor {
  assertTensor("dropout", x, "input");
  if (typeof pOrOptions === "object") {
    return dropoutImpl("dropout", x, pOrOptions.p ?? 0.5, pOrOptions.training ?? true, x.shape, false, pOrOptions);
  }
  return dropoutImpl("dropout", x, pOrOptions, trainingArg, x.shape, false, options);
}

/** Alpha dropout for SELU networks: keeps mean and variance of the input (F.alpha_dropout). Off by default, as PyTorch's. */
export function alphaDropout(x: Tensor, p = 0.5, training = false, options: DropoutOptions = {}): Tensor {
  assertTensor("alphaDropout", x, "input");
  return dropoutImpl("alphaDropout", x, p, training, x.shape, true, options);
}

/** [N, C, 1, ..., 1]: one draw per (sample, channel). */
function featureShape(x: Tensor): number[] {
  return x.shape.map((s, i) => (i < 2 ? s : 1));
}

function featureDropout(
  op: string,
  x: Tensor,
  p: number,
  training: boolean,
  batchedDims: number,
  allowed: readonly number[],
  alpha: boolean,
  o: DropoutOptions,
): Tensor {
  checkDropoutP(op, p);
  if (!allowed.includes(x.ndim)) {
    const dims = allowed.map((d) => `${d}D`).join(" or ");
    throw new ShapeError(op, `expected ${dims} input, but received a ${x.ndim}D input of shape [${x.shape.join(",")}]`);
  }
  const batched = x.ndim === batchedDims;
  const xb = batched ? x : x.unsqueeze(0);
  const y = dropoutImpl(op, xb, p, training, featureShape(xb), alpha, o);
  if (y === xb) return x;
  return batched ? y : y.squeeze(0);
}

/** Zeroes whole channels of (N, C, L) or (C, L) inputs (F.dropout1d). */
export function dropout1d(x: Tensor, p = 0.5, training = true, options: DropoutOptions = {}): Tensor {
  assertTensor("dropout1d", x, "input");
  return featureDropout("dropout1d", x, p, training, 3, [2, 3], false, options);
}

/**
 * Zeroes whole channels of (N, C, H, W) inputs (F.dropout2d). As in PyTorch 1.13, a 3-D input is
 * read as (N, C, L) (channel-wise 1-D dropout), not as an unbatched (C, H, W).
 */
export function dropout2d(x: Tensor, p = 0.5, training = true, options: DropoutOptions = {}): Tensor {
  assertTensor("dropout2d", x, "input");
  if (x.ndim < 2)
    throw new ShapeError("dropout2d", `expected 3D or 4D input, but received a ${x.ndim}D input of shape [${x.shape.join(",")}]`);
  return featureDropout("dropout2d", x, p, training, x.ndim, [x.ndim], false, options);
}

/** Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) inputs (F.dropout3d). */
export function dropout3d(x: Tensor, p = 0.5, training = true, options: DropoutOptions = {}): Tensor {
  assertTensor("dropout3d", x, "input");
  return featureDropout("dropout3d", x, p, training, 5, [4, 5], false, options);
}

/** Alpha dropout over whole channels (F.feature_alpha_dropout). Off by default, as PyTorch's. */
export function featureAlphaDropout(x: Tensor, p = 0.5, training = false, options: DropoutOptions = {}): Tensor {
  assertTensor("featureAlphaDropout", x, "input");
  if (x.ndim < 2)
    throw new ShapeError("featureAlphaDropout", `expected an input with at least 2 dims (N, C, ...), got shape [${x.shape.join(",")}]`);
  return featureDropout("featureAlphaDropout", x, p, training, x.ndim, [x.ndim], true, options);
}
