import { registerBackend } from "@dl/tensor";
import { cpuBackend } from "./backend.js";
import { installThreads } from "./threads/pool.js";

// Importing this module registers the CPU backend (import "@dl/backend-cpu/register") and, as
// PyTorch does, lets its matmul and convolutions use every core (setNumThreads changes it; 1 where
// shared memory is unavailable). registerBackend(cpuBackend) alone starts with 1 thread.
registerBackend(cpuBackend);
installThreads();
