import { ArgumentError, type DType, ShapeError, type Tensor, describeValue, empty, fmtShape, pad } from "@dl/tensor";
import { conv1d, conv2d, convTranspose1d, convTranspose2d } from "../functional/conv.js";
import { type ConvPadding, type IntOrTuple, convTransposeOutSize, fmtPy, ntuple } from "../functional/im2col.js";
import { calculateFans, kaimingUniform_, uniform_ } from "../init.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";

export type ConvPaddingMode = "zeros" | "reflect" | "replicate" | "circular";

export interface ConvNdOptions {
  stride?: IntOrTuple;
  /** An int or tuple, 'valid' or 'same' (stride 1 only). */
  padding?: ConvPadding;
  dilation?: IntOrTuple;
  groups?: number;
  bias?: boolean;
  paddingMode?: ConvPaddingMode;
  device?: string;
  dtype?: DType;
}

export interface ConvTransposeNdOptions {
  stride?: IntOrTuple;
  padding?: IntOrTuple;
  outputPadding?: IntOrTuple;
  groups?: number;
  bias?: boolean;
  dilation?: IntOrTuple;
  /** Only 'zeros' is supported, as in PyTorch. */
  paddingMode?: "zeros";
  device?: string;
  dtype?: DType;
}

/**
 * The shared part of the convolution layers (torch.nn.modules.conv._ConvNd): argument checks,
 * weight [out, in/groups, ...kernel] (transposed: [in, out/groups, ...kernel]) and bias [out],
 * PyTorch's default init, and its repr.
 */
export abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | "same" | "valid";
  readonly dilation: number[];
  readonly transposed: boolean;
  readonly outputPadding: number[];
  readonly groups: number;
  readonly paddingMode: ConvPaddingMode;
  weight: Parameter;
  bias: Parameter | null;
  /** F.pad's argument for the non-zero padding modes: per dim (last first) [before, after]. */
  protected _reversedPaddingRepeatedTwice: number[];

  constructor(
    name: string,
    k: number,
    inChannels: number,
    outChannels: number,
    kernelSize: IntOrTuple,
    o: ConvNdOptions & { outputPadding?: IntOrTuple },
    transposed: boolean,
  ) {
    super();
    const groups = o.groups ?? 1;
    if (!Number.isInteger(groups) || groups <= 0) throw new ArgumentError(name, `groups must be a positive integer, got ${groups}`);
    if (inChannels % groups !== 0)
      throw new ArgumentError(name, `in_channels must be divisible by groups (in_channels=${inChannels}, groups=${groups})`);
    if (outChannels % groups !== 0)
      throw new ArgumentError(name, `out_channels must be divisible by groups (out_channels=${outChannels}, groups=${groups})`);
    const kernel = ntuple(name, "kernelSize", kernelSize, k);
    const stride = ntuple(name, "stride", o.stride ?? 1, k);
    const dilation = ntuple(name, "dilation", o.dilation ?? 1, k);
    const padding = o.padding ?? 0;
    let pads: number[] | "same" | "valid";
    if (typeof padding === "string") {
      if (padding !== "same" && padding !== "valid")
        throw new ArgumentError(name, `Invalid padding string '${padding}', should be one of {'valid', 'same'}`);
      if (padding === "same" && stride.some((s) => s !== 1))
        throw new ArgumentError(name, "padding='same' is not supported for strided convolutions");
      pads = padding;
    } else pads = ntuple(name, "padding", padding, k);
    const paddingMode = o.paddingMode ?? "zeros";
    if (!["zeros", "reflect", "replicate", "circular"].includes(paddingMode)) {
      throw new ArgumentError(
        name,
        `padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, but got padding_mode='${paddingMode}'`,
      );
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernel;
    this.stride = stride;
    this.padding = pads;
    this.dilation = dilation;
    this.transposed = transposed;
    this.outputPadding = ntuple(name, "outputPadding", o.outputPadding ?? 0, k);
    this.groups = groups;
    this.paddingMode = paddingMode;
    this._reversedPaddingRepeatedTwice = [];
    for (let i = k - 1; i >= 0; i--) {
      if (pads === "valid") this._reversedPaddingRepeatedTwice.push(0, 0);
      else if (pads === "same") {
        const total = (dilation[i] as number) * ((kernel[i] as number) - 1);
        const left = Math.floor(total / 2);
        this._reversedPaddingRepeatedTwice.push(left, total - left);
      } else this._reversedPaddingRepeatedTwice.push(pads[i] as number, pads[i] as number);
    }
    const opts = { dtype: o.dtype, device: o.device };
    const shape = transposed ? [inChannels, outChannels / groups, ...kernel] : [outChannels, inChannels / groups, ...kernel];
    this.weight = new Parameter(empty(shape, opts));
    this.bias = o.bias === false ? null : new Parameter(empty([outChannels], opts));
    this.resetParameters();
  }

  /** PyTorch's default: kaiming_uniform_(a=sqrt(5)) for weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for bias. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const { fanIn } = calculateFans(this.weight);
      if (fanIn !== 0) {
        const bound = 1 / Math.sqrt(fanIn);
        uniform_(this.bias, -bound, bound);
      }
    }
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${fmtPy(this.kernelSize)}, stride=${fmtPy(this.stride)}`;
    if (typeof this.padding === "string" || this.padding.some((p) => p !== 0)) s += `, padding=${fmtPy(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${fmtPy(this.dilation)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, output_padding=${fmtPy(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ", bias=False";
    if (this.paddingMode !== "zeros") s += `, padding_mode=${this.paddingMode}`;
    return s;
  }

  /** The input padded by paddingMode (non-'zeros' modes pad explicitly and convolve with padding 0). */
  protected padInput(input: Tensor): Tensor {
    return pad(input, this._reversedPaddingRepeatedTwice, { mode: this.paddingMode as "reflect" | "replicate" | "circular" });
  }
}

/** 1-D convolution over [N, C, L] (torch.nn.Conv1d); weight [out, in/groups, k]. */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, options: ConvNdOptions = {}) {
    super("Conv1d", 1, inChannels, outChannels, kernelSize, options, false);
  }

  forward(input: Tensor): Tensor {
    const o = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode !== "zeros") return conv1d(this.padInput(input), this.weight, this.bias, { ...o, padding: 0 });
    return conv1d(input, this.weight, this.bias, { ...o, padding: this.padding });
  }
}

/** 2-D convolution over [N, C, H, W] (torch.nn.Conv2d); weight [out, in/groups, kH, kW]. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, options: ConvNdOptions = {}) {
    super("Conv2d", 2, inChannels, outChannels, kernelSize, options, false);
  }

  forward(input: Tensor): Tensor {
    const o = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode !== "zeros") return conv2d(this.padInput(input), this.weight, this.bias, { ...o, padding: 0 });
    return conv2d(input, this.weight, this.bias, { ...o, padding: this.padding });
  }
}

/** The shared part of the transposed convolutions (torch.nn.modules.conv._ConvTransposeNd). */
export abstract class ConvTransposeNd extends ConvNd {
  constructor(name: string, k: number, inChannels: number, outChannels: number, kernelSize: IntOrTuple, options: ConvTransposeNdOptions) {
    if ((options.paddingMode ?? "zeros") !== "zeros") throw new ArgumentError(name, `Only "zeros" padding mode is supported for ${name}`);
    super(name, k, inChannels, outChannels, kernelSize, options, true);
  }

  /** PyTorch's _output_padding: outputPadding, or the one that gives the requested outputSize. */
  protected resolveOutputPadding(input: Tensor, outputSize: readonly number[] | undefined, k: number): number[] {
    if (outputSize === undefined) return this.outputPadding;
    if (!Array.isArray(outputSize) || !outputSize.every(Number.isInteger)) {
      throw new ArgumentError(this.constructor.name, `outputSize must be an array of integers, got ${describeValue(outputSize)}`);
    }
    const batched = input.ndim === k + 2;
    const nonSpatial = batched ? 2 : 1;
    const size = outputSize.length === nonSpatial + k ? outputSize.slice(nonSpatial) : [...outputSize];
    if (size.length !== k) {
      throw new ShapeError(this.constructor.name, `outputSize must have ${k} or ${k + nonSpatial} elements (got ${fmtShape(outputSize)})`);
    }
    const pads = this.padding as number[];
    const minSizes = size.map((_, d) =>
      convTransposeOutSize(
        input.shape[d + nonSpatial] as number,
        this.kernelSize[d] as number,
        this.stride[d] as number,
        pads[d] as number,
        this.dilation[d] as number,
        0,
      ),
    );
    const maxSizes = minSizes.map((m, d) => m + (this.stride[d] as number) - 1);
    size.forEach((s, d) => {
      if (s < (minSizes[d] as number) || s > (maxSizes[d] as number)) {
        throw new ShapeError(
          this.constructor.name,
          `requested an output size of ${fmtShape(size)}, but valid sizes range from ${fmtShape(minSizes)} to ${fmtShape(maxSizes)} (for an input of ${fmtShape(input.shape.slice(nonSpatial))})`,
        );
      }
    });
    return size.map((s, d) => s - (minSizes[d] as number));
  }
}

/** Transposed 1-D convolution (torch.nn.ConvTranspose1d); weight [in, out/groups, k]. */
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, options: ConvTransposeNdOptions = {}) {
    super("ConvTranspose1d", 1, inChannels, outChannels, kernelSize, options);
  }

  /** outputSize (optional) picks the output padding that yields that size. */
  forward(input: Tensor, outputSize?: readonly number[]): Tensor {
    return convTranspose1d(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding as number[],
      outputPadding: this.resolveOutputPadding(input, outputSize, 1),
      groups: this.groups,
      dilation: this.dilation,
    });
  }
}

/** Transposed 2-D convolution (torch.nn.ConvTranspose2d); weight [in, out/groups, kH, kW]. */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, options: ConvTransposeNdOptions = {}) {
    super("ConvTranspose2d", 2, inChannels, outChannels, kernelSize, options);
  }

  /** outputSize (optional) picks the output padding that yields that size. */
  forward(input: Tensor, outputSize?: readonly number[]): Tensor {
    return convTranspose2d(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding as number[],
      outputPadding: this.resolveOutputPadding(input, outputSize, 2),
      groups: this.groups,
      dilation: this.dilation,
    });
  }
}
