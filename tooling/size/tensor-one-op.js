// Size-budget entry: the smallest useful program, one tensor op on the CPU backend.
// Bundled by size-limit (esbuild, minified) against the packages' built dist; see .size-limit.js.
import { cpuBackend } from "@dl/backend-cpu";
import { add, registerBackend, tensor } from "@dl/tensor";

registerBackend(cpuBackend);
console.log(add(tensor([1, 2, 3]), tensor([4, 5, 6])));
