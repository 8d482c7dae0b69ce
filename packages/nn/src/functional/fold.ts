import { ArgumentError, ShapeError, type Tensor, fmtShape, assertTensor } from "@dl/tensor";
import { type Geometry, type IntOrTuple, checkFloating, col2im, convOutSize, im2col, ntuple } from "./im2col.js";

export interface FoldOptions {
  dilation?: IntOrTuple;
  padding?: IntOrTuple;
  stride?: IntOrTuple;
}

function foldArgs(op: string, kernelSize: IntOrTuple, options: FoldOptions) {
  const kernel = ntuple(op, "kernelSize", kernelSize, 2);
  const dilation = ntuple(op, "dilation", options.dilation ?? 1, 2);
  const padding = ntuple(op, "padding", options.padding ?? 0, 2);
  const stride = ntuple(op, "stride", options.stride ?? 1, 2);
  if (kernel.some((k) => k < 1))
    throw new ArgumentError(op, `kernel size should be greater than zero, but got kernelSize=${kernel.join("x")}`);
  if (dilation.some((d) => d < 1))
    throw new ArgumentError(op, `dilation should be greater than zero, but got dilation=${dilation.join("x")}`);
  if (stride.some((s) => s < 1)) throw new ArgumentError(op, `stride should be greater than zero, but got stride=${stride.join("x")}`);
  if (padding.some((p) => p < 0)) throw new ArgumentError(op, `padding should be non-negative, but got padding=${padding.join("x")}`);
  return { kernel, dilation, padding, stride };
}

/**
 * F.unfold (im2col): the sliding kH x kW blocks of input [N, C, H, W] (or [C, H, W]) as columns,
 * [N, C*kH*kW, L] with L the number of blocks; channel-major, then kernel row, then kernel column,
 * as PyTorch. Differentiable; its gradient is F.fold.
 */
export function unfold(input: Tensor, kernelSize: IntOrTuple, options: FoldOptions = {}): Tensor {
  assertTensor("unfold", input, "input");
  const op = "unfold";
  if (input.ndim !== 3 && input.ndim !== 4) {
    throw new ShapeError(op, `expected 3D (unbatched) or 4D (batched) input [N, C, H, W], but got input of size ${fmtShape(input.shape)}`);
  }
  checkFloating(op, input);
  const { kernel, dilation, padding, stride } = foldArgs(op, kernelSize, options);
  const x = input.ndim === 3 ? input.unsqueeze(0) : input;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = kernel as [number, number];
  const ho = convOutSize(h, kh, stride[0] as number, 2 * (padding[0] as number), dilation[0] as number);
  const wo = convOutSize(w, kw, stride[1] as number, 2 * (padding[1] as number), dilation[1] as number);
  if (ho < 1 || wo < 1) {
    throw new ShapeError(
      op,
      `given input with spatial size (${h}, ${w}), kernel_size=(${kernel.join(", ")}), dilation=(${dilation.join(", ")}), padding=(${padding.join(", ")}), calculated shape of the array of sliding blocks as (${ho}, ${wo}), but its components must be at least one`,
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
    pt: padding[0] as number,
    pl: padding[1] as number,
    ho,
    wo,
  };
  const cols = im2col(x, g).view(n, c * kh * kw, ho * wo);
  return input.ndim === 3 ? cols.squeeze(0) : cols;
}

/**
 * F.fold (col2im): sums columns [N, C*kH*kW, L] (or [C*kH*kW, L]) into [N, C, outH, outW]; where
 * blocks overlap their values add up. fold(unfold(x)) is x times the number of blocks covering
 * each pixel. Differentiable; its gradient is F.unfold.
 */
export function fold(input: Tensor, outputSize: IntOrTuple, kernelSize: IntOrTuple, options: FoldOptions = {}): Tensor {
  assertTensor("fold", input, "input");
  const op = "fold";
  if (input.ndim !== 2 && input.ndim !== 3) {
    throw new ShapeError(
      op,
      `expected 2D (unbatched) or 3D (batched) input [N, C*kH*kW, L], but got input of size ${fmtShape(input.shape)}`,
    );
  }
  checkFloating(op, input);
  const out = ntuple(op, "outputSize", outputSize, 2);
  const { kernel, dilation, padding, stride } = foldArgs(op, kernelSize, options);
  if (out.some((s) => s < 1))
    throw new ArgumentError(op, `expected output spatial size to be positive, but got outputSize=${out.join("x")}`);
  const x = input.ndim === 2 ? input.unsqueeze(0) : input;
  const [n, ckk, l] = x.shape as [number, number, number];
  const [kh, kw] = kernel as [number, number];
  if (ckk % (kh * kw) !== 0) {
    throw new ShapeError(
      op,
      `expected size of input's dimension 1 to be divisible by the product of kernel_size, but got input.size(1)=${ckk} and kernel_size=(${kernel.join(", ")})`,
    );
  }
  const [h, w] = out as [number, number];
  const ho = convOutSize(h, kh, stride[0] as number, 2 * (padding[0] as number), dilation[0] as number);
  const wo = convOutSize(w, kw, stride[1] as number, 2 * (padding[1] as number), dilation[1] as number);
  if (ho < 1 || wo < 1 || ho * wo !== l) {
    throw new ShapeError(
      op,
      `given output_size=(${h}, ${w}), kernel_size=(${kernel.join(", ")}), dilation=(${dilation.join(", ")}), padding=(${padding.join(", ")}), stride=(${stride.join(", ")}), expected size of input's dimension 2 to match the calculated number of sliding blocks ${ho} * ${wo} = ${ho * wo}, but got input.size(2)=${l}`,
    );
  }
  const c = ckk / (kh * kw);
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
    pt: padding[0] as number,
    pl: padding[1] as number,
    ho,
    wo,
  };
  const y = col2im(x.reshape(n, c, kh, kw, ho, wo), g);
  return input.ndim === 2 ? y.squeeze(0) : y;
}
