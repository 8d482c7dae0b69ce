import type { DType } from "./dtype.js";
import type { StridedRef } from "./backend.js";
import type { Tensor } from "./tensor.js";

/**
 * Optional fused kernels a backend may provide for speed. Every op that uses one also has a
 * generic implementation built from the Backend primitives (in the package that owns the op), and
 * both must agree within float32 tolerance; a backend implements any subset. Fused kernels follow
 * the primitives' rules: inputs are strided views, results are fresh contiguous storage, nothing
 * is mutated except where a kernel says so. They carry no autograd: the op that calls one records
 * its own backward.
 *
 * Sections are owned by the op families that use them (normalization/softmax, convolution/pooling,
 * optimizer updates); add members, never change what an existing member computes.
 */
export interface FusedKernels {
  // ---- softmax / normalization ----
  // ---- convolution / pooling ----
  /**
   * im2col: the sliding windows of x [N, C, H, W] (any strides), zero outside the input, as a
   * contiguous tensor whose dims are the logical [N, C, kh, kw, ho, wo] permuted by `order`
   * (element (n, c, i, j, oh, ow) reads row oh*sh - pt + i*dh, column ow*sw - pl + j*dw).
   */
  im2col?: (x: StridedRef, g: WindowGeometry, order: readonly number[]) => unknown;
  /** col2im, im2col's adjoint: windows [N, C, kh, kw, ho, wo] (any strides) summed into a contiguous [N, C, H, W]. */
  col2im?: (cols: StridedRef, g: WindowGeometry) => unknown;
  /**
   * Max pooling of x [N, C, H, W] over the windows of g: values [N, C, ho, wo] and the int64 flat
   * index (h * W + w) of each window's first maximum in row-major window order, NaN winning (the
   * first NaN); a window holding nothing above -inf gives -inf and its first position in the input.
   */
  maxPool2d?: (x: StridedRef, g: WindowGeometry) => { values: unknown; indices: unknown };
  /** Max pooling's input gradient: each [N, C, ho, wo] grad summed into [N, C, H, W] at its flat index. */
  maxPool2dBackward?: (grad: StridedRef, indices: StridedRef, g: WindowGeometry) => unknown;
  // ---- optimizer updates ----
}

/**
 * The windows of a 2-D convolution or pooling over [N, C, H, W]: kernel kh x kw, stride sh/sw,
 * dilation dh/dw, top/left padding pt/pl, output ho x wo.
 */
export interface WindowGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
  ho: number;
  wo: number;
}

/** The fused kernel `name` of the backend holding `t`, or undefined (then use the generic path). */
export function fusedKernel<K extends keyof FusedKernels>(t: Tensor, name: K): FusedKernels[K] | undefined {
  return t.backend.fused?.[name];
}


