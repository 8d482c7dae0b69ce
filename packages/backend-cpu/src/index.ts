export { cpuBackend } from "./backend.js";
export { gemm } from "./matmul.js";
