// Size-budget entry: one tensor op on the CPU backend as the READMEs register it (every kernel:
// the fused and WebAssembly SIMD ones too). Compare with tensor-one-op.js (only add's kernels).
import { cpuBackend } from "@dl/backend-cpu";
import { add, registerBackend, tensor } from "@dl/tensor";

registerBackend(cpuBackend);
console.log(add(tensor([1, 2, 3]), tensor([4, 5, 6])));
