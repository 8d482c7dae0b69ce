// Size-budget entry: one function from the @dl/nn/functional subpath (import { F } from "@dl/nn"
// keeps the whole namespace: the subpath lets a bundler keep only what is imported).
import { cpuBackend } from "@dl/backend-cpu";
import { gelu } from "@dl/nn/functional";
import { randn, registerBackend } from "@dl/tensor";

registerBackend(cpuBackend);
console.log(gelu(randn(4)).shape);
