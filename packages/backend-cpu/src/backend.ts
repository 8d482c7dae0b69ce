import type { Backend } from "@dl/tensor";
import { attachKernels } from "./attach.js";
import { cpuFusedKernels } from "./fused/index.js";
import {
  binaryKernels,
  copyKernels,
  gatherKernels,
  matmulKernels,
  reduceKernels,
  sortKernels,
  unaryKernels,
  whereKernels,
} from "./kernels.js";

/**
 * The CPU backend with every kernel: the core (storage; attach.ts) with all primitive
 * groups and the full fused table attached. A bundle that needs fewer kernels builds the same
 * object from @dl/backend-cpu/core with attachKernels and only the groups it uses.
 */
export const cpuBackend: Backend = attachKernels(
  copyKernels,
  binaryKernels,
  unaryKernels,
  whereKernels,
  reduceKernels,
  sortKernels,
  matmulKernels,
  gatherKernels,
  { fused: cpuFusedKernels },
);
