// The @dl/backend-cpu/core entry: the cpu backend without kernels, and its kernel groups to attach.
//   import { attachKernels, binaryKernels } from "@dl/backend-cpu/core";
//   registerBackend(attachKernels(binaryKernels)); // add, sub, mul, comparisons, ... and nothing else
export { attachKernels, type CpuKernelGroup, type CpuPrimitive } from "./attach.js";
export * from "./kernels.js";
