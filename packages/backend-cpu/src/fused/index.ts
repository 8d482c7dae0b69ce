import type { FusedKernels } from "@dl/tensor";
import { col2im, im2col } from "./conv.js";
import { maxPool2d, maxPool2dBackward } from "./pool.js";

/** The cpu backend's fused kernels (see FusedKernels in @dl/tensor), one family per file. */
export const cpuFusedKernels: FusedKernels = {
  im2col,
  col2im,
  maxPool2d,
  maxPool2dBackward,
};
