import { type Tensor, empty } from "@dl/tensor";
import { linear } from "../functional/linear.js";
import { kaimingUniform_, uniform_, calculateFans } from "../init.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";

export interface LinearOptions {
  bias?: boolean;
  dtype?: "float32" | "float64";
  device?: string;
}

/** y = x W^T + b over the last dim (torch.nn.Linear); weight [outFeatures, inFeatures]. */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    const o = { dtype: options.dtype, device: options.device };
    this.weight = new Parameter(empty([outFeatures, inFeatures], o));
    this.bias = options.bias === false ? null : new Parameter(empty([outFeatures], o));
    this.resetParameters();
  }

  /** PyTorch's default: kaiming_uniform_(a=sqrt(5)) for weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for bias. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const { fanIn } = calculateFans(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null ? "True" : "False"}`;
  }
}

/** Returns its input (torch.nn.Identity). */
export class Identity extends Module {
  forward(input: Tensor): Tensor {
    return input;
  }
}
