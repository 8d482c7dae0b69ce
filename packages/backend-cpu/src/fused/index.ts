import type { FusedKernels } from "@dl/tensor";

/** The cpu backend's fused kernels (see FusedKernels in @dl/tensor), one family per file. */
export const cpuFusedKernels: FusedKernels = {};
