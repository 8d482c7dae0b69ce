export { cpuBackend } from "./backend.js";
export { gemm } from "./matmul.js";
export { getNumThreads, setNumThreads, threadsReady } from "./threads/pool.js";
