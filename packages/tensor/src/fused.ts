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
  // ---- optimizer updates ----
}

/** The fused kernel `name` of the backend holding `t`, or undefined (then use the generic path). */
export function fusedKernel<K extends keyof FusedKernels>(t: Tensor, name: K): FusedKernels[K] | undefined {
  return t.backend.fused?.[name];
}


