import type { FusedKernels } from "@dl/tensor";
import { attention, attentionBackward } from "./attention.js";
import { col2im, im2col } from "./conv.js";
import { conv2dGemm, conv2dInputGradGemm, conv2dWeightGradGemm } from "./conv-gemm.js";
import { layerNorm, layerNormBackward } from "./norm.js";
import { adamStep, sgdStep } from "./optim.js";
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from "./pool.js";
import { gruCell, gruCellBackward, lstmCell, lstmCellBackward } from "./rnn.js";
import { softmax, softmaxBackward } from "./softmax.js";

/**
 * The cpu backend's fused kernels (see FusedKernels in @dl/tensor), one family per file: the full
 * backend's table. Each family also has a group in ../kernels.ts (for @dl/backend-cpu/core).
 */
export const cpuFusedKernels: FusedKernels = {
  softmax,
  softmaxBackward,
  layerNorm,
  layerNormBackward,
  im2col,
  col2im,
  conv2d: conv2dGemm,
  conv2dWeightGrad: conv2dWeightGradGemm,
  conv2dInputGrad: conv2dInputGradGemm,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  adamStep,
  sgdStep,
  attention,
  attentionBackward,
  lstmCell,
  lstmCellBackward,
  gruCell,
  gruCellBackward,
};
