import {
  ArgumentError,
  type DType,
  DTypeError,
  type Generator,
  ShapeError,
  abs,
  add,
  chunk,
  erf,
  exp,
  expm1,
  ge,
  gt,
  isFloating,
  le,
  log1p,
  logicalOr,
  lt,
  mul,
  neg,
  sub,
  rand,
  div,
  type Tensor,
  relu as reluOp,
  sigmoid as sigmoidOp,
  tanh as tanhOp,
  where,
  softmax as softmaxOp,
  logSoftmax as logSoftmaxOp,
  assertTensor,
} from "@dl/tensor";

/**
 * Activation functions (torch.nn.functional). Each is composed from differentiable @dl/tensor
 * primitives, and arranged so that the gradient at the kinks equals PyTorch's backward formula
 * (relu'(0) = 0, hardtanh' = 0 at both bounds, elu'(0) = alpha, ...). Branches that would
 * overflow (exp of a large input) are clamped before the exp so that masked-out branches never
 * produce inf * 0 = NaN in backward.
 *
 * `inplace` is accepted everywhere PyTorch accepts it and ignored: the result is always a new
 * tensor and the input is left unchanged (write `x = F.relu(x)`).
 */
export interface InplaceOption {
  /** Accepted for PyTorch compatibility and ignored: the result is always a new tensor. */
  inplace?: boolean;
}

function requireFloat(op: string, x: Tensor): void {
  if (!isFloating(x.dtype)) throw new DTypeError(op, `expected a floating point input, got ${x.dtype}`);
}

/** max(x, 0) (F.relu). */
export function relu(x: Tensor, _options: InplaceOption = {}): Tensor {
  assertTensor("relu", x, "input");
  return reluOp(x);
}

/** Clamps to [minVal, maxVal]; the gradient is zero at and beyond both bounds (F.hardtanh). */
export function hardtanh(
  x: Tensor,
  minValOrOptions: number | (InplaceOption & { minVal?: number; maxVal?: number }) = -1,
  maxValArg = 1,
  _options: InplaceOption = {},
): Tensor {
  assertTensor("hardtanh", x, "input");
  const o = typeof minValOrOptions === "object" ? minValOrOptions : { minVal: minValOrOptions, maxVal: maxValArg };
  const minVal = o.minVal ?? -1;
  const maxVal = o.maxVal ?? 1;
  if (minVal > maxVal)
    throw new ArgumentError("hardtanh", `min_val cannot be greater than max_val (got min_val=${minVal}, max_val=${maxVal})`);
  return where(le(x, minVal), minVal, where(ge(x, maxVal), maxVal, x));
}

/** min(max(x, 0), 6) (F.relu6). */
export function relu6(x: Tensor, options: InplaceOption = {}): Tensor {
  assertTensor("relu6", x, "input");
  return hardtanh(x, 0, 6, options);
}

/** x for x > 0, negativeSlope * x otherwise (F.leaky_relu). */
export function leakyRelu(
  x: Tensor,
  negativeSlopeOrOptions: number | (InplaceOption & { negativeSlope?: number }) = 0.01,
  _options: InplaceOption = {},
): Tensor {
  assertTensor("leakyRelu", x, "input");
  const negativeSlope = typeof negativeSlopeOrOptions === "object" ? (negativeSlopeOrOptions.negativeSlope ?? 0.01) : negativeSlopeOrOptions;
  return where(gt(x, 0), x, mul(x, negativeSlope));
}

/**
 * Leaky ReLU with a learned slope per channel (F.prelu). weight has 1 element or one per channel
 * (dim 1 of the input; inputs with fewer than 2 dims have one channel, as in PyTorch).
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  assertTensor("prelu", x, "input");
  assertTensor("prelu", weight, "weight");
  if (weight.ndim > 1) throw new ShapeError("prelu", `weight must be a scalar or 1-D tensor, got shape [${weight.shape.join(",")}]`);
  const n = weight.numel();
  let w = weight.ndim === 1 && n === 1 ? weight.reshape([]) : weight;
  if (n !== 1) {
    const channels = x.ndim >= 2 ? (x.shape[1] as number) : 1;
    if (channels !== n) {
      throw new ShapeError(
        "prelu",
        `mismatch of parameter numbers and input channel size: found parameter numbers = ${n} and channel size = ${channels} (input shape [${x.shape.join(",")}])`,
      );
    }
    w = weight.reshape(x.shape.map((s, i) => (i === 1 ? s : 1)));
  }
  return where(gt(x, 0), x, mul(w, x));
}

/** x for x > 0, alpha * (exp(x) - 1) otherwise (F.elu). */
export function elu(x: Tensor, alphaOrOptions: number | (InplaceOption & { alpha?: number }) = 1, _options: InplaceOption = {}): Tensor {
  assertTensor("elu", x, "input");
  const alpha = typeof alphaOrOptions === "object" ? (alphaOrOptions.alpha ?? 1) : alphaOrOptions;
  const pos = gt(x, 0);
  // The exp branch sees min(x, 0) so that its (masked) gradient is finite for large x.
  return where(pos, x, mul(expm1(where(pos, 0, x)), alpha));
}

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** scale * elu(x, alpha) with the self-normalizing constants (F.selu). */
export function selu(x: Tensor, _options: InplaceOption = {}): Tensor {
  assertTensor("selu", x, "input");
  const pos = gt(x, 0);
  return where(pos, mul(x, SELU_SCALE), mul(expm1(where(pos, 0, x)), SELU_ALPHA * SELU_SCALE));
}

/** max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (F.celu). */
export function celu(x: Tensor, alpha = 1, _options: InplaceOption = {}): Tensor {
  assertTensor("celu", x, "input");
  if (alpha === 0) throw new ArgumentError("celu", "ZeroDivisionError: alpha cannot be 0 for CELU");
  const pos = gt(x, 0);
  return where(pos, x, mul(expm1(div(where(pos, 0, x), alpha)), alpha));
}

export interface GeluOptions {
  /** "none" (exact, with erf; default) or "tanh" (the tanh approximation). */
  approximate?: "none" | "tanh";
}

/** x * Phi(x) (F.gelu); approximate "tanh" uses 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  assertTensor("gelu", x, "input");
  const approximate = options.approximate ?? "none";
  if (approximate === "none") return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
  if (approximate === "tanh") {
    const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(mul(x, 0.5), add(tanhOp(inner), 1));
  }
  throw new ArgumentError("gelu", `approximate argument must be either none or tanh, got '${approximate as string}'`);
}

/** x * sigmoid(x) (F.silu, also called swish). */
export function silu(x: Tensor, _options: InplaceOption = {}): Tensor {
  assertTensor("silu", x, "input");
  return mul(x, sigmoidOp(x));
}

/** x * tanh(softplus(x)) (F.mish). */
export function mish(x: Tensor, _options: InplaceOption = {}): Tensor {
  assertTensor("mish", x, "input");
  return mul(x, tanhOp(softplus(x)));
}

/** 1 / (1 + exp(-x)) (F.sigmoid). */
export function sigmoid(x: Tensor): Tensor {
  assertTensor("sigmoid", x, "input");
  return sigmoidOp(x);
}

/** tanh(x) (F.tanh). */
export function tanh(x: Tensor): Tensor {
  assertTensor("tanh", x, "input");
  return tanhOp(x);
}

/**
 * log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (F.softplus).
 */
export function softplus(x: Tensor, betaOrOptions: number | { beta?: number; threshold?: number } = 1, thresholdArg = 20): Tensor {
  assertTensor("softplus", x, "input");
  const beta = typeof betaOrOptions === "object" ? (betaOrOptions.beta ?? 1) : betaOrOptions;
  const threshold = typeof betaOrOptions === "object" ? (betaOrOptions.threshold ?? 20) : thresholdArg;
  const bx = beta === 1 ? x : mul(x, beta);
  const linear = gt(bx, threshold);
  // exp sees min(beta x, threshold): finite, so the masked branch's gradient is 0, not NaN.
  const soft = log1p(exp(where(linear, threshold, bx)));
  return where(linear, x, beta === 1 ? soft : div(soft, beta));
}

/** x / (1 + |x|) (F.softsign). */
export function softsign(x: Tensor): Tensor {
  assertTensor("softsign", x, "input");
  return div(x, add(abs(x), 1));
}

/** x * relu6(x + 3) / 6 (F.hardswish), with PyTorch's gradient at -3 and 3. */
export function hardswish(x: Tensor, _options: InplaceOption = {}): Tensor {
  assertTensor("hardswish", x, "input");
  // PyTorch's backward: 0 for x < -3, x / 3 + 0.5 for -3 <= x <= 3, 1 above.
  return where(lt(x, -3), 0, where(le(x, 3), div(mul(x, add(x, 3)), 6), x));
}

/** relu6(x + 3) / 6 (F.hardsigmoid); the gradient is 1/6 strictly inside (-3, 3). */
export function hardsigmoid(x: Tensor, _options: InplaceOption = {}): Tensor {
  assertTensor("hardsigmoid", x, "input");
  return where(le(x, -3), 0, where(ge(x, 3), 1, add(div(x, 6), 0.5)));
}

/** log(sigmoid(x)), computed stably (F.logsigmoid). */
export function logsigmoid(x: Tensor): Tensor {
  assertTensor("logsigmoid", x, "input");
  const negative = lt(x, 0);
  // min(x, 0) - log1p(exp(-|x|)), with -|x| written so that its derivative at 0 is -1 (PyTorch's).
  return sub(where(negative, x, 0), log1p(exp(where(negative, x, neg(x)))));
}

/** x - tanh(x) (F.tanhshrink). */
export function tanhshrink(x: Tensor): Tensor {
  assertTensor("tanhshrink", x, "input");
  return sub(x, tanhOp(x));
}

/** x - lambd above lambd, x + lambd below -lambd, 0 between (F.softshrink). */
export function softshrink(x: Tensor, lambd = 0.5): Tensor {
  assertTensor("softshrink", x, "input");
  if (lambd < 0) throw new ArgumentError("softshrink", `lambda must be greater or equal to 0, but found to be ${lambd}`);
  return where(gt(x, lambd), sub(x, lambd), where(lt(x, -lambd), add(x, lambd), 0));
}

/** x where |x| > lambd, 0 elsewhere (F.hardshrink). */
export function hardshrink(x: Tensor, lambd = 0.5): Tensor {
  assertTensor("hardshrink", x, "input");
  return where(logicalOr(gt(x, lambd), lt(x, -lambd)), x, 0);
}

/** x where x > threshold, value elsewhere (F.threshold). */
export function threshold(x: Tensor, threshold: number, value: number, _options: InplaceOption = {}): Tensor {
  assertTensor("threshold", x, "input");
  return where(gt(x, threshold), x, value);
}

/** a * sigmoid(b) where a, b are the halves of x along dim (F.glu). */
export function glu(x: Tensor, dim = -1): Tensor {
  assertTensor("glu", x, "input");
  if (x.ndim === 0) throw new ShapeError("glu", "glu does not support scalars because halving size must be even");
  const d = dim < 0 ? dim + x.ndim : dim;
  const size = x.shape[d];
  if (size === undefined || size % 2 !== 0) {
    throw new ShapeError("glu", `halving dimension must be even, but dimension ${dim} of input [${x.shape.join(",")}] is size ${size}`);
  }
  const [a, b] = chunk(x, 2, d) as [Tensor, Tensor];
  return mul(a, sigmoidOp(b));
}

export interface RReLUOptions extends InplaceOption {
  lower?: number;
  upper?: number;
  training?: boolean;
  generator?: Generator;
}

/**
 * Randomized leaky ReLU (F.rrelu): in training each negative element gets a slope drawn from
 * U(lower, upper) (from @dl/tensor's seeded generator); in eval the slope is (lower + upper) / 2.
 */
export function rrelu(x: Tensor, options: RReLUOptions = {}): Tensor {
  assertTensor("rrelu", x, "input");
  const lower = options.lower ?? 1 / 8;
  const upper = options.upper ?? 1 / 3;
  if (!(options.training ?? false)) return leakyRelu(x, (lower + upper) / 2);
  requireFloat("rrelu", x);
  const slope = add(mul(rand(x.shape, { dtype: x.dtype, device: x.device, generator: options.generator }), upper - lower), lower);
  return where(ge(x, 0), x, mul(x, slope));
}

// ---- softmax family ----

export interface SoftmaxOptions {
  /** Cast the input to this dtype first (PyTorch's dtype argument). */
  dtype?: DType;
}

/** The dim PyTorch uses when none is given (deprecated implicit choice). */
function softmaxDim(ndim: number): number {
  return ndim === 0 || ndim === 1 || ndim === 3 ? 0 : 1;
}

function prepare(op: string, x: Tensor, dim: number | null | undefined, options: SoftmaxOptions): [Tensor, number] {
  const y = options.dtype !== undefined && options.dtype !== x.dtype ? x.to(options.dtype) : x;
  requireFloat(op, y);
  return [y, dim ?? softmaxDim(y.ndim)];
}

/**
 * exp(x) / sum(exp(x)) along dim, computed as exp(x - amax) for stability (F.softmax). The same
 * op as @dl/tensor's softmax (which uses the backend's fused kernel when it has one), plus
 * PyTorch's implicit dim when none is given.
 */
export function softmax(x: Tensor, dim?: number | null, options: SoftmaxOptions = {}): Tensor {
  assertTensor("softmax", x, "input");
  const [y, d] = prepare("softmax", x, dim, options);
  return softmaxOp(y, d);
}

/** x - logsumexp(x) along dim (F.log_softmax); see softmax. */
export function logSoftmax(x: Tensor, dim?: number | null, options: SoftmaxOptions = {}): Tensor {
  assertTensor("logSoftmax", x, "input");
  const [y, d] = prepare("logSoftmax", x, dim, options);
  return logSoftmaxOp(y, d);
}

/** softmax(-x) along dim (F.softmin). */
export function softmin(x: Tensor, dim?: number | null, options: SoftmaxOptions = {}): Tensor {
  assertTensor("softmin", x, "input");
  const [y, d] = prepare("softmin", x, dim, options);
  return softmax(neg(y), d);
}
