import { ArgumentError, DTypeError, ShapeError, type Tensor, add, fmtShape, matmul, assertTensor } from "@dl/tensor";
import { fusedConv2d } from "./conv-fused.js";
import {
  type ConvPadding,
  type Geometry,
  type IntOrTuple,
  checkFloating,
  checkRank,
  col2im,
  convOutSize,
  convTransposeOutSize,
  cropRows,
  flatApplies,
  flatLayout,
  fmtPy,
  hasFusedIm2col,
  im2col,
  im2colFlat,
  ntuple,
  resolvePadding,
} from "./im2col.js";

/**
 * Convolutions (F.conv1d, F.conv2d, F.conv_transpose1d, F.conv_transpose2d). A convolution is
 * im2col (one copy of the input's windows, laid out [C*kh*kw, N*L]) and one matrix product per group
 * ([O/G, C/G*kh*kw] x [C/G*kh*kw, N*L], batched over groups); its input gradient is the adjoint
 * col2im. A transposed convolution is the same pair the other way round.
 */

export type { ConvPadding };

export interface ConvOptions {
  stride?: IntOrTuple;
  /** An int or a tuple (symmetric), 'valid' (none) or 'same' (output size = input size; stride 1 only). */
  padding?: ConvPadding;
  dilation?: IntOrTuple;
  groups?: number;
}

export interface ConvTransposeOptions {
  stride?: IntOrTuple;
  padding?: IntOrTuple;
  outputPadding?: IntOrTuple;
  groups?: number;
  dilation?: IntOrTuple;
}

function checkPositive(op: string, name: string, v: number[], min: number): void {
  if (v.some((x) => x < min))
    throw new ArgumentError(op, `${name} should be ${min === 1 ? "greater than zero" : "non-negative"}, got ${fmtPy(v)}`);
}

function checkDtypes(op: string, input: Tensor, weight: Tensor, bias: Tensor | null | undefined): void {
  checkFloating(op, input);
  if (weight.dtype !== input.dtype || (bias && bias.dtype !== input.dtype)) {
    throw new DTypeError(
      op,
      `input type (${input.dtype}) and weight type (${weight.dtype})${bias ? ` and bias type (${bias.dtype})` : ""} should be the same`,
    );
  }
}

/**
 * The shared 2-D convolution (conv1d runs it with a height-1 kernel). x is [N, C, H, W]; returns
 * [N, O, ho, wo]. `shown` are the caller's original shapes for error messages.
 */
function conv2dImpl(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  kernel: number[],
  stride: number[],
  pads: [number, number][],
  dilation: number[],
  groups: number,
  shown: { input: readonly number[]; weight: readonly number[] },
): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const o = weight.shape[0] as number;
  const [kh, kw] = kernel as [number, number];
  if (!Number.isInteger(groups) || groups < 1) throw new ArgumentError(op, `non-positive groups is not supported (got groups=${groups})`);
  if (o % groups !== 0) {
    throw new ShapeError(
      op,
      `Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${fmtShape(shown.weight)} instead`,
    );
  }
  if ((weight.shape[1] as number) * groups !== c) {
    throw new ShapeError(
      op,
      `Given groups=${groups}, weight of size ${fmtShape(shown.weight)}, expected input${fmtShape(shown.input)} to have ${(weight.shape[1] as number) * groups} channels, but got ${c} channels instead`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== o)) {
    throw new ShapeError(
      op,
      `Given weight of size ${fmtShape(shown.weight)}, expected bias to be 1-dimensional with ${o} elements, but got bias of size ${fmtShape(bias.shape)} instead`,
    );
  }
  const [ph, pw] = pads as [[number, number], [number, number]];
  const ho = convOutSize(h, kh, stride[0] as number, ph[0] + ph[1], dilation[0] as number);
  const wo = convOutSize(w, kw, stride[1] as number, pw[0] + pw[1], dilation[1] as number);
  if (ho < 1 || wo < 1) {
    const padded = shown.input.length - 2 === 1 ? `(${w + pw[0] + pw[1]})` : `(${h + ph[0] + ph[1]} x ${w + pw[0] + pw[1]})`;
    const eff =
      shown.input.length - 2 === 1
        ? `(${(kw - 1) * (dilation[1] as number) + 1})`
        : `(${(kh - 1) * (dilation[0] as number) + 1} x ${(kw - 1) * (dilation[1] as number) + 1})`;
    throw new ShapeError(
      op,
      `Calculated padded input size per channel: ${padded}. Kernel size: ${eff}. Kernel size can't be greater than actual input size`,
    );
  }
  const g: Geometry = {
    n,
    c,
    h,
    w,
    kh,
    kw,
    sh: stride[0] as number,
    sw: stride[1] as number,
    dh: dilation[0] as number,
    dw: dilation[1] as number,
    pt: ph[0],
    pl: pw[0],
    ho,
    wo,
  };
  if (groups === 1) {
    const y = fusedConv2d(x, weight, bias ?? null, g);
    if (y) return y;
  }
  const w2 = weight.reshape(groups, o / groups, (c / groups) * kh * kw);
  if (!hasFusedIm2col(x) && flatApplies(g)) {
    // Stride 1: windows as whole contiguous runs; output rows computed at every canvas position, then cropped.
    const { r } = flatLayout(g);
    const cols = im2colFlat(x, g).view(groups, (c / groups) * kh * kw, n * r);
    return cropRows(matmul(w2, cols).view(o, n, r), g, bias ?? null);
  }
  // Windows in [C, kh, kw, N, ho, wo] order: one [C/G*kh*kw, N*L] matrix per group (one kernel
  // where the backend has a fused im2col; its gradient is then one fused col2im).
  const cols = im2col(x, g, [1, 2, 3, 0, 4, 5]).view(groups, (c / groups) * kh * kw, n * ho * wo);
  const y = matmul(w2, cols).view(o, n, ho, wo).permute(1, 0, 2, 3);
  return bias ? add(y, bias.view(o, 1, 1)) : y.contiguous();
}

function spatialArgs(op: string, k: number, weight: Tensor, options: { stride?: IntOrTuple; dilation?: IntOrTuple }) {
  const kernel = weight.shape.slice(2) as number[];
  const stride = ntuple(op, "stride", options.stride ?? 1, k);
  const dilation = ntuple(op, "dilation", options.dilation ?? 1, k);
  checkPositive(op, "stride", stride, 1);
  checkPositive(op, "dilation", dilation, 1);
  return { kernel, stride, dilation };
}

function checkWeight(op: string, weight: Tensor, k: number, transposed = false): void {
  if (weight.ndim !== k + 2) {
    throw new ShapeError(
      op,
      `expected ${k + 2}D weight [${transposed ? "in_channels, out_channels/groups" : "out_channels, in_channels/groups"}, ${k === 1 ? "kW" : "kH, kW"}], got ${fmtShape(weight.shape)}`,
    );
  }
}

/**
 * F.conv2d: input [N, C, H, W] (or unbatched [C, H, W]), weight [O, C/groups, kH, kW], bias [O].
 * Output [N, O, (H + 2p - d(kH-1) - 1)/s + 1, ...].
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  assertTensor("conv2d", input, "input");
  assertTensor("conv2d", weight, "weight");
  const op = "conv2d";
  const unbatched = checkRank(op, input, 2);
  checkWeight(op, weight, 2);
  checkDtypes(op, input, weight, bias);
  const { kernel, stride, dilation } = spatialArgs(op, 2, weight, options);
  const pads = resolvePadding(op, options.padding ?? 0, 2, kernel, stride, dilation);
  const x = unbatched ? input.unsqueeze(0) : input;
  const y = conv2dImpl(op, x, weight, bias, kernel, stride, pads, dilation, options.groups ?? 1, {
    input: input.shape,
    weight: weight.shape,
  });
  return unbatched ? y.squeeze(0) : y;
}

/** F.conv1d: input [N, C, L] (or [C, L]), weight [O, C/groups, k], bias [O]. */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  assertTensor("conv1d", input, "input");
  assertTensor("conv1d", weight, "weight");
  const op = "conv1d";
  const unbatched = checkRank(op, input, 1);
  checkWeight(op, weight, 1);
  checkDtypes(op, input, weight, bias);
  const { kernel, stride, dilation } = spatialArgs(op, 1, weight, options);
  const pads = resolvePadding(op, options.padding ?? 0, 1, kernel, stride, dilation);
  const x = (unbatched ? input.unsqueeze(0) : input).unsqueeze(2);
  const y = conv2dImpl(
    op,
    x,
    weight.unsqueeze(2),
    bias,
    [1, ...kernel],
    [1, ...stride],
    [[0, 0], ...pads],
    [1, ...dilation],
    options.groups ?? 1,
    {
      input: input.shape,
      weight: weight.shape,
    },
  ).squeeze(2);
  return unbatched ? y.squeeze(0) : y;
}

function convTranspose2dImpl(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  kernel: number[],
  stride: number[],
  padding: number[],
  outputPadding: number[],
  dilation: number[],
  groups: number,
  shown: { input: readonly number[]; weight: readonly number[] },
): Tensor {
  const [n, cin, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = kernel as [number, number];
  if (!Number.isInteger(groups) || groups < 1) throw new ArgumentError(op, `non-positive groups is not supported (got groups=${groups})`);
  if ((weight.shape[0] as number) !== cin) {
    throw new ShapeError(
      op,
      `Given transposed=1, weight of size ${fmtShape(shown.weight)}, expected input${fmtShape(shown.input)} to have ${weight.shape[0]} channels, but got ${cin} channels instead`,
    );
  }
  if (cin % groups !== 0) {
    throw new ShapeError(
      op,
      `Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${fmtShape(shown.weight)} instead`,
    );
  }
  const cout = (weight.shape[1] as number) * groups;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== cout)) {
    throw new ShapeError(
      op,
      `Given transposed=1, weight of size ${fmtShape(shown.weight)}, expected bias to be 1-dimensional with ${cout} elements, but got bias of size ${fmtShape(bias.shape)} instead`,
    );
  }
  for (let i = 0; i < 2; i++) {
    if ((outputPadding[i] as number) >= (stride[i] as number) && (outputPadding[i] as number) >= (dilation[i] as number)) {
      throw new ArgumentError(
        op,
        `output padding must be smaller than either stride or dilation, but got output_padding ${fmtPy(outputPadding)}, stride ${fmtPy(stride)}, dilation ${fmtPy(dilation)}`,
      );
    }
  }
  const hOut = convTransposeOutSize(h, kh, stride[0] as number, padding[0] as number, dilation[0] as number, outputPadding[0] as number);
  const wOut = convTransposeOutSize(w, kw, stride[1] as number, padding[1] as number, dilation[1] as number, outputPadding[1] as number);
  if (hOut < 1 || wOut < 1) {
    throw new ShapeError(
      op,
      `output size ${hOut < 1 ? hOut : wOut} is too small for input ${fmtShape(shown.input)} (kernel ${fmtPy(kernel)}, stride ${fmtPy(stride)}, padding ${fmtPy(padding)})`,
    );
  }
  const cg = cin / groups;
  const og = cout / groups;
  // The windows of the output: each input pixel spreads weight^T x over one kh x kw window.
  const xs = x.permute(1, 0, 2, 3).reshape(groups, cg, n * h * w);
  const cols = matmul(weight.reshape(groups, cg, og * kh * kw).transpose(1, 2), xs)
    .view(cout, kh, kw, n, h, w)
    .permute(3, 0, 1, 2, 4, 5);
  const g: Geometry = {
    n,
    c: cout,
    h: hOut,
    w: wOut,
    kh,
    kw,
    sh: stride[0] as number,
    sw: stride[1] as number,
    dh: dilation[0] as number,
    dw: dilation[1] as number,
    pt: padding[0] as number,
    pl: padding[1] as number,
    ho: h,
    wo: w,
  };
  const y = col2im(cols, g, [1, 2, 3, 0, 4, 5]);
  return bias ? add(y, bias.view(cout, 1, 1)) : y;
}

function transposeArgs(op: string, k: number, weight: Tensor, options: ConvTransposeOptions) {
  const { kernel, stride, dilation } = spatialArgs(op, k, weight, options);
  const padding = ntuple(op, "padding", options.padding ?? 0, k);
  const outputPadding = ntuple(op, "outputPadding", options.outputPadding ?? 0, k);
  if (padding.some((p) => p < 0)) throw new ArgumentError(op, `negative padding is not supported, got ${fmtPy(padding)}`);
  if (outputPadding.some((p) => p < 0))
    throw new ArgumentError(op, `negative output padding is not supported, got ${fmtPy(outputPadding)}`);
  return { kernel, stride, dilation, padding, outputPadding };
}

/**
 * F.conv_transpose2d: input [N, Cin, H, W] (or [Cin, H, W]), weight [Cin, Cout/groups, kH, kW],
 * bias [Cout]: the gradient of conv2d with respect to its input.
 */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions = {}): Tensor {
  assertTensor("convTranspose2d", input, "input");
  assertTensor("convTranspose2d", weight, "weight");
  const op = "convTranspose2d";
  const unbatched = checkRank(op, input, 2);
  checkWeight(op, weight, 2, true);
  checkDtypes(op, input, weight, bias);
  const a = transposeArgs(op, 2, weight, options);
  const x = unbatched ? input.unsqueeze(0) : input;
  const y = convTranspose2dImpl(op, x, weight, bias, a.kernel, a.stride, a.padding, a.outputPadding, a.dilation, options.groups ?? 1, {
    input: input.shape,
    weight: weight.shape,
  });
  return unbatched ? y.squeeze(0) : y;
}

/** F.conv_transpose1d: input [N, Cin, L] (or [Cin, L]), weight [Cin, Cout/groups, k], bias [Cout]. */
export function convTranspose1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions = {}): Tensor {
  assertTensor("convTranspose1d", input, "input");
  assertTensor("convTranspose1d", weight, "weight");
  const op = "convTranspose1d";
  const unbatched = checkRank(op, input, 1);
  checkWeight(op, weight, 1, true);
  checkDtypes(op, input, weight, bias);
  const a = transposeArgs(op, 1, weight, options);
  const x = (unbatched ? input.unsqueeze(0) : input).unsqueeze(2);
  const y = convTranspose2dImpl(
    op,
    x,
    weight.unsqueeze(2),
    bias,
    [1, ...a.kernel],
    [1, ...a.stride],
    [0, ...a.padding],
    [0, ...a.outputPadding],
    [1, ...a.dilation],
    options.groups ?? 1,
    { input: input.shape, weight: weight.shape },
  ).squeeze(2);
  return unbatched ? y.squeeze(0) : y;
}
