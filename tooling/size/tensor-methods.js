// Size-budget entry: one op as a Tensor method (import "@dl/tensor/methods" installs every op that
// PyTorch has as both torch.f(x) and x.f() on Tensor), with only the binary-op kernels. Against the
// one-op entry this is the price of the method table; see .size-limit.js.
import "@dl/tensor/methods";
import { attachKernels, binaryKernels } from "@dl/backend-cpu/core";
import { registerBackend, tensor } from "@dl/tensor";

registerBackend(attachKernels(binaryKernels));
console.log(tensor([1, 2, 3]).add(tensor([4, 5, 6])));
