// Size-budget entry: the smallest useful program, one tensor op on the CPU backend with only the
// kernels it uses (@dl/backend-cpu/core: the backend without kernels, plus the binary-op group).
// Bundled by size-limit (esbuild, minified) against the packages' built dist; see .size-limit.js.
import { attachKernels, binaryKernels } from "@dl/backend-cpu/core";
import { add, registerBackend, tensor } from "@dl/tensor";

registerBackend(attachKernels(binaryKernels));
console.log(add(tensor([1, 2, 3]), tensor([4, 5, 6])));
