import { defineFunction } from "@dl/autograd";
import {
  ArgumentError,
  DTypeError,
  IndexError,
  ShapeError,
  Tensor,
  abs,
  add,
  amax,
  broadcastShapes,
  cat,
  clamp,
  div,
  eq,
  exp,
  fromHost,
  full,
  gather,
  isFloating,
  isinf,
  log,
  logicalAnd,
  logit,
  lt,
  logsumexp,
  mean,
  minimum,
  mul,
  ne,
  neg,
  norm,
  scatterAdd,
  sqrt,
  stack,
  sub,
  sum,
  where,
  xlogy,
  zeros,
} from "@dl/tensor";

/**
 * Loss functions (torch.nn.functional losses) composed from @dl/tensor's differentiable ops, with
 * PyTorch 1.13's formulas, reductions, shape rules and error messages. Each takes its tensors
 * positionally and PyTorch's keyword arguments as a trailing options object:
 *   F.crossEntropy(logits, target, { weight, ignoreIndex, labelSmoothing, reduction }).
 */

export type Reduction = "none" | "mean" | "sum";

export interface ReductionOptions {
  /** 'none' keeps one loss per element, 'mean' (default) averages, 'sum' adds them up. */
  reduction?: Reduction;
}

/** PyTorch's size formatting in messages: [2, 4, 5]. */
const sz = (s: readonly number[]): string => `[${s.join(", ")}]`;

function reduce(op: string, loss: Tensor, reduction: Reduction | undefined): Tensor {
  switch (reduction ?? "mean") {
    case "none":
      return loss;
    case "mean":
      return mean(loss);
    case "sum":
      return sum(loss);
    default:
      throw new ArgumentError(op, `${reduction} is not a valid value for reduction (expected 'none', 'mean' or 'sum')`);
  }
}

function checkReduction(op: string, reduction: string | undefined, allowed: readonly string[] = ["none", "mean", "sum"]): void {
  if (reduction !== undefined && !allowed.includes(reduction)) {
    throw new ArgumentError(op, `${reduction} is not a valid value for reduction (expected ${allowed.map((r) => `'${r}'`).join(", ")})`);
  }
}

function checkBroadcast(op: string, input: Tensor, target: Tensor): void {
  try {
    broadcastShapes(op, input.shape, target.shape);
  } catch {
    throw new ShapeError(op, `the size of input ${sz(input.shape)} must be broadcastable with the size of target ${sz(target.shape)}`);
  }
}

// Warnings already shown: like Python's default filter, each distinct warning is printed once.
const warned = new Set<string>();

/**
 * The regression losses broadcast input against target, and PyTorch warns when their sizes differ:
 * an [N,1] prediction against an [N] target silently becomes an [N,N] loss.
 */
function warnSizeMismatch(op: string, input: Tensor, target: Tensor): void {
  if (input.ndim === target.ndim && input.shape.every((s, i) => s === target.shape[i])) return;
  const msg = `${op}: Using a target size (${sz(target.shape)}) that is different to the input size (${sz(input.shape)}). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.`;
  if (warned.has(msg)) return;
  warned.add(msg);
  console.warn(msg);
}

function checkTensor(op: string, name: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new ArgumentError(op, `expected ${name} to be a Tensor, got ${t === null ? "null" : typeof t}`);
}

/** log_softmax as x - logsumexp(x): kept local so losses don't depend on functional/activation. */
function logSoftmax(x: Tensor, dim: number): Tensor {
  return sub(x, logsumexp(x, dim, { keepdim: true }));
}

/** Host values of a small index tensor when the backend reads synchronously (validation only). */
function hostIfSync(t: Tensor): ArrayLike<number> | null {
  return t.backend.canReadSync && t.numel() > 0 ? (t.dataSync() as ArrayLike<number>) : null;
}

// ---------------------------------------------------------------------------------------------
// regression losses

/** F.mse_loss: (input - target)^2, broadcasting as PyTorch does. */
export function mseLoss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  const op = "mseLoss";
  checkTensor(op, "input", input);
  checkTensor(op, "target", target);
  checkReduction(op, options.reduction);
  checkBroadcast(op, input, target);
  warnSizeMismatch(op, input, target);
  const d = sub(input, target);
  return reduce(op, mul(d, d), options.reduction);
}

/** F.l1_loss: |input - target|. */
export function l1Loss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  const op = "l1Loss";
  checkTensor(op, "input", input);
  checkTensor(op, "target", target);
  checkReduction(op, options.reduction);
  checkBroadcast(op, input, target);
  warnSizeMismatch(op, input, target);
  return reduce(op, abs(sub(input, target)), options.reduction);
}

export interface SmoothL1LossOptions extends ReductionOptions {
  /** Where the loss switches from quadratic to linear (default 1; 0 gives the L1 loss). */
  beta?: number;
}

/** F.smooth_l1_loss: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta. */
export function smoothL1Loss(input: Tensor, target: Tensor, options: SmoothL1LossOptions = {}): Tensor {
  const op = "smoothL1Loss";
  checkTensor(op, "input", input);
  checkTensor(op, "target", target);
  checkReduction(op, options.reduction);
  const beta = options.beta ?? 1;
  if (!(beta >= 0)) throw new ArgumentError(op, `smooth_l1_loss does not support negative values for beta (got ${beta})`);
  checkBroadcast(op, input, target);
  warnSizeMismatch(op, input, target);
  const d = sub(input, target);
  const a = abs(d);
  if (beta === 0) return reduce(op, a, options.reduction);
  const loss = where(lt(a, beta), div(mul(mul(d, d), 0.5), beta), sub(a, 0.5 * beta));
  return reduce(op, loss, options.reduction);
}

export interface HuberLossOptions extends ReductionOptions {
  /** Where the loss switches from quadratic to linear (default 1, must be > 0). */
  delta?: number;
}

/** F.huber_loss: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta). */
export function huberLoss(input: Tensor, target: Tensor, options: HuberLossOptions = {}): Tensor {
  const op = "huberLoss";
  checkTensor(op, "input", input);
  checkTensor(op, "target", target);
  checkReduction(op, options.reduction);
  const delta = options.delta ?? 1;
  if (!(delta > 0)) throw new ArgumentError(op, `huber_loss does not support non-positive values for delta (got ${delta})`);
  checkBroadcast(op, input, target);
  warnSizeMismatch(op, input, target);
  const d = sub(input, target);
  const a = abs(d);
  const loss = where(lt(a, delta), mul(mul(d, d), 0.5), mul(sub(a, 0.5 * delta), delta));
  return reduce(op, loss, options.reduction);
}

// ---------------------------------------------------------------------------------------------
// classification: nll / cross entropy

export interface NLLLossOptions extends ReductionOptions {
  /** A manual rescaling weight per class, shape [C]. */
  weight?: Tensor | null;
  /** Targets equal to this value contribute nothing, also not to the mean's denominator (default -100). */
  ignoreIndex?: number;
}

export interface CrossEntropyLossOptions extends NLLLossOptions {
  /** Mixes the target with the uniform distribution: (1 - s) target + s / C (default 0). */
  labelSmoothing?: number;
}

const isIndexDType = (t: Tensor) => t.dtype === "int64" || t.dtype === "int32";

/**
 * Validates class-index targets against an input [N, C, d1, ...], [N, C] or [C] (unbatched):
 * shapes first, then (where the backend reads synchronously) every non-ignored target value.
 */
function checkClassTargets(op: string, input: Tensor, target: Tensor, weight: Tensor | null | undefined, ignoreIndex: number): void {
  checkTensor(op, "input", input);
  checkTensor(op, "target", target);
  if (input.ndim < 1) throw new ShapeError(op, "Expected 1 or more dimensions (got 0) for input");
  if (!isIndexDType(target)) {
    throw new DTypeError(
      op,
      `expected class-index targets of dtype int64 (or int32), got ${target.dtype} (for class probabilities, pass a float target of the input's shape ${sz(input.shape)})`,
    );
  }
  if (input.ndim === 1) {
    if (target.ndim !== 0) throw new ShapeError(op, `1D input ${sz(input.shape)} (unbatched) expects a 0D target, got ${sz(target.shape)}`);
  } else {
    if (target.ndim === 0 || input.shape[0] !== target.shape[0]) {
      throw new ShapeError(
        op,
        `Expected input batch_size (${input.shape[0]}) to match target batch_size (${target.ndim === 0 ? 0 : target.shape[0]}).`,
      );
    }
    if (input.ndim === 2 && target.ndim !== 1) {
      throw new ShapeError(
        op,
        `0D or 1D target tensor expected, multi-target not supported (input ${sz(input.shape)}, target ${sz(target.shape)})`,
      );
    }
    if (input.ndim > 2) {
      const want = [input.shape[0] as number, ...input.shape.slice(2)];
      if (target.ndim !== want.length || want.some((s, i) => s !== target.shape[i])) {
        throw new ShapeError(op, `Expected target size ${sz(want)}, got ${sz(target.shape)}`);
      }
    }
  }
  const C = (input.ndim === 1 ? input.shape[0] : input.shape[1]) as number;
  if (weight !== undefined && weight !== null) {
    checkTensor(op, "weight", weight);
    if (weight.ndim !== 1 || weight.numel() !== C) {
      throw new ShapeError(
        op,
        `weight tensor should be defined either for all ${C} classes or no classes but got weight tensor of shape: ${sz(weight.shape)}`,
      );
    }
  }
  const values = hostIfSync(target);
  if (values) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v !== ignoreIndex && (v < 0 || v >= C)) {
        throw new IndexError(
          op,
          `Target ${v} is out of bounds. Class indices must lie in [0, ${C}) or equal ignoreIndex (${ignoreIndex}).`,
        );
      }
    }
  }
}

interface NllParts {
  /** -w[t] x[t] per element (0 where ignored), shaped like the target. */
  losses: Tensor;
  /** w[t] per element (0 where ignored): the weighted mean's denominator terms. */
  weights: Tensor;
  keep: Tensor;
  unbatched: boolean;
}

function nllParts(input: Tensor, target: Tensor, weight: Tensor | null | undefined, ignoreIndex: number): NllParts {
  const unbatched = input.ndim === 1;
  const x = unbatched ? input.unsqueeze(0) : input;
  let t = unbatched ? target.view(1) : target;
  if (t.dtype !== "int64") t = t.to("int64");
  const keep = ne(t, ignoreIndex);
  const safe = where(keep, t, 0);
  const picked = gather(x, 1, safe.unsqueeze(1)).squeeze(1);
  if (weight) {
    const w = gather(weight, 0, safe.reshape(-1)).view(safe.shape);
    return { losses: where(keep, neg(mul(picked, w)), 0), weights: where(keep, w, 0), keep, unbatched };
  }
  return { losses: where(keep, neg(picked), 0), weights: keep.to(x.dtype), keep, unbatched };
}

function reduceNll(op: string, p: NllParts, reduction: Reduction | undefined): Tensor {
  switch (reduction ?? "mean") {
    case "none":
      return p.unbatched ? p.losses.view([]) : p.losses;
    case "sum":
      return sum(p.losses);
    case "mean":
      // PyTorch divides by the summed weights of the non-ignored targets (NaN when all are ignored).
      return div(sum(p.losses), sum(p.weights));
    default:
      throw new ArgumentError(op, `${reduction} is not a valid value for reduction`);
  }
}

/**
 * F.nll_loss: -weight[t] * input[n, t] for log-probabilities input [N, C], [N, C, d1, ...] or [C]
 * and class indices target [N], [N, d1, ...] or []. The weighted mean divides by the sum of the
 * weights of the non-ignored targets.
 */
export function nllLoss(input: Tensor, target: Tensor, options: NLLLossOptions = {}): Tensor {
  const op = "nllLoss";
  const ignoreIndex = options.ignoreIndex ?? -100;
  checkReduction(op, options.reduction);
  checkClassTargets(op, input, target, options.weight, ignoreIndex);
  return reduceNll(op, nllParts(input, target, options.weight, ignoreIndex), options.reduction);
}

/**
 * F.cross_entropy: log_softmax over the class dim (1, or 0 for an unbatched [C] input) followed by
 * the NLL loss. Targets are class indices (integer, shape without the class dim) or class
 * probabilities (float, the input's shape). Supports weight, ignoreIndex and labelSmoothing with
 * PyTorch 1.13's formulas.
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyLossOptions = {}): Tensor {
  const op = "crossEntropy";
  checkTensor(op, "input", input);
  checkTensor(op, "target", target);
  checkReduction(op, options.reduction);
  const ls = options.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls <= 1)) throw new ArgumentError(op, `label_smoothing must be between 0.0 and 1.0. Got: ${ls}`);
  const ignoreIndex = options.ignoreIndex ?? -100;
  const weight = options.weight ?? null;
  if (input.ndim < 1) throw new ShapeError(op, "Expected 1 or more dimensions (got 0) for input");
  const classDim = input.ndim === 1 ? 0 : 1;
  const C = input.shape[classDim] as number;
  const reduction = options.reduction ?? "mean";
  const bshape = input.shape.map((s, i) => (i === classDim ? s : 1));

  const sameShape = input.ndim === target.ndim && input.shape.every((s, i) => s === target.shape[i]);
  if (sameShape) {
    // Class probabilities.
    if (!isFloating(target.dtype))
      throw new DTypeError(op, `Expected floating point type for target with class probabilities, got ${target.dtype}`);
    if (ignoreIndex >= 0) throw new ArgumentError(op, "ignore_index is not supported for floating point target");
    if (weight !== null) {
      checkTensor(op, "weight", weight);
      if (weight.ndim !== 1 || weight.numel() !== C) {
        throw new ShapeError(
          op,
          `weight tensor should be defined either for all ${C} classes or no classes but got weight tensor of shape: ${sz(weight.shape)}`,
        );
      }
    }
    const logp = logSoftmax(input, classDim);
    const tgt = ls > 0 ? add(mul(target, 1 - ls), ls / C) : target;
    let prod = mul(logp, tgt);
    if (weight !== null) prod = mul(prod, weight.view(bshape));
    if (reduction === "none") return neg(sum(prod, classDim));
    if (reduction === "sum") return neg(sum(prod));
    return div(neg(sum(prod)), input.numel() === 0 ? Number.NaN : input.numel() / C);
  }

  checkClassTargets(op, input, target, weight, ignoreIndex);
  const logp = logSoftmax(input, classDim);
  const parts = nllParts(logp, target, weight, ignoreIndex);
  const nll = reduceNll(op, parts, reduction);
  if (ls === 0) return nll;
  // Label smoothing (cross_entropy_loss_label_smoothing): the uniform part -sum_c w_c logp_c.
  let smooth = weight !== null ? neg(sum(mul(logp, weight.view(bshape)), classDim)) : neg(sum(logp, classDim));
  smooth = where(parts.unbatched ? parts.keep.view([]) : parts.keep, smooth, 0);
  let ret: Tensor;
  if (reduction === "none") ret = smooth;
  else if (reduction === "sum") ret = sum(smooth);
  else ret = div(sum(smooth), sum(parts.weights));
  return add(mul(nll, 1 - ls), mul(ret, ls / C));
}

// ---------------------------------------------------------------------------------------------
// binary cross entropy

export interface BCELossOptions extends ReductionOptions {
  /** Rescaling weight, broadcast to the input's shape. */
  weight?: Tensor | null;
}

// The elementwise BCE as a custom function, so its gradients are PyTorch's (finite at 0 and 1):
//   d/dx = (x - t) / max((1 - x) x, 1e-12) * w,   d/dt = -logit(x) * w.
const bceElementwise = defineFunction("BinaryCrossEntropy", {
  forward(ctx, x: Tensor, t: Tensor, w?: Tensor) {
    ctx.saveForBackward(x, t, ...(w ? [w] : []));
    const l = sub(mul(sub(t, 1), clamp(log(sub(1, x)), -100)), mul(t, clamp(log(x), -100)));
    return w ? mul(l, w) : l;
  },
  backward(ctx, g) {
    const [x, t, w] = ctx.savedTensors as [Tensor, Tensor, Tensor | undefined];
    let gx: Tensor | null = null;
    let gt: Tensor | null = null;
    if (ctx.needsInputGrad[0]) {
      gx = div(mul(g, sub(x, t)), clamp(mul(sub(1, x), x), 1e-12));
      if (w) gx = mul(gx, w);
    }
    if (ctx.needsInputGrad[1]) {
      gt = mul(neg(logit(x)), g);
      if (w) gt = mul(gt, w);
    }
    return w ? [gx, gt, null] : [gx, gt];
  },
});

/** F.binary_cross_entropy: -w (t log x + (1 - t) log(1 - x)) with the logs clamped at -100. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BCELossOptions = {}): Tensor {
  const op = "binaryCrossEntropy";
  checkTensor(op, "input", input);
  checkTensor(op, "target", target);
  checkReduction(op, options.reduction);
  if (input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i])) {
    throw new ShapeError(
      op,
      `Using a target size (${sz(target.shape)}) that is different to the input size (${sz(input.shape)}) is deprecated. Please ensure they have the same size.`,
    );
  }
  if (!isFloating(input.dtype)) throw new DTypeError(op, `expected a floating point input, got ${input.dtype}`);
  const values = hostIfSync(input);
  if (values) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (!(v >= 0 && v <= 1)) throw new ArgumentError(op, `all elements of input should be between 0 and 1 (found ${v})`);
    }
  }
  const t = target.dtype === input.dtype ? target : target.to(input.dtype);
  let w: Tensor | undefined;
  if (options.weight) {
    checkTensor(op, "weight", options.weight);
    w = options.weight.expand(broadcastShapes(op, target.shape, options.weight.shape));
  }
  const loss = w ? bceElementwise(input, t, w) : bceElementwise(input, t);
  return reduce(op, loss, options.reduction);
}

export interface BCEWithLogitsLossOptions extends BCELossOptions {
  /** Weight of the positive examples, broadcast against the input (per class along the last dim). */
  posWeight?: Tensor | null;
}

/**
 * F.binary_cross_entropy_with_logits: sigmoid + BCE in PyTorch's stable form
 * (1 - t) x + lw (log(exp(-m) + exp(-x - m)) + m), m = max(-x, 0), lw = 1 + (posWeight - 1) t.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BCEWithLogitsLossOptions = {}): Tensor {
  const op = "binaryCrossEntropyWithLogits";
  checkTensor(op, "input", input);
  checkTensor(op, "target", target);
  checkReduction(op, options.reduction);
  if (input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i])) {
    throw new ShapeError(op, `Target size (${sz(target.shape)}) must be the same as input size (${sz(input.shape)})`);
  }
  const m = clamp(neg(input), 0);
  const softplusNeg = add(log(add(exp(neg(m)), exp(sub(neg(input), m)))), m);
  let loss: Tensor;
  if (options.posWeight) {
    checkTensor(op, "posWeight", options.posWeight);
    checkBroadcast(op, input, options.posWeight);
    const logWeight = add(mul(sub(options.posWeight, 1), target), 1);
    loss = add(mul(sub(1, target), input), mul(logWeight, softplusNeg));
  } else {
    loss = add(mul(sub(1, target), input), softplusNeg);
  }
  if (options.weight) {
    checkTensor(op, "weight", options.weight);
    checkBroadcast(op, input, options.weight);
    loss = mul(loss, options.weight);
  }
  return reduce(op, loss, options.reduction);
}

// ---------------------------------------------------------------------------------------------
// KL divergence

export interface KLDivLossOptions {
  /** 'mean' (default, over all elements), 'batchmean' (sum / batch size: the true KL), 'sum' or 'none'. */
  reduction?: Reduction | "batchmean";
  /** Whether target holds log-probabilities (default false). */
  logTarget?: boolean;
}

/** F.kl_div: input holds log-probabilities; target probabilities (or log-probabilities with logTarget). */
export function klDiv(input: Tensor, target: Tensor, options: KLDivLossOptions = {}): Tensor {
  const op = "klDiv";
  checkTensor(op, "input", input);
  checkTensor(op, "target", target);
  checkReduction(op, options.reduction, ["none", "mean", "sum", "batchmean"]);
  checkBroadcast(op, input, target);
  const out = options.logTarget ? mul(exp(target), sub(target, input)) : sub(xlogy(target, target), mul(target, input));
  if (options.reduction === "batchmean") return input.ndim !== 0 ? div(sum(out), input.shape[0] as number) : sum(out);
  return reduce(op, out, options.reduction as Reduction | undefined);
}

// ---------------------------------------------------------------------------------------------
// embedding and ranking losses

export interface MarginOptions extends ReductionOptions {
  margin?: number;
}

/**
 * F.cosine_embedding_loss: 1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it
 * is -1. Inputs [N, D] with target [N], or [D] with a 0-d target.
 */
export function cosineEmbeddingLoss(input1: Tensor, input2: Tensor, target: Tensor, options: MarginOptions = {}): Tensor {
  const op = "cosineEmbeddingLoss";
  checkTensor(op, "input1", input1);
  checkTensor(op, "input2", input2);
  checkTensor(op, "target", target);
  checkReduction(op, options.reduction);
  const d = target.ndim;
  if (d !== 0 && d !== 1)
    throw new ShapeError(op, `0D or 1D target tensor expected, multi-target not supported (target ${sz(target.shape)})`);
  if (d === 1 && (input1.ndim !== 2 || input2.ndim !== 2)) {
    throw new ShapeError(
      op,
      `1D target tensor expects 2D input tensors, but found inputs with sizes ${sz(input1.shape)} and ${sz(input2.shape)}.`,
    );
  }
  if (d === 0 && (input1.ndim !== 1 || input2.ndim !== 1)) {
    throw new ShapeError(
      op,
      `0D target tensor expects 1D input tensors, but found inputs with sizes ${sz(input1.shape)} and ${sz(input2.shape)}.`,
    );
  }
  const EPS = 1e-12;
  const prodSum = sum(mul(input1, input2), d);
  const mag1 = add(sum(mul(input1, input1), d), EPS);
  const mag2 = add(sum(mul(input2, input2), d), EPS);
  const cos = div(prodSum, sqrt(mul(mag1, mag2)));
  const pos = sub(1, cos);
  const negPart = clamp(sub(cos, options.margin ?? 0), 0);
  const out = add(where(eq(target, 1), pos, 0), where(eq(target, -1), negPart, 0));
  return reduce(op, out, options.reduction);
}

/** F.margin_ranking_loss: max(0, -target (x1 - x2) + margin). */
export function marginRankingLoss(input1: Tensor, input2: Tensor, target: Tensor, options: MarginOptions = {}): Tensor {
  const op = "marginRankingLoss";
  checkTensor(op, "input1", input1);
  checkTensor(op, "input2", input2);
  checkTensor(op, "target", target);
  checkReduction(op, options.reduction);
  if (input1.ndim !== input2.ndim || input1.ndim !== target.ndim) {
    throw new ShapeError(
      op,
      `All input tensors should have same dimension but got sizes: input1: ${sz(input1.shape)}, input2: ${sz(input2.shape)}, target: ${sz(target.shape)}`,
    );
  }
  const out = clamp(add(mul(neg(target), sub(input1, input2)), options.margin ?? 0), 0);
  return reduce(op, out, options.reduction);
}

export interface TripletMarginLossOptions extends MarginOptions {
  /** The norm degree of the pairwise distance (default 2). */
  p?: number;
  /** Added to the differences before taking the norm (default 1e-6). */
  eps?: number;
  /** Use the distance between positive and negative when it is smaller (default false). */
  swap?: boolean;
}

/** pairwise_distance: ||x1 - x2 + eps||_p over the last dim. */
function pairwiseDist(x1: Tensor, x2: Tensor, p: number, eps: number): Tensor {
  const nd = Math.max(x1.ndim, x2.ndim);
  return norm(add(sub(x1, x2), eps), p, nd - 1);
}

/** F.triplet_margin_loss: max(0, margin + d(a, p) - d(a, n)) with d the p-norm pairwise distance. */
export function tripletMarginLoss(anchor: Tensor, positive: Tensor, negative: Tensor, options: TripletMarginLossOptions = {}): Tensor {
  const op = "tripletMarginLoss";
  checkTensor(op, "anchor", anchor);
  checkTensor(op, "positive", positive);
  checkTensor(op, "negative", negative);
  checkReduction(op, options.reduction);
  if (anchor.ndim !== positive.ndim || positive.ndim !== negative.ndim) {
    throw new ShapeError(
      op,
      `The anchor, positive, and negative tensors are expected to have the same number of dimensions, but got: anchor ${anchor.ndim}D, positive ${positive.ndim}D, and negative ${negative.ndim}D inputs`,
    );
  }
  if (anchor.ndim === 0) throw new ShapeError(op, "expected inputs with at least 1 dimension, got 0-d tensors");
  const p = options.p ?? 2;
  const eps = options.eps ?? 1e-6;
  const dPos = pairwiseDist(anchor, positive, p, eps);
  let dNeg = pairwiseDist(anchor, negative, p, eps);
  if (options.swap) dNeg = minimum(dNeg, pairwiseDist(positive, negative, p, eps));
  const out = clamp(sub(add(dPos, options.margin ?? 1), dNeg), 0);
  return reduce(op, out, options.reduction);
}

// ---------------------------------------------------------------------------------------------
// CTC

export interface CTCLossOptions extends ReductionOptions {
  /** The blank label (default 0). */
  blank?: number;
  /** Replace infinite losses (impossible alignments) and their gradients by zero (default false). */
  zeroInfinity?: boolean;
}

type Lengths = Tensor | readonly number[] | number;

function hostLengths(op: string, name: string, v: Lengths, n: number): number[] {
  let out: number[];
  if (typeof v === "number") out = [v];
  else if (v instanceof Tensor) {
    if (!isIndexDType(v)) throw new DTypeError(op, `${name} must be an integer tensor, got ${v.dtype}`);
    if (!v.backend.canReadSync) {
      throw new ArgumentError(
        op,
        `${name} must be read on the host, and the '${v.device}' backend cannot read synchronously; pass it as a number[]`,
      );
    }
    out = Array.from(v.dataSync() as ArrayLike<number>);
  } else out = [...v];
  if (out.length !== n) throw new ShapeError(op, `${name} must have length ${n} (the batch size), got ${out.length}`);
  for (const x of out) if (!Number.isInteger(x) || x < 0) throw new ArgumentError(op, `${name} must hold non-negative integers, got ${x}`);
  return out;
}

/**
 * F.ctc_loss: the connectionist temporal classification loss of log-probabilities [T, N, C]
 * (or [T, C] unbatched) against targets padded [N, S] or concatenated [sum(targetLengths)].
 * The forward-backward recursion runs in log space with tensor ops on the input's device; the
 * gradient is PyTorch's: exp(lp) - exp(log(sum_s alpha beta) + nll - lp), which assumes the
 * log-probabilities come from a log_softmax, as in PyTorch.
 * 'mean' divides each loss by its target length (at least 1) and averages over the batch.
 */
export function ctcLoss(
  logProbs: Tensor,
  targets: Tensor,
  inputLengths: Lengths,
  targetLengths: Lengths,
  options: CTCLossOptions = {},
): Tensor {
  const op = "ctcLoss";
  checkTensor(op, "logProbs", logProbs);
  checkTensor(op, "targets", targets);
  checkReduction(op, options.reduction);
  if (logProbs.ndim !== 2 && logProbs.ndim !== 3)
    throw new ShapeError(op, `log_probs must be [T, N, C] or [T, C] (unbatched), got ${sz(logProbs.shape)}`);
  if (!isFloating(logProbs.dtype)) throw new DTypeError(op, `log_probs must be floating point, got ${logProbs.dtype}`);
  if (!isIndexDType(targets)) throw new DTypeError(op, `targets must be an integer tensor, got ${targets.dtype}`);
  const unbatched = logProbs.ndim === 2;
  const lp = unbatched ? logProbs.unsqueeze(1) : logProbs;
  const [T, N, C] = lp.shape as [number, number, number];
  const blank = options.blank ?? 0;
  if (!Number.isInteger(blank) || blank < 0 || blank >= C)
    throw new ArgumentError(op, `blank must be in label range [0, ${C}), got ${blank}`);
  const inLens = hostLengths(
    op,
    "input_lengths",
    inputLengths instanceof Tensor && inputLengths.ndim === 0 ? inputLengths.view(1) : inputLengths,
    N,
  );
  const tgtLens = hostLengths(
    op,
    "target_lengths",
    targetLengths instanceof Tensor && targetLengths.ndim === 0 ? targetLengths.view(1) : targetLengths,
    N,
  );
  for (const l of inLens) if (l > T) throw new ArgumentError(op, `Expected input_lengths to have value at most ${T}, but got value ${l}`);
  const L = Math.max(0, ...tgtLens);
  const device = lp.device;

  // Padded targets [N, L] (blank beyond each length).
  let padded: Tensor;
  const concatenated = !unbatched && targets.ndim === 1;
  if (unbatched ? targets.ndim !== 1 : targets.ndim !== 1 && targets.ndim !== 2) {
    throw new ShapeError(
      op,
      `targets must be ${unbatched ? "[S] for unbatched log_probs" : "[N, S] (padded) or [sum(target_lengths)] (concatenated)"}, got ${sz(targets.shape)}`,
    );
  }
  const t2 = unbatched ? targets.unsqueeze(0) : targets;
  if (concatenated) {
    const total = tgtLens.reduce((a, b) => a + b, 0);
    if (targets.shape[0] !== total)
      throw new ShapeError(op, `concatenated targets must hold sum(target_lengths) = ${total} labels, got ${targets.shape[0]}`);
  } else {
    if (t2.shape[0] !== N) throw new ShapeError(op, `targets has batch size ${t2.shape[0]}, but log_probs has ${N}`);
    if ((t2.shape[1] as number) < L) {
      throw new ShapeError(
        op,
        `Expected tensor to have size at least ${L} at dimension 1, but got size ${t2.shape[1]} for argument #2 'targets'`,
      );
    }
  }
  const inLabel = new Uint8Array(N * L);
  for (let n = 0; n < N; n++) inLabel.fill(1, n * L, n * L + (tgtLens[n] as number));
  const labelMask = fromHost(inLabel, [N, L], { dtype: "bool", device });
  if (L === 0) padded = full([N, 0], blank, { dtype: "int64", device });
  else if (concatenated) {
    const idx = new Float64Array(N * L);
    let off = 0;
    tgtLens.forEach((len, n) => {
      for (let i = 0; i < L; i++) idx[n * L + i] = len > 0 ? off + Math.min(i, len - 1) : 0;
      off += len;
    });
    const src = targets.numel() > 0 ? targets.to("int64") : full([1], blank, { dtype: "int64", device });
    padded = gather(src, 0, fromHost(idx, [N * L], { dtype: "int64", device })).view(N, L);
  } else padded = t2.to("int64").slice(1, 0, L);
  padded = where(labelMask, padded, blank);
  if (L > 0) {
    const values = hostIfSync(where(labelMask, padded, 0));
    if (values)
      for (let i = 0; i < values.length; i++)
        if ((values[i] as number) < 0 || (values[i] as number) >= C) {
          throw new IndexError(op, `target label ${values[i]} is out of range [0, ${C})`);
        }
  }

  // Extended labels l' = blank, l1, blank, l2, ..., blank: [N, S].
  const S = 2 * L + 1;
  const blankCol = full([N, 1], blank, { dtype: "int64", device });
  const ext = L === 0 ? blankCol : cat([stack([full([N, L], blank, { dtype: "int64", device }), padded], 2).view(N, 2 * L), blankCol], 1);
  // Host masks over s: where alpha starts, where it ends, odd positions that may skip a blank.
  const init = new Uint8Array(N * S);
  const fin = new Uint8Array(N * S);
  const odd = new Uint8Array(N * S);
  for (let n = 0; n < N; n++) {
    const len = tgtLens[n] as number;
    init[n * S] = 1;
    if (len > 0) init[n * S + 1] = 1;
    fin[n * S + 2 * len] = 1;
    if (len > 0) fin[n * S + 2 * len - 1] = 1;
    for (let s = 3; s < S; s += 2) odd[n * S + s] = 1;
  }
  const boolT = (a: Uint8Array, shape: number[]) => fromHost(a, shape, { dtype: "bool", device });
  const initMask = boolT(init, [N, S]);
  const finalMask = boolT(fin, [N, S]);
  const ninf = Number.NEGATIVE_INFINITY;
  // s may come from s - 2 when l'(s) is a label different from l'(s - 2).
  const skip =
    S > 2
      ? logicalAnd(boolT(odd, [N, S]), ne(ext, cat([full([N, 2], blank, { dtype: "int64", device }), ext.slice(1, 0, S - 2)], 1)))
      : boolT(odd, [N, S]);
  const extT = ext.unsqueeze(0).expand(T, N, S).contiguous();

  const shiftRight = (a: Tensor, k: number): Tensor =>
    S > k ? cat([full([N, k], ninf, { dtype: a.dtype, device }), a.slice(1, 0, S - k)], 1) : full([N, S], ninf, { dtype: a.dtype, device });
  const shiftLeft = (a: Tensor, k: number): Tensor =>
    S > k ? cat([a.slice(1, k, S), full([N, k], ninf, { dtype: a.dtype, device })], 1) : full([N, S], ninf, { dtype: a.dtype, device });
  const lse3 = (a: Tensor, b: Tensor, c: Tensor): Tensor => logsumexp(stack([a, b, c], 2), 2);
  const zeroInf = options.zeroInfinity ?? false;
  const lastStep = fromHost(
    inLens.map((l) => Math.max(l - 1, 0)),
    [1, N, 1],
    { dtype: "int64", device },
  ).expand(1, N, S);
  const emptyInput = boolT(
    Uint8Array.from(inLens, (l) => (l === 0 ? 1 : 0)),
    [N],
  );
  const emptyInputLoss = fromHost(
    tgtLens.map((l) => (l === 0 ? 0 : Number.POSITIVE_INFINITY)),
    [N],
    { dtype: lp.dtype, device },
  );

  const ctc = defineFunction("CtcLoss", {
    forward(ctx, x: Tensor) {
      const em = gather(x, 2, extT); // [T, N, S]: lp[t, n, l'(s)]
      const alphas: Tensor[] = [where(initMask, em.select(0, 0), ninf)];
      for (let t = 1; t < T; t++) {
        const a = alphas[t - 1] as Tensor;
        alphas.push(add(lse3(a, shiftRight(a, 1), where(skip, shiftRight(a, 2), ninf)), em.select(0, t)));
      }
      const alpha = T > 0 ? stack(alphas, 0) : full([0, N, S], ninf, { dtype: x.dtype, device });
      const last = T > 0 ? gather(alpha, 0, lastStep).squeeze(0) : full([N, S], ninf, { dtype: x.dtype, device });
      let nll = neg(logsumexp(where(finalMask, last, ninf), 1));
      nll = where(emptyInput, emptyInputLoss, nll);
      if (zeroInf) nll = where(isinf(nll), 0, nll);
      ctx.saveForBackward(x, em, alpha, nll);
      return nll;
    },
    backward(ctx, g) {
      const [x, em, alpha] = ctx.savedTensors as [Tensor, Tensor, Tensor, Tensor];
      // The raw nll (before zeroInfinity), recomputed from alpha, decides which samples are zeroed.
      const last = T > 0 ? gather(alpha, 0, lastStep).squeeze(0) : full([N, S], ninf, { dtype: x.dtype, device });
      const nll = where(emptyInput, emptyInputLoss, neg(logsumexp(where(finalMask, last, ninf), 1)));
      const skipFrom = shiftLeftBool(skip, 2);
      const betas: Tensor[] = new Array(T);
      let next = full([N, S], ninf, { dtype: x.dtype, device });
      for (let t = T - 1; t >= 0; t--) {
        const e = em.select(0, t);
        const rec = add(lse3(next, shiftLeft(next, 1), where(skipFrom, shiftLeft(next, 2), ninf)), e);
        const isLast = boolT(
          Uint8Array.from(inLens, (l) => (t === l - 1 ? 1 : 0)),
          [N, 1],
        );
        const before = boolT(
          Uint8Array.from(inLens, (l) => (t < l - 1 ? 1 : 0)),
          [N, 1],
        );
        next = where(isLast, where(finalMask, e, ninf), where(before, rec, ninf));
        betas[t] = next;
      }
      const ab = add(alpha, stack(betas, 0)); // [T, N, S]
      let m = amax(ab, 2, { keepdim: true });
      m = where(isinf(m), 0, m);
      const lcab = add(log(scatterAdd(zeros([T, N, C], { dtype: x.dtype, device }), 2, extT, exp(sub(ab, m)))), m);
      let grad = sub(exp(x), exp(sub(add(lcab, nll.view(1, N, 1)), x)));
      const valid = boolT(
        Uint8Array.from({ length: T * N }, (_, i) => (Math.floor(i / N) < (inLens[i % N] as number) ? 1 : 0)),
        [T, N, 1],
      );
      grad = where(valid, grad, 0);
      if (zeroInf) grad = where(isinf(nll).view(1, N, 1), 0, grad);
      return mul(grad, g.view(1, N, 1));
    },
  });

  const nll = ctc(lp);
  const reduction = options.reduction ?? "mean";
  if (reduction === "none") return unbatched ? nll.view([]) : nll;
  if (reduction === "sum") return sum(nll);
  const denom = fromHost(
    tgtLens.map((l) => Math.max(l, 1)),
    [N],
    { dtype: lp.dtype, device },
  );
  return mean(div(nll, denom));
}

function shiftLeftBool(a: Tensor, k: number): Tensor {
  const [n, s] = a.shape as [number, number];
  return s > k
    ? cat([a.slice(1, k, s), full([n, k], false, { dtype: "bool", device: a.device })], 1)
    : full([n, s], false, { dtype: "bool", device: a.device });
}
