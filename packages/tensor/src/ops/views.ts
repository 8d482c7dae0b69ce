import type { Tensor } from "../tensor.js";
import { assertTensor } from "./dispatch.js";

// torch.reshape, torch.permute, ... as free functions: the same views as the Tensor methods (which
// hold the layout logic, since every view needs it), so that both of PyTorch's spellings work.

/** torch.reshape: a view when the strides allow it, else a copy. */
export function reshape(x: Tensor, ...shape: (number | readonly number[])[]): Tensor {
  assertTensor("reshape", x, "input");
  return x.reshape(...shape);
}

/** torch.flatten(x, startDim, endDim). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  assertTensor("flatten", x, "input");
  return x.flatten(startDim, endDim);
}

/** torch.permute(x, dims). */
export function permute(x: Tensor, ...dims: (number | readonly number[])[]): Tensor {
  assertTensor("permute", x, "input");
  return x.permute(...dims);
}

/** torch.transpose(x, dim0, dim1) (also torch.swapaxes / torch.swapdims). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  assertTensor("transpose", x, "input");
  return x.transpose(dim0, dim1);
}

export const swapaxes = transpose;
export const swapdims = transpose;

/** torch.t: the transpose of a matrix (a 0-d or 1-d tensor is returned as is). */
export function t(x: Tensor): Tensor {
  assertTensor("t", x, "input");
  return x.t();
}

/** torch.movedim(x, source, destination). */
export function movedim(x: Tensor, source: number | readonly number[], destination: number | readonly number[]): Tensor {
  assertTensor("movedim", x, "input");
  return x.movedim(source, destination);
}

/** torch.narrow(x, dim, start, length). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  assertTensor("narrow", x, "input");
  return x.narrow(dim, start, length);
}

/** torch.squeeze(x, dim?). */
export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  assertTensor("squeeze", x, "input");
  return x.squeeze(dim);
}

/** torch.unsqueeze(x, dim). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  assertTensor("unsqueeze", x, "input");
  return x.unsqueeze(dim);
}
