import type { CpuKernelGroup } from "./attach.js";
import { binary, copy, unary, unaryWith, where, write } from "./elementwise.js";
import { attention, attentionBackward } from "./fused/attention.js";
import { col2im, im2col } from "./fused/conv.js";
import { conv2dGemm, conv2dInputGradGemm, conv2dWeightGradGemm } from "./fused/conv-gemm.js";
import { layerNorm, layerNormBackward } from "./fused/norm.js";
import { adamStep, sgdStep } from "./fused/optim.js";
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from "./fused/pool.js";
import { gruCell, gruCellBackward, lstmCell, lstmCellBackward } from "./fused/rnn.js";
import { softmax, softmaxBackward } from "./fused/softmax.js";
import { gather, scatter } from "./gather.js";
import { matmul } from "./matmul.js";
import { argReduce, reduce, scan } from "./reduce.js";
import { sort } from "./sort.js";

/**
 * The cpu backend's kernels in groups, for attachKernels (attach.ts). Each group is its own export so
 * that a bundler keeps only the groups an app attaches; the main entry attaches them all.
 * Primitives (the Backend contract) first, then the fused kernels (one family per group).
 */

/** Strided copy with dtype conversion and strided write: contiguous(), clone(), to(dtype), reshape of a view that must be copied, in-place ops. */
export const copyKernels: CpuKernelGroup = { copy, write };
/** Elementwise ops of two tensors: arithmetic, comparisons, logical and bitwise ops. */
export const binaryKernels: CpuKernelGroup = { binary };
/** Elementwise ops of one tensor (with the WebAssembly SIMD exp, sigmoid, tanh and erf). */
export const unaryKernels: CpuKernelGroup = { unary };
/**
 * unaryKernels without the WebAssembly SIMD module (~6 kB gzipped): float32 exp, sigmoid, tanh and
 * erf run the JS loops (as where WebAssembly SIMD is missing; within 1-2 ulp of the SIMD results).
 * For bundles whose unary ops are relu, abs, neg, ...; attach one of the two unary groups.
 */
export const plainUnaryKernels: CpuKernelGroup = { unary: /* @__PURE__ */ unaryWith(() => undefined) };
/** where(cond, a, b), and the ops composed from it (masked fill, clamp with tensors, ...). */
export const whereKernels: CpuKernelGroup = { where };
/** sum/prod/max/min/all/any, argmax/argmin, cumulative ops. */
export const reduceKernels: CpuKernelGroup = { reduce, argReduce, scan };
/** Stable sort (sort, argsort, topk, median, unique, ...). */
export const sortKernels: CpuKernelGroup = { sort };
/** Batched matmul (the blocked GEMM with its WebAssembly SIMD micro-kernel). */
export const matmulKernels: CpuKernelGroup = { matmul };
/** gather and scatter (advanced indexing, embedding, index_select, ...). */
export const gatherKernels: CpuKernelGroup = { gather, scatter };

/** Fused softmax / logSoftmax and their backward. */
export const softmaxKernels: CpuKernelGroup = { fused: { softmax, softmaxBackward } };
/** Fused layer norm and its backward. */
export const layerNormKernels: CpuKernelGroup = { fused: { layerNorm, layerNormBackward } };
/** Convolution: im2col / col2im and the implicit-GEMM conv2d forward, weight and input gradients. */
export const convKernels: CpuKernelGroup = {
  fused: { im2col, col2im, conv2d: conv2dGemm, conv2dWeightGrad: conv2dWeightGradGemm, conv2dInputGrad: conv2dInputGradGemm },
};
/** Max and average pooling with their backward. */
export const poolKernels: CpuKernelGroup = { fused: { maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward } };
/** In-place Adam/AdamW and SGD steps. */
export const optimizerKernels: CpuKernelGroup = { fused: { adamStep, sgdStep } };
/** Scaled dot-product attention forward and backward. */
export const attentionKernels: CpuKernelGroup = { fused: { attention, attentionBackward } };
/** LSTM and GRU cells' gate math with their backward. */
export const rnnKernels: CpuKernelGroup = { fused: { lstmCell, lstmCellBackward, gruCell, gruCellBackward } };
