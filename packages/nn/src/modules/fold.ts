import type { Tensor } from "@dl/tensor";
import { type FoldOptions, fold, unfold } from "../functional/fold.js";
import { type IntOrTuple, fmtPy } from "../functional/im2col.js";
import { Module } from "../module.js";

/** Sums sliding-block columns [N, C*kH*kW, L] into [N, C, outH, outW] (torch.nn.Fold). */
export class Fold extends Module {
  readonly outputSize: IntOrTuple;
  readonly kernelSize: IntOrTuple;
  readonly dilation: IntOrTuple;
  readonly padding: IntOrTuple;
  readonly stride: IntOrTuple;

  constructor(outputSize: IntOrTuple, kernelSize: IntOrTuple, options: FoldOptions = {}) {
    super();
    this.outputSize = outputSize;
    this.kernelSize = kernelSize;
    this.dilation = options.dilation ?? 1;
    this.padding = options.padding ?? 0;
    this.stride = options.stride ?? 1;
  }

  forward(input: Tensor): Tensor {
    return fold(input, this.outputSize, this.kernelSize, { dilation: this.dilation, padding: this.padding, stride: this.stride });
  }

  override extraRepr(): string {
    return `output_size=${fmtPy(this.outputSize)}, kernel_size=${fmtPy(this.kernelSize)}, dilation=${fmtPy(this.dilation)}, padding=${fmtPy(this.padding)}, stride=${fmtPy(this.stride)}`;
  }
}

/** Extracts sliding blocks of [N, C, H, W] as columns [N, C*kH*kW, L] (torch.nn.Unfold). */
export class Unfold extends Module {
  readonly kernelSize: IntOrTuple;
  readonly dilation: IntOrTuple;
  readonly padding: IntOrTuple;
  readonly stride: IntOrTuple;

  constructor(kernelSize: IntOrTuple, options: FoldOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.dilation = options.dilation ?? 1;
    this.padding = options.padding ?? 0;
    this.stride = options.stride ?? 1;
  }

  forward(input: Tensor): Tensor {
    return unfold(input, this.kernelSize, { dilation: this.dilation, padding: this.padding, stride: this.stride });
  }

  override extraRepr(): string {
    return `kernel_size=${fmtPy(this.kernelSize)}, dilation=${fmtPy(this.dilation)}, padding=${fmtPy(this.padding)}, stride=${fmtPy(this.stride)}`;
  }
}
