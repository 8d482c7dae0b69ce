import { type DType, type Tensor, empty } from "@dl/tensor";
import { bilinear } from "../functional/distance.js";
import { uniform_ } from "../init.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import { pyBool } from "./format.js";

export interface BilinearOptions {
  bias?: boolean;
  dtype?: DType;
  device?: string;
}

/**
 * y = x1^T W x2 + b (torch.nn.Bilinear): weight [out, in1, in2], bias [out], both initialized
 * U(-1/sqrt(in1), 1/sqrt(in1)) as PyTorch.
 */
export class Bilinear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly in1Features: number,
    readonly in2Features: number,
    readonly outFeatures: number,
    options: BilinearOptions = {},
  ) {
    super();
    const o = { dtype: options.dtype, device: options.device };
    this.weight = new Parameter(empty([outFeatures, in1Features, in2Features], o));
    this.bias = options.bias === false ? null : new Parameter(empty([outFeatures], o));
    this.resetParameters();
  }

  resetParameters(): void {
    const bound = 1 / Math.sqrt(this.in1Features);
    uniform_(this.weight, -bound, bound);
    if (this.bias) uniform_(this.bias, -bound, bound);
  }

  forward(input1: Tensor, input2: Tensor): Tensor {
    return bilinear(input1, input2, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in1_features=${this.in1Features}, in2_features=${this.in2Features}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}
