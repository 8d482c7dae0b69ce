import { ArgumentError, type Tensor } from "@dl/tensor";
import * as F from "../functional/dropout.js";
import { Module } from "../module.js";
import { pyBool, pyFloat } from "./format.js";

export interface DropoutModuleOptions {
  /** Accepted (and printed) for PyTorch compatibility and ignored: forward returns a new tensor. */
  inplace?: boolean;
}

/**
 * Base of the dropout modules: active in training mode, the identity in eval mode. Masks come
 * from @dl/tensor's default generator, so manualSeed() reproduces them.
 */
abstract class DropoutBase extends Module {
  readonly inplace: boolean;
  constructor(
    readonly p = 0.5,
    options: DropoutModuleOptions = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new ArgumentError(new.target.name, `dropout probability has to be between 0 and 1, but got ${p}`);
    this.inplace = options.inplace ?? false;
  }
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyBool(this.inplace)}`;
  }
}

/** Zeroes elements with probability p and scales the rest by 1/(1-p) (torch.nn.Dropout). */
export class Dropout extends DropoutBase {
  forward(input: Tensor): Tensor {
    return F.dropout(input, this.p, this.training);
  }
}

/** Zeroes whole channels of (N, C, L) / (C, L) inputs (torch.nn.Dropout1d). */
export class Dropout1d extends DropoutBase {
  forward(input: Tensor): Tensor {
    return F.dropout1d(input, this.p, this.training);
  }
}

/** Zeroes whole channels of (N, C, H, W) inputs (torch.nn.Dropout2d). */
export class Dropout2d extends DropoutBase {
  forward(input: Tensor): Tensor {
    return F.dropout2d(input, this.p, this.training);
  }
}

/** Zeroes whole channels of (N, C, D, H, W) / (C, D, H, W) inputs (torch.nn.Dropout3d). */
export class Dropout3d extends DropoutBase {
  forward(input: Tensor): Tensor {
    return F.dropout3d(input, this.p, this.training);
  }
}

/** Dropout that keeps the self-normalizing property of SELU networks (torch.nn.AlphaDropout). */
export class AlphaDropout extends DropoutBase {
  forward(input: Tensor): Tensor {
    return F.alphaDropout(input, this.p, this.training);
  }
}

/** Alpha dropout over whole channels (torch.nn.FeatureAlphaDropout). */
export class FeatureAlphaDropout extends DropoutBase {
  forward(input: Tensor): Tensor {
    return F.featureAlphaDropout(input, this.p, this.training);
  }
}
