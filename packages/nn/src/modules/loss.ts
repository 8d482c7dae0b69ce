import type { Tensor } from "@dl/tensor";
import {
  type BCELossOptions,
  type BCEWithLogitsLossOptions,
  type CTCLossOptions,
  type CrossEntropyLossOptions,
  type HuberLossOptions,
  type KLDivLossOptions,
  type MarginOptions,
  type NLLLossOptions,
  type Reduction,
  type ReductionOptions,
  type SmoothL1LossOptions,
  type TripletMarginLossOptions,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  cosineEmbeddingLoss,
  crossEntropy,
  ctcLoss,
  huberLoss,
  klDiv,
  l1Loss,
  marginRankingLoss,
  mseLoss,
  nllLoss,
  smoothL1Loss,
  tripletMarginLoss,
} from "../functional/loss.js";
import { Module } from "../module.js";

/**
 * Loss modules (torch.nn.*Loss): each holds its options and calls the functional loss in forward.
 * Class weights are buffers, saved in the state dict under PyTorch's keys ("weight", "pos_weight")
 * and moved by module.to().
 */
abstract class Loss extends Module {
  readonly reduction: Reduction;
  constructor(reduction: Reduction | undefined) {
    super();
    this.reduction = reduction ?? "mean";
  }
}

/** Registers an optional class-weight buffer (PyTorch's _WeightedLoss). */
function weightBuffer(m: Module, name: string, t: Tensor | null | undefined): void {
  m.registerBuffer(name, t ?? null);
}

/** torch.nn.MSELoss. */
export class MSELoss extends Loss {
  constructor(options: ReductionOptions = {}) {
    super(options.reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}

/** torch.nn.L1Loss. */
export class L1Loss extends Loss {
  constructor(options: ReductionOptions = {}) {
    super(options.reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, { reduction: this.reduction });
  }
}

/** torch.nn.SmoothL1Loss({ beta = 1 }). */
export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(options: SmoothL1LossOptions = {}) {
    super(options.reduction);
    this.beta = options.beta ?? 1;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/** torch.nn.HuberLoss({ delta = 1 }). */
export class HuberLoss extends Loss {
  readonly delta: number;
  constructor(options: HuberLossOptions = {}) {
    super(options.reduction);
    this.delta = options.delta ?? 1;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

/** torch.nn.NLLLoss({ weight, ignoreIndex = -100 }); weight is a buffer. */
export class NLLLoss extends Loss {
  declare weight: Tensor | null;
  readonly ignoreIndex: number;
  constructor(options: NLLLossOptions = {}) {
    super(options.reduction);
    weightBuffer(this, "weight", options.weight);
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

/** torch.nn.CrossEntropyLoss({ weight, ignoreIndex = -100, labelSmoothing = 0 }); weight is a buffer. */
export class CrossEntropyLoss extends Loss {
  declare weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(options: CrossEntropyLossOptions = {}) {
    super(options.reduction);
    weightBuffer(this, "weight", options.weight);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

/** torch.nn.BCELoss({ weight }); weight is a buffer. */
export class BCELoss extends Loss {
  declare weight: Tensor | null;
  constructor(options: BCELossOptions = {}) {
    super(options.reduction);
    weightBuffer(this, "weight", options.weight);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

/** torch.nn.BCEWithLogitsLoss({ weight, posWeight }); buffers "weight" and "pos_weight" as in PyTorch. */
export class BCEWithLogitsLoss extends Loss {
  declare weight: Tensor | null;
  declare pos_weight: Tensor | null;
  constructor(options: BCEWithLogitsLossOptions = {}) {
    super(options.reduction);
    weightBuffer(this, "weight", options.weight);
    weightBuffer(this, "pos_weight", options.posWeight);
  }
  /** The pos_weight buffer. */
  get posWeight(): Tensor | null {
    return this.pos_weight;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, { weight: this.weight, posWeight: this.pos_weight, reduction: this.reduction });
  }
}

/** torch.nn.KLDivLoss({ reduction = 'mean' | 'batchmean' | 'sum' | 'none', logTarget = false }). */
export class KLDivLoss extends Module {
  readonly reduction: Reduction | "batchmean";
  readonly logTarget: boolean;
  constructor(options: KLDivLossOptions = {}) {
    super();
    this.reduction = options.reduction ?? "mean";
    this.logTarget = options.logTarget ?? false;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
}

/** torch.nn.CosineEmbeddingLoss({ margin = 0 }). */
export class CosineEmbeddingLoss extends Loss {
  readonly margin: number;
  constructor(options: MarginOptions = {}) {
    super(options.reduction);
    this.margin = options.margin ?? 0;
  }
  forward(input1: Tensor, input2: Tensor, target: Tensor): Tensor {
    return cosineEmbeddingLoss(input1, input2, target, { margin: this.margin, reduction: this.reduction });
  }
}

/** torch.nn.MarginRankingLoss({ margin = 0 }). */
export class MarginRankingLoss extends Loss {
  readonly margin: number;
  constructor(options: MarginOptions = {}) {
    super(options.reduction);
    this.margin = options.margin ?? 0;
  }
  forward(input1: Tensor, input2: Tensor, target: Tensor): Tensor {
    return marginRankingLoss(input1, input2, target, { margin: this.margin, reduction: this.reduction });
  }
}

/** torch.nn.TripletMarginLoss({ margin = 1, p = 2, eps = 1e-6, swap = false }). */
export class TripletMarginLoss extends Loss {
  readonly margin: number;
  readonly p: number;
  readonly eps: number;
  readonly swap: boolean;
  constructor(options: TripletMarginLossOptions = {}) {
    super(options.reduction);
    this.margin = options.margin ?? 1;
    this.p = options.p ?? 2;
    this.eps = options.eps ?? 1e-6;
    this.swap = options.swap ?? false;
  }
  forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor {
    return tripletMarginLoss(anchor, positive, negative, {
      margin: this.margin,
      p: this.p,
      eps: this.eps,
      swap: this.swap,
      reduction: this.reduction,
    });
  }
}

/** torch.nn.CTCLoss({ blank = 0, zeroInfinity = false }). */
export class CTCLoss extends Loss {
  readonly blank: number;
  readonly zeroInfinity: boolean;
  constructor(options: CTCLossOptions = {}) {
    super(options.reduction);
    this.blank = options.blank ?? 0;
    this.zeroInfinity = options.zeroInfinity ?? false;
  }
  forward(
    logProbs: Tensor,
    targets: Tensor,
    inputLengths: Tensor | readonly number[] | number,
    targetLengths: Tensor | readonly number[] | number,
  ): Tensor {
    return ctcLoss(logProbs, targets, inputLengths, targetLengths, {
      blank: this.blank,
      reduction: this.reduction,
      zeroInfinity: this.zeroInfinity,
    });
  }
}
