import { registerBackend } from "@dl/tensor";
import { cpuBackend } from "./backend.js";

// Importing this module registers the CPU backend (import "@dl/backend-cpu/register").
registerBackend(cpuBackend);
