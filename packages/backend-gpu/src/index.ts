export { type GpuBackend, type GpuBackendOptions, createGpuBackend } from "./backend.js";
export { isNode, missingGlReason } from "./context.js";
export type { GpuMode } from "./gpujs.js";
