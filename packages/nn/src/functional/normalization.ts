import { defineFunction, noGrad } from "@dl/autograd";
import {
  ArgumentError,
  type DType,
  DTypeError,
  ShapeError,
  Tensor,
  add,
  add_,
  clamp,
  div,
  fusedKernel,
  isFloating,
  isGradEnabled,
  labelGrad,
  mean,
  mul,
  mul_,
  norm,
  pad,
  pow,
  rsqrt,
  sub,
  sum,
  assertTensor,
  describeValue,
} from "@dl/tensor";

/**
 * Normalization functions (torch.nn.functional). Each is a handful of @dl/tensor primitives
 * (reductions and broadcast elementwise ops, no host loops), so autograd differentiates them and
 * every backend runs them. Statistics of float16/bfloat16 inputs are computed in float32 and the
 * result is cast back, as PyTorch does.
 */

const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;
const isHalf = (d: DType) => d === "float16" || d === "bfloat16";

function requireFloat(op: string, x: Tensor): void {
  if (!isFloating(x.dtype)) throw new DTypeError(op, `expected a floating point input, got ${x.dtype}`);
}

/** x in float32 if it is a half type (the "opmath" type), else x. */
const upcast = (x: Tensor): Tensor => (isHalf(x.dtype) ? x.to("float32") : x);
const downcast = (y: Tensor, dtype: DType): Tensor => (y.dtype === dtype ? y : y.to(dtype));

/** Mean and biased variance over dims (kept), and x - mean. */
function moments(x: Tensor, dims: number[]): { mu: Tensor; centered: Tensor; variance: Tensor } {
  const mu = mean(x, dims, { keepdim: true });
  const centered = sub(x, mu);
  const variance = mean(mul(centered, centered), dims, { keepdim: true });
  return { mu, centered, variance };
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

// ---- layer norm / rms norm ----

export interface LayerNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

function normalizedDims(op: string, x: Tensor, normalizedShape: number | readonly number[]): number[] {
  if (typeof normalizedShape !== "number" && !Array.isArray(normalizedShape)) {
    throw new ArgumentError(op, `normalized_shape must be an int or an array of ints, got ${describeValue(normalizedShape)}`);
  }
  const shape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
  const k = shape.length;
  if (k === 0)
    throw new ShapeError(
      op,
      "expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, but got normalized_shape = []",
    );
  const tail = x.shape.slice(x.ndim - k);
  if (x.ndim < k || tail.some((s, i) => s !== shape[i])) {
    throw new ShapeError(
      op,
      `given normalized_shape=${fmt(shape)}, expected input with shape [*, ${shape.join(", ")}], but got input of size ${fmt(x.shape)}`,
    );
  }
  return range(x.ndim - k, x.ndim);
}

function checkAffine(op: string, name: string, t: Tensor | null | undefined, shape: readonly number[]): void {
  if (t && (t.ndim !== shape.length || t.shape.some((s, i) => s !== shape[i]))) {
    throw new ShapeError(op, `expected ${name} of shape ${fmt(shape)}, got ${fmt(t.shape)}`);
  }
}

/**
 * (x - mean) / sqrt(var + eps) * weight + bias over the trailing dims given by normalizedShape
 * (F.layer_norm); the variance is biased. Runs the backend's fused kernel when it has one (and
 * weight, bias share x's compute dtype), else the composition below.
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], options: LayerNormOptions = {}): Tensor {
  assertTensor("layerNorm", x, "input");
  requireFloat("layerNorm", x);
  const dims = normalizedDims("layerNorm", x, normalizedShape);
  const tail = x.shape.slice(dims[0]);
  const weight = options.weight ?? null;
  const bias = options.bias ?? null;
  checkAffine("layerNorm", "weight", weight, tail);
  checkAffine("layerNorm", "bias", bias, tail);
  const eps = options.eps ?? 1e-5;
  const xc = upcast(x);
  let y: Tensor;
  if (fusedKernel(xc, "layerNorm") && [weight, bias].every((t) => t === null || (t.dtype === xc.dtype && t.device === xc.device))) {
    y = FusedLayerNorm(xc, weight, bias, dims, eps);
  } else {
    const { centered, variance } = moments(xc, dims);
    y = mul(centered, rsqrt(add(variance, eps)));
    if (weight) y = mul(y, weight);
    if (bias) y = add(y, bias);
  }
  labelGrad(y, "NativeLayerNormBackward0", [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])]);
  return downcast(y, x.dtype);
}

/**
 * layerNorm's gradients composed from ops, from the row statistics mu and rs (kept dims):
 * gx = rs * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)), gw = sum(g * xhat), gb = sum(g) over
 * the leading dims.
 */
function layerNormGrads(g: Tensor, x: Tensor, mu: Tensor, rs: Tensor, w: Tensor | null, dims: number[], needW: boolean) {
  const xhat = mul(sub(x, mu), rs);
  const gxhat = w ? mul(g, w) : g;
  const gx = mul(rs, sub(sub(gxhat, mean(gxhat, dims, { keepdim: true })), mul(xhat, mean(mul(gxhat, xhat), dims, { keepdim: true }))));
  const lead = range(0, dims[0] as number);
  const overLead = (t: Tensor) => (lead.length ? sum(t, lead) : t);
  return { gx, gw: needW ? overLead(mul(g, xhat)) : null, gb: needW ? overLead(g) : null };
}

/** The fused layer norm as one autograd node (NativeLayerNormBackward0 after labelGrad). */
const FusedLayerNorm = defineFunction("NativeLayerNorm", {
  forward(ctx, x: Tensor, w: Tensor | null, b: Tensor | null, dims: number[], eps: number) {
    const kernel = fusedKernel(x, "layerNorm") as NonNullable<ReturnType<typeof fusedKernel<"layerNorm">>>;
    const size = x.shape.slice(dims[0]).reduce((a, s) => a * s, 1);
    const r = kernel(x.ref, size, w?.ref ?? null, b?.ref ?? null, eps);
    const statShape = x.shape.map((s, i) => (i < (dims[0] as number) ? s : 1));
    const statDtype = x.dtype === "float64" ? "float64" : "float32";
    const mu = Tensor.fromData(x.backend, x.device, r.mean, statDtype, statShape);
    const rs = Tensor.fromData(x.backend, x.device, r.rstd, statDtype, statShape);
    ctx.saveForBackward(x, mu, rs, ...(w ? [w] : []));
    mu.dispose();
    rs.dispose();
    Object.assign(ctx.data, { dims, eps, size, w: w !== null, b: b !== null });
    return Tensor.fromData(x.backend, x.device, r.y, x.dtype, x.shape);
  },
  backward(ctx, g) {
    const [x, savedMu, savedRs, w = null] = ctx.savedTensors as [Tensor, Tensor, Tensor, Tensor?];
    const { dims, eps, size } = ctx.data as { dims: number[]; eps: number; size: number };
    const hasW = ctx.data.w as boolean;
    const hasB = ctx.data.b as boolean;
    const needW = ctx.needsInputGrad.slice(1).some((n) => n);
    const kernel = fusedKernel(x, "layerNormBackward");
    let gx: Tensor;
    let gw: Tensor | null;
    let gb: Tensor | null;
    if (kernel && !isGradEnabled()) {
      const r = kernel(g.ref, x.ref, savedMu.ref, savedRs.ref, w?.ref ?? null, size, needW);
      const wrap = (data: unknown, shape: readonly number[]) => Tensor.fromData(x.backend, x.device, data, x.dtype, shape);
      const tail = x.shape.slice(dims[0]);
      gx = wrap(r.gx, x.shape);
      gw = r.gw === null ? null : wrap(r.gw, tail);
      gb = r.gb === null ? null : wrap(r.gb, tail);
    } else {
      // Under createGraph the statistics are recomputed from x by recorded ops, so that the
      // gradient is differentiable in x as well.
      let mu = savedMu;
      let rs = savedRs;
      if (isGradEnabled()) {
        const m = moments(x, dims);
        mu = m.mu;
        rs = rsqrt(add(m.variance, eps));
      }
      ({ gx, gw, gb } = layerNormGrads(g, x, mu, rs, w, dims, needW));
    }
    return [gx, ...(hasW ? [gw] : []), ...(hasB ? [gb] : [])];
  },
});

/** Machine epsilon of the type PyTorch computes in (float32 for halves, as torch.finfo). */
function finfoEps(dtype: DType): number {
  return dtype === "float64" ? 2.220446049250313e-16 : 1.1920928955078125e-7;
}

export interface RMSNormOptions {
  weight?: Tensor | null;
  /** Default (null): the machine epsilon of the compute dtype, as PyTorch 2.4. */
  eps?: number | null;
}

/** x / sqrt(mean(x^2) + eps) * weight over the trailing dims (F.rms_norm, PyTorch 2.4). */
export function rmsNorm(x: Tensor, normalizedShape: number | readonly number[], options: RMSNormOptions = {}): Tensor {
  assertTensor("rmsNorm", x, "input");
  requireFloat("rmsNorm", x);
  const dims = normalizedDims("rmsNorm", x, normalizedShape);
  checkAffine("rmsNorm", "weight", options.weight, x.shape.slice(dims[0]));
  const xc = upcast(x);
  const eps = options.eps ?? finfoEps(xc.dtype);
  let y = mul(xc, rsqrt(add(mean(mul(xc, xc), dims, { keepdim: true }), eps)));
  if (options.weight) y = mul(y, options.weight);
  return downcast(y, x.dtype);
}

// ---- batch norm / instance norm ----

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Use the batch's statistics (and update the running ones); default false, as PyTorch. */
  training?: boolean;
  /** Weight of the new statistics in the running averages (default 0.1). */
  momentum?: number;
  eps?: number;
}

/** [1, C, 1, ...] for per-channel vectors against an (N, C, ...) input. */
const channelShape = (x: Tensor): number[] => x.shape.map((s, i) => (i === 1 ? s : 1));

function checkChannelVector(op: string, name: string, t: Tensor | null | undefined, c: number): void {
  if (t !== null && t !== undefined) assertTensor(op, t, name);
  if (t && (t.ndim !== 1 || t.shape[0] !== c))
    throw new ShapeError(op, `expected ${name} to have shape [${c}] (one value per channel), got ${fmt(t.shape)}`);
}

/** running = (1 - momentum) * running + momentum * value, in place and untracked. */
function updateRunning(running: Tensor, value: Tensor, momentum: number): void {
  noGrad(() => {
    mul_(running, 1 - momentum);
    add_(running, value.detach().to(running.dtype), { alpha: momentum });
  });
}

/** Normalization by precomputed statistics: x * scale + shift with per-channel scale, shift. */
function normalizeWithStats(
  x: Tensor,
  m: Tensor,
  v: Tensor,
  weight: Tensor | null | undefined,
  bias: Tensor | null | undefined,
  eps: number,
): Tensor {
  const shape = channelShape(x);
  let scale = rsqrt(add(upcast(v), eps));
  if (weight) scale = mul(scale, weight);
  let shift = mul(upcast(m), scale);
  shift = bias ? sub(bias, shift) : mul(shift, -1);
  return add(mul(x, scale.reshape(shape)), shift.reshape(shape));
}

/**
 * Batch normalization over (N, C, ...) inputs (F.batch_norm). In training the batch's mean and
 * biased variance normalize the input, and the running statistics (when given) are updated in
 * place with the unbiased variance; otherwise the running statistics are used.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormOptions = {}): Tensor {
  assertTensor("batchNorm", x, "input");
  const op = "batchNorm";
  requireFloat(op, x);
  if (x.ndim < 2) throw new ShapeError(op, `expected an input of shape (N, C, ...) with at least 2 dims, got ${fmt(x.shape)}`);
  const c = x.shape[1] as number;
  const training = options.training ?? false;
  const momentum = options.momentum ?? 0.1;
  const eps = options.eps ?? 1e-5;
  checkChannelVector(op, "running_mean", runningMean, c);
  checkChannelVector(op, "running_var", runningVar, c);
  checkChannelVector(op, "weight", options.weight, c);
  checkChannelVector(op, "bias", options.bias, c);
  if (!training) {
    if (!runningMean || !runningVar)
      throw new ArgumentError(op, "running_mean and running_var must be defined in evaluation mode (training=false)");
    const xc = upcast(x);
    return downcast(normalizeWithStats(xc, runningMean, runningVar, options.weight, options.bias, eps), x.dtype);
  }
  const n = x.numel() / c;
  if (n <= 1) throw new ArgumentError(op, `expected more than 1 value per channel when training, got input size ${fmt(x.shape)}`);
  const dims = [0, ...range(2, x.ndim)];
  const xc = upcast(x);
  const { mu, centered, variance } = moments(xc, dims);
  if (runningMean) updateRunning(runningMean, mu.reshape([c]), momentum);
  if (runningVar) updateRunning(runningVar, mul(variance.reshape([c]), n / (n - 1)), momentum);
  // (x - mean) * (weight * rstd) + bias: one big multiply and one big add after the statistics.
  let scale = rsqrt(add(variance, eps));
  if (options.weight) scale = mul(scale, options.weight.reshape(channelShape(x)));
  let y = mul(centered, scale);
  if (options.bias) y = add(y, options.bias.reshape(channelShape(x)));
  return downcast(y, x.dtype);
}

export interface InstanceNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalize by each instance's statistics (default true); false uses the running ones. */
  useInputStats?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Instance normalization (F.instance_norm): each (sample, channel) slice of an (N, C, ...) input is
 * normalized by its own mean and biased variance. Running statistics, when given, are updated with
 * the batch average of the per-instance mean and unbiased variance, as PyTorch does.
 */
export function instanceNorm(x: Tensor, options: InstanceNormOptions = {}): Tensor {
  assertTensor("instanceNorm", x, "input");
  const op = "instanceNorm";
  requireFloat(op, x);
  if (x.ndim < 3) throw new ShapeError(op, `expected an input of shape (N, C, ...) with at least 3 dims, got ${fmt(x.shape)}`);
  const c = x.shape[1] as number;
  const eps = options.eps ?? 1e-5;
  const momentum = options.momentum ?? 0.1;
  const { runningMean, runningVar, weight, bias } = options;
  checkChannelVector(op, "running_mean", runningMean, c);
  checkChannelVector(op, "running_var", runningVar, c);
  checkChannelVector(op, "weight", weight, c);
  checkChannelVector(op, "bias", bias, c);
  const xc = upcast(x);
  if (!(options.useInputStats ?? true)) {
    if (!runningMean || !runningVar)
      throw new ArgumentError(op, "expected running_mean and running_var to be defined when use_input_stats is false");
    return downcast(normalizeWithStats(xc, runningMean, runningVar, weight, bias, eps), x.dtype);
  }
  const dims = range(2, x.ndim);
  const n = x.numel() / (c * (x.shape[0] as number));
  if (n <= 1) throw new ArgumentError(op, `expected more than 1 spatial element when training, got input size ${fmt(x.shape)}`);
  const { mu, centered, variance } = moments(xc, dims);
  if (runningMean) updateRunning(runningMean, mean(mu.reshape([-1, c]), 0), momentum);
  if (runningVar) updateRunning(runningVar, mul(mean(variance.reshape([-1, c]), 0), n / (n - 1)), momentum);
  let y = mul(centered, rsqrt(add(variance, eps)));
  if (weight) y = mul(y, weight.reshape(channelShape(x)));
  if (bias) y = add(y, bias.reshape(channelShape(x)));
  return downcast(y, x.dtype);
}

// ---- group norm ----

export interface GroupNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

/** Normalizes each group of C / numGroups channels of each sample (F.group_norm); weight and bias are per channel. */
export function groupNorm(x: Tensor, numGroups: number, options: GroupNormOptions = {}): Tensor {
  assertTensor("groupNorm", x, "input");
  const op = "groupNorm";
  requireFloat(op, x);
  if (x.ndim < 2) throw new ShapeError(op, `expected an input of shape (N, C, ...) with at least 2 dims, got ${fmt(x.shape)}`);
  const [n, c] = x.shape as [number, number];
  if (!Number.isInteger(numGroups) || numGroups <= 0 || c % numGroups !== 0) {
    throw new ShapeError(
      op,
      `expected number of channels in input to be divisible by num_groups, but got input of shape ${fmt(x.shape)} and num_groups=${numGroups}`,
    );
  }
  checkChannelVector(op, "weight", options.weight, c);
  checkChannelVector(op, "bias", options.bias, c);
  const xc = upcast(x);
  const grouped = xc.reshape([n, numGroups, -1]);
  const { centered, variance } = moments(grouped, [2]);
  let y = mul(centered, rsqrt(add(variance, options.eps ?? 1e-5))).reshape(x.shape);
  if (options.weight) y = mul(y, options.weight.reshape(channelShape(x)));
  if (options.bias) y = add(y, options.bias.reshape(channelShape(x)));
  return downcast(y, x.dtype);
}

// ---- local response norm ----

export interface LocalResponseNormOptions {
  alpha?: number;
  beta?: number;
  k?: number;
}

/**
 * x / (k + alpha / size * sum of x^2 over `size` neighbouring channels)^beta (F.local_response_norm);
 * the window is zero-padded with size/2 channels before and (size-1)/2 after, as PyTorch.
 */
export function localResponseNorm(x: Tensor, size: number, options: LocalResponseNormOptions = {}): Tensor {
  assertTensor("localResponseNorm", x, "input");
  const op = "localResponseNorm";
  requireFloat(op, x);
  if (x.ndim < 3) throw new ShapeError(op, `expected 3D or higher dimensionality input (got ${x.ndim} dimensions)`);
  if (!Number.isInteger(size) || size < 1) throw new ArgumentError(op, `size must be a positive integer, got ${size}`);
  if (x.numel() === 0) return x;
  const alpha = options.alpha ?? 1e-4;
  const beta = options.beta ?? 0.75;
  const k = options.k ?? 1;
  // Channels last, zero-pad, sliding windows of `size`, mean (avg_pool counts the padding).
  const sq = mul(x, x).movedim(1, -1);
  const windows = pad(sq, [Math.floor(size / 2), Math.floor((size - 1) / 2)]).unfold(-1, size, 1);
  const avg = div(sum(windows, -1), size).movedim(-1, 1);
  return div(x, pow(add(mul(avg, alpha), k), beta));
}

// ---- normalize ----

export interface NormalizeOptions {
  p?: number;
  dim?: number;
  eps?: number;
}

/** x / max(||x||_p, eps) along dim (F.normalize; p = 2, dim = 1, eps = 1e-12 by default). */
export function normalize(x: Tensor, pOrOptions: number | NormalizeOptions = {}, dim?: number, eps?: number): Tensor {
  assertTensor("normalize", x, "input");
  const options: NormalizeOptions = typeof pOrOptions === "object" ? pOrOptions : { p: pOrOptions, dim, eps };
  requireFloat("normalize", x);
  const denom = clamp(norm(x, options.p ?? 2, options.dim ?? 1, { keepdim: true }), { min: options.eps ?? 1e-12 });
  return div(x, denom);
}
