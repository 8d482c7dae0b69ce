import type { Tensor } from "@dl/tensor";
import { type IntOrTuple, fmtPy, ntuple } from "../functional/im2col.js";
import {
  type AdaptiveSize,
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  avgPool1d,
  avgPool2d,
  maxPool1d,
  maxPool2d,
  maxUnpool1d,
  maxUnpool2d,
} from "../functional/pooling.js";
import { Module } from "../module.js";

/** What a max pool returns: the output, or [output, indices] when built with returnIndices: true. */
export type PoolResult<R extends boolean> = R extends true ? [Tensor, Tensor] : Tensor;

export interface MaxPoolModuleOptions<R extends boolean> {
  /** Default: kernelSize. */
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
  dilation?: IntOrTuple;
  returnIndices?: R;
  ceilMode?: boolean;
}

/** The shared part of MaxPool1d/2d (torch.nn.modules.pooling._MaxPoolNd). */
export abstract class MaxPoolNd<R extends boolean = false> extends Module {
  readonly kernelSize: IntOrTuple;
  readonly stride: IntOrTuple;
  readonly padding: IntOrTuple;
  readonly dilation: IntOrTuple;
  readonly returnIndices: R;
  readonly ceilMode: boolean;

  constructor(kernelSize: IntOrTuple, options: MaxPoolModuleOptions<R> = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.returnIndices = (options.returnIndices ?? false) as R;
    this.ceilMode = options.ceilMode ?? false;
  }

  protected get options() {
    return {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
      returnIndices: this.returnIndices as boolean,
    };
  }

  override extraRepr(): string {
    return `kernel_size=${fmtPy(this.kernelSize)}, stride=${fmtPy(this.stride)}, padding=${fmtPy(this.padding)}, dilation=${fmtPy(this.dilation)}, ceil_mode=${fmtPy(this.ceilMode)}`;
  }
}

/** Max over sliding windows of [N, C, L] (torch.nn.MaxPool1d). */
export class MaxPool1d<R extends boolean = false> extends MaxPoolNd<R> {
  forward(input: Tensor): PoolResult<R> {
    return maxPool1d(input, this.kernelSize, this.options) as PoolResult<R>;
  }
}

/**
 * Max over sliding windows of [N, C, H, W] (torch.nn.MaxPool2d). With returnIndices: true,
 * call() gives [output, indices] (flat h * W + w indices, for MaxUnpool2d).
 */
export class MaxPool2d<R extends boolean = false> extends MaxPoolNd<R> {
  forward(input: Tensor): PoolResult<R> {
    return maxPool2d(input, this.kernelSize, this.options) as PoolResult<R>;
  }
}

export interface AvgPool1dOptions {
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

/** Average over sliding windows of [N, C, L] (torch.nn.AvgPool1d). */
export class AvgPool1d extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(kernelSize: IntOrTuple, options: AvgPool1dOptions = {}) {
    super();
    // PyTorch stores the 1-D arguments as 1-tuples.
    this.kernelSize = ntuple("AvgPool1d", "kernelSize", kernelSize, 1);
    this.stride = ntuple("AvgPool1d", "stride", options.stride ?? kernelSize, 1);
    this.padding = ntuple("AvgPool1d", "padding", options.padding ?? 0, 1);
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
  }

  forward(input: Tensor): Tensor {
    return avgPool1d(input, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${fmtPy(this.kernelSize)}, stride=${fmtPy(this.stride)}, padding=${fmtPy(this.padding)}`;
  }
}

export interface AvgPool2dOptions extends AvgPool1dOptions {
  divisorOverride?: number | null;
}

/** Average over sliding windows of [N, C, H, W] (torch.nn.AvgPool2d). */
export class AvgPool2d extends Module {
  readonly kernelSize: IntOrTuple;
  readonly stride: IntOrTuple;
  readonly padding: IntOrTuple;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(kernelSize: IntOrTuple, options: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
    this.divisorOverride = options.divisorOverride ?? null;
  }

  forward(input: Tensor): Tensor {
    return avgPool2d(input, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
      divisorOverride: this.divisorOverride,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${fmtPy(this.kernelSize)}, stride=${fmtPy(this.stride)}, padding=${fmtPy(this.padding)}`;
  }
}

/** Average over PyTorch's adaptive windows to a fixed output length (torch.nn.AdaptiveAvgPool1d). */
export class AdaptiveAvgPool1d extends Module {
  constructor(readonly outputSize: number) {
    super();
  }

  forward(input: Tensor): Tensor {
    return adaptiveAvgPool1d(input, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${fmtPy(this.outputSize)}`;
  }
}

/** Average over PyTorch's adaptive windows to a fixed [outH, outW] (torch.nn.AdaptiveAvgPool2d); null keeps a dim's size. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: AdaptiveSize) {
    super();
  }

  forward(input: Tensor): Tensor {
    return adaptiveAvgPool2d(input, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${fmtPy(this.outputSize)}`;
  }
}

/** Max over PyTorch's adaptive windows (torch.nn.AdaptiveMaxPool1d); returnIndices gives [output, indices]. */
export class AdaptiveMaxPool1d<R extends boolean = false> extends Module {
  readonly returnIndices: R;
  constructor(
    readonly outputSize: number,
    options: { returnIndices?: R } = {},
  ) {
    super();
    this.returnIndices = (options.returnIndices ?? false) as R;
  }

  forward(input: Tensor): PoolResult<R> {
    return adaptiveMaxPool1d(input, this.outputSize, { returnIndices: this.returnIndices as boolean }) as PoolResult<R>;
  }

  override extraRepr(): string {
    return `output_size=${fmtPy(this.outputSize)}`;
  }
}

/** Max over PyTorch's adaptive windows (torch.nn.AdaptiveMaxPool2d); returnIndices gives [output, indices]. */
export class AdaptiveMaxPool2d<R extends boolean = false> extends Module {
  readonly returnIndices: R;
  constructor(
    readonly outputSize: AdaptiveSize,
    options: { returnIndices?: R } = {},
  ) {
    super();
    this.returnIndices = (options.returnIndices ?? false) as R;
  }

  forward(input: Tensor): PoolResult<R> {
    return adaptiveMaxPool2d(input, this.outputSize, { returnIndices: this.returnIndices as boolean }) as PoolResult<R>;
  }

  override extraRepr(): string {
    return `output_size=${fmtPy(this.outputSize)}`;
  }
}

export interface MaxUnpoolModuleOptions {
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
}

/** Inverse of MaxPool1d: values placed at their indices, zeros elsewhere (torch.nn.MaxUnpool1d). */
export class MaxUnpool1d extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];

  constructor(kernelSize: IntOrTuple, options: MaxUnpoolModuleOptions = {}) {
    super();
    this.kernelSize = ntuple("MaxUnpool1d", "kernelSize", kernelSize, 1);
    this.stride = ntuple("MaxUnpool1d", "stride", options.stride ?? kernelSize, 1);
    this.padding = ntuple("MaxUnpool1d", "padding", options.padding ?? 0, 1);
  }

  forward(input: Tensor, indices: Tensor, outputSize?: readonly number[]): Tensor {
    return maxUnpool1d(input, indices, this.kernelSize, { stride: this.stride, padding: this.padding, outputSize });
  }

  override extraRepr(): string {
    return `kernel_size=${fmtPy(this.kernelSize)}, stride=${fmtPy(this.stride)}, padding=${fmtPy(this.padding)}`;
  }
}

/** Inverse of MaxPool2d: values placed at their indices, zeros elsewhere (torch.nn.MaxUnpool2d). */
export class MaxUnpool2d extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];

  constructor(kernelSize: IntOrTuple, options: MaxUnpoolModuleOptions = {}) {
    super();
    this.kernelSize = ntuple("MaxUnpool2d", "kernelSize", kernelSize, 2);
    this.stride = ntuple("MaxUnpool2d", "stride", options.stride ?? kernelSize, 2);
    this.padding = ntuple("MaxUnpool2d", "padding", options.padding ?? 0, 2);
  }

  forward(input: Tensor, indices: Tensor, outputSize?: readonly number[]): Tensor {
    return maxUnpool2d(input, indices, this.kernelSize, { stride: this.stride, padding: this.padding, outputSize });
  }

  override extraRepr(): string {
    return `kernel_size=${fmtPy(this.kernelSize)}, stride=${fmtPy(this.stride)}, padding=${fmtPy(this.padding)}`;
  }
}
