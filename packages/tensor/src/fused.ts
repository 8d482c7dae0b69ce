import type { StridedRef } from "./backend.js";
import type { Tensor } from "./tensor.js";

/**
 * Optional fused kernels a backend may provide for speed. Every op that uses one also has a
 * generic implementation built from the Backend primitives (in the package that owns the op), and
 * both must agree within float32 tolerance; a backend implements any subset. Fused kernels follow
 * the primitives' rules: inputs are strided views, results are fresh contiguous storage, nothing
 * is mutated except where a kernel says so. They carry no autograd: the op that calls one records
 * its own backward.
 *
 * Sections are owned by the op families that use them (normalization/softmax, convolution/pooling,
 * optimizer updates); add members, never change what an existing member computes.
 */
export interface FusedKernels {
  // ---- softmax / normalization ----
  /**
   * softmax (or, with `log`, logSoftmax) of x along `dim`, computed in x's dtype (halves in
   * float32, rounded once): exp(x - max) / sum(exp(x - max)), or x - max - log(sum(exp(x - max))).
   */
  softmax?: (x: StridedRef, dim: number, log: boolean) => unknown;
  /**
   * The input gradient of softmax along `dim` from its output y and the output gradient g (both of
   * y's shape): y * (g - sum(g * y)); with `log` (y = logSoftmax(x)): g - exp(y) * sum(g).
   */
  softmaxBackward?: (y: StridedRef, g: StridedRef, dim: number, log: boolean) => unknown;
  /**
   * Layer norm over the trailing dims of x holding `size` elements (x is [rows, size] in row-major
   * order): y = (x - mean) * rstd * weight + bias with rstd = 1 / sqrt(biased var + eps); weight
   * and bias (optional) hold `size` elements. mean and rstd have `rows` elements, in float32
   * (float64 for float64 x).
   */
  layerNorm?: (x: StridedRef, size: number, weight: StridedRef | null, bias: StridedRef | null, eps: number) => LayerNormResult;
  /**
   * Gradients of layerNorm from the output gradient g (x's shape), x, and the forward's mean and
   * rstd: gx = rstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)) per row, with
   * xhat = (x - mean) * rstd and gxhat = g * weight; gw = sum over rows of g * xhat, gb = sum of g.
   * gw and gb are computed only when `weightGrad` is true (else null).
   */
  layerNormBackward?: (
    g: StridedRef,
    x: StridedRef,
    mean: StridedRef,
    rstd: StridedRef,
    weight: StridedRef | null,
    size: number,
    weightGrad: boolean,
  ) => LayerNormGrads;
  // ---- attention ----
  /**
   * Scaled dot-product attention over q [...batch, L, E], k [...batch, S, E], v [...batch, S, Ev]
   * (equal batch dims, any strides, float32 or float64) and an optional mask [...batch, L, S]
   * (any strides, stride 0 where broadcast): bool (true = may attend) or of q's dtype (added).
   * Per row: s = scale * q.k (plus the float mask; -inf where the bool mask is false or, with
   * `isCausal`, where column > row), p = exp(s - max) / sum, out = p.v. A row with no attendable
   * column gives NaN (as softmax over -inf). Returns out [...batch, L, Ev] and the row's
   * logsumexp lse [...batch, L] (both contiguous, q's dtype), and never holds all the scores at once.
   */
  attention?: (q: StridedRef, k: StridedRef, v: StridedRef, mask: StridedRef | null, options: AttentionOptions) => AttentionResult;
  /**
   * attention's input gradients from the output gradient g (out's shape), recomputing p from
   * q, k, mask and the forward's out and lse: gv = p^T g, gp = g v^T,
   * gs = p * (gp - rowsum(g * out)), gq = scale * gs k, gk = scale * gs^T q (contiguous, shapes
   * of q, k, v).
   */
  attentionBackward?: (
    g: StridedRef,
    q: StridedRef,
    k: StridedRef,
    v: StridedRef,
    mask: StridedRef | null,
    out: StridedRef,
    lse: StridedRef,
    options: AttentionOptions,
  ) => AttentionGrads;
  // ---- recurrent cells ----
  /**
   * One LSTM step's gate math (torch's fused LSTM cell) for gx, gh [B, 4H] (gate blocks i, f, g, o;
   * any strides), bias [4H] or null, and c [B, H]: gates = gx + gh (+ bias), i, f, o = sigmoid,
   * g = tanh of their blocks, c' = f c + i g, h' = o tanh(c'), each op rounded to the dtype as the
   * composed ops are (float32 or float64). Returns hc [2B, H], the rows of h' then those of c', and
   * with `workspace` the backward's [B, 5H]: i, f, g, o, tanh(c') (else null).
   */
  lstmCell?: (gx: StridedRef, gh: StridedRef, bias: StridedRef | null, c: StridedRef, workspace: boolean) => LstmCellResult;
  /**
   * lstmCell's gradients from those of h' and c' ([B, H] each), c and the workspace: the gates'
   * pre-activation gradient [B, 4H] (gx's and gh's, the bias's summed over rows) and c's [B, H].
   */
  lstmCellBackward?: (gradH: StridedRef, gradC: StridedRef, c: StridedRef, workspace: StridedRef) => LstmCellGrads;
  /**
   * One GRU step's gate math (torch's fused GRU cell) for gx, gh [B, 3H] (gate blocks r, z, n), bias
   * [3H] or null (added to gh), and h [B, H]: r = sigmoid(gx_r + gh_r), z = sigmoid(gx_z + gh_z),
   * n = tanh(gx_n + r gh_n), h' = n + z (h - n), rounded as the composed ops. Returns h' [B, H] and
   * with `workspace` the backward's [B, 4H]: r, z, n, gh_n (with the bias).
   */
  gruCell?: (gx: StridedRef, gh: StridedRef, bias: StridedRef | null, h: StridedRef, workspace: boolean) => GruCellResult;
  /** gruCell's gradients from h''s gradient [B, H], h and the workspace: gx's and gh's [B, 3H], h's [B, H]. */
  gruCellBackward?: (gradH: StridedRef, h: StridedRef, workspace: StridedRef) => GruCellGrads;
  // ---- convolution / pooling ----
  /**
   * im2col: the sliding windows of x [N, C, H, W] (any strides), zero outside the input, as a
   * contiguous tensor whose dims are the logical [N, C, kh, kw, ho, wo] permuted by `order`
   * (element (n, c, i, j, oh, ow) reads row oh*sh - pt + i*dh, column ow*sw - pl + j*dw).
   */
  im2col?: (x: StridedRef, g: WindowGeometry, order: readonly number[]) => unknown;
  /** col2im, im2col's adjoint: windows [N, C, kh, kw, ho, wo] (any strides) summed into a contiguous [N, C, H, W]. */
  col2im?: (cols: StridedRef, g: WindowGeometry) => unknown;
  /**
   * conv2d forward without groups: x [N, C, H, W] and weight [O, C, kh, kw] (any strides), bias [O]
   * or null, zero padding, into a contiguous [N, O, ho, wo]. May return undefined for a case it
   * does not cover (a dtype, say): the caller then takes the generic im2col + matmul path.
   */
  conv2d?: (x: StridedRef, weight: StridedRef, bias: StridedRef | null, g: WindowGeometry) => unknown;
  /**
   * conv2d's weight gradient without groups: from gy [N, O, ho, wo] and x [N, C, H, W] (any
   * strides), the contiguous [O, C, kh, kw] sum over images and output pixels of gy times the input
   * windows. May return undefined for a case it does not cover (then the generic path).
   */
  conv2dWeightGrad?: (gy: StridedRef, x: StridedRef, g: WindowGeometry) => unknown;
  /**
   * conv2d's input gradient without groups: from gy [N, O, ho, wo] and weight [O, C, kh, kw] (any
   * strides), the contiguous [N, C, H, W] sum of every window tap's gy * weight into its input
   * pixel (taps in the padding dropped). May return undefined for a case it does not cover.
   */
  conv2dInputGrad?: (gy: StridedRef, weight: StridedRef, g: WindowGeometry) => unknown;
  /**
   * Max pooling of x [N, C, H, W] over the windows of g: values [N, C, ho, wo] and the int64 flat
   * index (h * W + w) of each window's first maximum in row-major window order, NaN winning (the
   * first NaN); a window holding nothing above -inf gives -inf and its first position in the input.
   */
  maxPool2d?: (x: StridedRef, g: WindowGeometry) => { values: unknown; indices: unknown };
  /** Max pooling's input gradient: each [N, C, ho, wo] grad summed into [N, C, H, W] at its flat index. */
  maxPool2dBackward?: (grad: StridedRef, indices: StridedRef, g: WindowGeometry) => unknown;
  /**
   * Average pooling of x [N, C, H, W] (zero padding, no dilation) into [N, C, ho, wo]: each window's
   * sum over the input divided by `divisor`, or when it is 0 by PyTorch's window size (clipped to the
   * padded input with countIncludePad, else to the input; an empty window divides by 1).
   */
  avgPool2d?: (x: StridedRef, g: WindowGeometry, countIncludePad: boolean, divisor: number) => unknown;
  /** Average pooling's input gradient: each [N, C, ho, wo] grad, divided as in avgPool2d, spread over its window. */
  avgPool2dBackward?: (grad: StridedRef, g: WindowGeometry, countIncludePad: boolean, divisor: number) => unknown;
  // ---- optimizer updates ----
  /**
   * One Adam/AdamW step of PyTorch's _single_tensor_adam(w), IN PLACE: updates the storages behind
   * param, expAvg, expAvgSq (and maxExpAvgSq with amsgrad). Every view is contiguous, of one shape
   * and one floating dtype; grad is read only. The caller bumps the storages' versions.
   */
  adamStep?: (
    param: StridedRef,
    grad: StridedRef,
    expAvg: StridedRef,
    expAvgSq: StridedRef,
    maxExpAvgSq: StridedRef | null,
    options: AdamStepOptions,
  ) => void;
  /**
   * One SGD step of PyTorch's _single_tensor_sgd, IN PLACE on param and momentumBuffer (null when
   * momentum is 0); with `firstStep` the buffer is set to the gradient instead of blended. Views
   * as adamStep's.
   */
  sgdStep?: (param: StridedRef, grad: StridedRef, momentumBuffer: StridedRef | null, options: SgdStepOptions) => void;
}

/** attention's scaling and causal flag. */
export interface AttentionOptions {
  scale: number;
  isCausal: boolean;
}

/** attention's results: fresh contiguous storages. */
export interface AttentionResult {
  out: unknown;
  lse: unknown;
}

/** attentionBackward's results: fresh contiguous storages. */
export interface AttentionGrads {
  gq: unknown;
  gk: unknown;
  gv: unknown;
}

/** lstmCell's results: fresh contiguous storages (workspace null unless asked for). */
export interface LstmCellResult {
  hc: unknown;
  workspace: unknown | null;
}

/** lstmCellBackward's results: fresh contiguous storages. */
export interface LstmCellGrads {
  gates: unknown;
  c: unknown;
}

/** gruCell's results: fresh contiguous storages (workspace null unless asked for). */
export interface GruCellResult {
  h: unknown;
  workspace: unknown | null;
}

/** gruCellBackward's results: fresh contiguous storages. */
export interface GruCellGrads {
  gx: unknown;
  gh: unknown;
  h: unknown;
}

/** layerNorm's results: fresh contiguous storages. */
export interface LayerNormResult {
  y: unknown;
  mean: unknown;
  rstd: unknown;
}

/** layerNormBackward's results (gw, gb null unless asked for). */
export interface LayerNormGrads {
  gx: unknown;
  gw: unknown | null;
  gb: unknown | null;
}

export interface AdamStepOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: p *= 1 - lr * weightDecay first, instead of adding weightDecay * p to the gradient. */
  decoupled: boolean;
  /** The step number after this update (1 on the first), for the bias corrections. */
  step: number;
  amsgrad: boolean;
  maximize: boolean;
}

export interface SgdStepOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
  firstStep: boolean;
}

/**
 * The windows of a 2-D convolution or pooling over [N, C, H, W]: kernel kh x kw, stride sh/sw,
 * dilation dh/dw, top/left padding pt/pl, output ho x wo.
 */
export interface WindowGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
  ho: number;
  wo: number;
}

/** The fused kernel `name` of the backend holding `t`, or undefined (then use the generic path). */
export function fusedKernel<K extends keyof FusedKernels>(t: Tensor, name: K): FusedKernels[K] | undefined {
  return t.backend.fused?.[name];
}
