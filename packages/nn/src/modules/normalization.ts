import { noGrad } from "@dl/autograd";
import { ArgumentError, type DType, ShapeError, type Tensor, add_, assertTensor, ones, zeros } from "@dl/tensor";
import * as F from "../functional/normalization.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import { pyBool, pyFloat, pyOptFloat, pyTuple } from "./format.js";

interface FactoryOptions {
  dtype?: DType;
  device?: string;
}

// ---- batch norm and instance norm ----

export interface BatchNormOptions extends FactoryOptions {
  eps?: number;
  /** Weight of each new batch in the running statistics; null: cumulative average (default 0.1). */
  momentum?: number | null;
  /** Learnable per-channel weight (ones) and bias (zeros). */
  affine?: boolean;
  /** Keep running_mean / running_var / num_batches_tracked buffers (used in eval mode). */
  trackRunningStats?: boolean;
}

/**
 * PyTorch's _NormBase: parameters "weight", "bias" (when affine) and buffers "running_mean",
 * "running_var", "num_batches_tracked" (int64) when tracking running statistics. The buffers keep
 * PyTorch's snake_case names (they are state-dict keys); camelCase getters are provided.
 */
abstract class NormBase extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null = null;
  bias: Parameter | null = null;
  running_mean: Tensor | null = null;
  running_var: Tensor | null = null;
  num_batches_tracked: Tensor | null = null;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions,
    defaults: { affine: boolean; trackRunningStats: boolean },
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures <= 0)
      throw new ArgumentError(new.target.name, `num_features must be a positive integer, got ${numFeatures}`);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? defaults.affine;
    this.trackRunningStats = options.trackRunningStats ?? defaults.trackRunningStats;
    const o = { dtype: options.dtype, device: options.device };
    this.registerParameter("weight", this.affine ? new Parameter(ones([numFeatures], o)) : null);
    this.registerParameter("bias", this.affine ? new Parameter(zeros([numFeatures], o)) : null);
    const track = this.trackRunningStats;
    this.registerBuffer("running_mean", track ? zeros([numFeatures], o) : null);
    this.registerBuffer("running_var", track ? ones([numFeatures], o) : null);
    this.registerBuffer("num_batches_tracked", track ? zeros([], { dtype: "int64", device: options.device }) : null);
  }

  get runningMean(): Tensor | null {
    return this.running_mean;
  }
  get runningVar(): Tensor | null {
    return this.running_var;
  }
  get numBatchesTracked(): Tensor | null {
    return this.num_batches_tracked;
  }

  /** running_mean = 0, running_var = 1, num_batches_tracked = 0. */
  resetRunningStats(): void {
    noGrad(() => {
      this.running_mean?.zero_();
      this.running_var?.fill_(1);
      this.num_batches_tracked?.zero_();
    });
  }

  /** Resets the running statistics, and weight = 1, bias = 0. */
  resetParameters(): void {
    this.resetRunningStats();
    noGrad(() => {
      this.weight?.fill_(1);
      this.bias?.zero_();
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyOptFloat(this.momentum)}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

function dimError(module: string, allowed: readonly number[], x: Tensor): ShapeError {
  return new ShapeError(
    module,
    `expected ${allowed.map((d) => `${d}D`).join(" or ")} input (got ${x.ndim}D input of shape [${x.shape.join(",")}])`,
  );
}

/**
 * Batch normalization (torch.nn.BatchNorm1d/2d/3d): normalizes each channel (dim 1) with the
 * batch's statistics in training, updating the running ones (unbiased variance), and with the
 * running statistics in eval.
 */
abstract class BatchNorm extends NormBase {
  protected abstract readonly allowedDims: readonly number[];

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, { affine: true, trackRunningStats: true });
  }

  forward(input: Tensor): Tensor {
    assertTensor(this.constructor.name, input, "input");
    if (!this.allowedDims.includes(input.ndim)) throw dimError(this.constructor.name, this.allowedDims, input);
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      const counter = this.num_batches_tracked;
      noGrad(() => add_(counter, 1));
      // momentum null: cumulative moving average, weight 1/n for the n-th batch.
      if (this.momentum === null) factor = 1 / Number(counter.item());
    }
    const useBatchStats = this.training || (this.running_mean === null && this.running_var === null);
    const useBuffers = !this.training || this.trackRunningStats;
    return F.batchNorm(input, useBuffers ? this.running_mean : null, useBuffers ? this.running_var : null, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
    });
  }
}

/** Batch norm over (N, C) or (N, C, L) inputs (torch.nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNorm {
  protected readonly allowedDims = [2, 3];
}

/** Batch norm over (N, C, H, W) inputs (torch.nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNorm {
  protected readonly allowedDims = [4];
}

/** Batch norm over (N, C, D, H, W) inputs (torch.nn.BatchNorm3d). */
export class BatchNorm3d extends BatchNorm {
  protected readonly allowedDims = [5];
}

/**
 * Instance normalization (torch.nn.InstanceNorm1d/2d/3d): each (sample, channel) slice normalized by
 * its own statistics. Defaults as PyTorch: affine false, trackRunningStats false. Unbatched inputs
 * (one dim fewer) are accepted.
 */
abstract class InstanceNorm extends NormBase {
  /** Dims of an unbatched input: (C, L) is 2 for InstanceNorm1d. */
  protected abstract readonly noBatchDim: number;

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, { affine: false, trackRunningStats: false });
  }

  forward(input: Tensor): Tensor {
    assertTensor(this.constructor.name, input, "input");
    const nb = this.noBatchDim;
    if (input.ndim !== nb && input.ndim !== nb + 1) throw dimError(this.constructor.name, [nb, nb + 1], input);
    const featureDim = input.ndim - nb;
    if (this.affine && input.shape[featureDim] !== this.numFeatures) {
      throw new ShapeError(
        this.constructor.name,
        `expected input's size at dim=${featureDim} to match num_features (${this.numFeatures}), but got: ${input.shape[featureDim]} (input shape [${input.shape.join(",")}])`,
      );
    }
    const batched = input.ndim === nb + 1;
    const x = batched ? input : input.unsqueeze(0);
    const y = F.instanceNorm(x, {
      runningMean: this.running_mean,
      runningVar: this.running_var,
      weight: this.weight,
      bias: this.bias,
      useInputStats: this.training || !this.trackRunningStats,
      momentum: this.momentum ?? 0.1,
      eps: this.eps,
    });
    return batched ? y : y.squeeze(0);
  }
}

/** Instance norm over (N, C, L) or (C, L) inputs (torch.nn.InstanceNorm1d). */
export class InstanceNorm1d extends InstanceNorm {
  protected readonly noBatchDim = 2;
}

/** Instance norm over (N, C, H, W) or (C, H, W) inputs (torch.nn.InstanceNorm2d). */
export class InstanceNorm2d extends InstanceNorm {
  protected readonly noBatchDim = 3;
}

/** Instance norm over (N, C, D, H, W) or (C, D, H, W) inputs (torch.nn.InstanceNorm3d). */
export class InstanceNorm3d extends InstanceNorm {
  protected readonly noBatchDim = 4;
}

// ---- layer norm, rms norm, group norm ----

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  /** Learnable weight (ones) and bias (zeros) of normalizedShape (default true). */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, whether to learn a bias too (default true; PyTorch 2.1's option). */
  bias?: boolean;
}

const shapeArg = (s: number | readonly number[]): number[] => (typeof s === "number" ? [s] : [...s]);

/** Normalizes over the trailing normalizedShape dims (torch.nn.LayerNorm). */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = shapeArg(normalizedShape);
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    const o = { dtype: options.dtype, device: options.device };
    this.weight = this.elementwiseAffine ? new Parameter(ones(this.normalizedShape, o)) : null;
    this.bias = this.elementwiseAffine && options.bias !== false ? new Parameter(zeros(this.normalizedShape, o)) : null;
  }

  resetParameters(): void {
    noGrad(() => {
      this.weight?.fill_(1);
      this.bias?.zero_();
    });
  }

  forward(input: Tensor): Tensor {
    return F.layerNorm(input, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

export interface RMSNormOptions extends FactoryOptions {
  /** Default null: the machine epsilon of the compute dtype (PyTorch 2.4's default). */
  eps?: number | null;
  elementwiseAffine?: boolean;
}

/** x / sqrt(mean(x^2) + eps) * weight over the trailing dims (torch.nn.RMSNorm, PyTorch 2.4). */
export class RMSNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;

  constructor(normalizedShape: number | readonly number[], options: RMSNormOptions = {}) {
    super();
    this.normalizedShape = shapeArg(normalizedShape);
    this.eps = options.eps ?? null;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine
      ? new Parameter(ones(this.normalizedShape, { dtype: options.dtype, device: options.device }))
      : null;
  }

  resetParameters(): void {
    noGrad(() => this.weight?.fill_(1));
  }

  forward(input: Tensor): Tensor {
    return F.rmsNorm(input, this.normalizedShape, { weight: this.weight, eps: this.eps });
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyOptFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

export interface GroupNormOptions extends FactoryOptions {
  eps?: number;
  /** Learnable per-channel weight (ones) and bias (zeros) (default true). */
  affine?: boolean;
}

/** Normalizes groups of numChannels / numGroups channels (torch.nn.GroupNorm). */
export class GroupNorm extends Module {
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    options: GroupNormOptions = {},
  ) {
    super();
    if (!Number.isInteger(numGroups) || numGroups <= 0 || numChannels % numGroups !== 0) {
      throw new ArgumentError(
        "GroupNorm",
        `num_channels must be divisible by num_groups (got num_channels=${numChannels}, num_groups=${numGroups})`,
      );
    }
    this.eps = options.eps ?? 1e-5;
    this.affine = options.affine ?? true;
    const o = { dtype: options.dtype, device: options.device };
    this.weight = this.affine ? new Parameter(ones([numChannels], o)) : null;
    this.bias = this.affine ? new Parameter(zeros([numChannels], o)) : null;
  }

  resetParameters(): void {
    noGrad(() => {
      this.weight?.fill_(1);
      this.bias?.zero_();
    });
  }

  forward(input: Tensor): Tensor {
    assertTensor("GroupNorm", input, "input");
    if (input.ndim >= 2 && input.shape[1] !== this.numChannels) {
      throw new ShapeError("GroupNorm", `expected input with ${this.numChannels} channels (dim 1), got shape [${input.shape.join(",")}]`);
    }
    return F.groupNorm(input, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}

/** Normalization across neighbouring channels (torch.nn.LocalResponseNorm). */
export class LocalResponseNorm extends Module {
  constructor(
    readonly size: number,
    readonly alpha = 1e-4,
    readonly beta = 0.75,
    readonly k = 1,
  ) {
    super();
  }

  forward(input: Tensor): Tensor {
    return F.localResponseNorm(input, this.size, { alpha: this.alpha, beta: this.beta, k: this.k });
  }

  override extraRepr(): string {
    return `${this.size}, alpha=${pyFloat(this.alpha)}, beta=${pyFloat(this.beta)}, k=${pyFloat(this.k)}`;
  }
}
