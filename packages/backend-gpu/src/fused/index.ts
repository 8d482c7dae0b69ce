import type { FusedKernels } from "@dl/tensor";
import type { Runtime } from "../runtime.js";

/** The gpu backend's fused kernels (see FusedKernels in @dl/tensor), one family per file. */
export function gpuFusedKernels(_rt: Runtime): FusedKernels {
  return {};
}
