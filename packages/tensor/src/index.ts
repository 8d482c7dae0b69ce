export { type AutocastOptions, autocast, autocastState } from "./autocast.js";
export * from "./backend.js";
export * from "./creation.js";
export * from "./dtype.js";
export * from "./errors.js";
export {
  type AdamStepOptions,
  type AttentionGrads,
  type AttentionOptions,
  type AttentionResult,
  type FusedKernels,
  type GruCellGrads,
  type GruCellResult,
  type LayerNormGrads,
  type LayerNormResult,
  type LstmCellGrads,
  type LstmCellResult,
  type SgdStepOptions,
  type WindowGeometry,
  fusedKernel,
} from "./fused.js";
export { formatTensor, printOptions, setPrintOptions } from "./format.js";
export { type GradRecorder, gradState, installGradRecorder, isGradEnabled, labelGrad } from "./grad-hooks.js";
export * from "./random.js";
export { keep, tidy, tidyOwned } from "./scope.js";
export { type MergedDims, broadcastShapes, coalesceDims, contiguousStrides, numel } from "./shape.js";
export { Size } from "./size.js";
export { Storage } from "./storage.js";
export { type BasicIndex, type NestedArray, type Slice, Tensor, type ToOptions, parseSlice, record, slice } from "./tensor.js";
export {
  type Scalar,
  type TensorLike,
  argReduceOp,
  assertNoInternalOverlap,
  assertTensor,
  assertTensorLike,
  binaryOp,
  gatherOp,
  matmulOp,
  reduceOp,
  scanOp,
  scatterOp,
  sortIndices,
  unaryOp,
  whereOp,
  writeInPlace,
} from "./ops/dispatch.js";
export * from "./ops/arithmetic.js";
export * from "./ops/math.js";
export * from "./ops/compare.js";
export { namedTuple } from "./ops/named-tuple.js";
export * from "./ops/reduce.js";
export * from "./ops/sort.js";
export * from "./ops/linalg.js";
export * from "./ops/shape.js";
export * from "./ops/views.js";
export * from "./ops/softmax.js";
export * from "./ops/indexing.js";
export * from "./ops/inplace.js";
