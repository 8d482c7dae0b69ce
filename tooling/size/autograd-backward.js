// Size-budget entry: one op and its backward pass (the autograd engine with every formula).

import { grad } from "@dl/autograd";
import { cpuBackend } from "@dl/backend-cpu";
import { mul, registerBackend, tensor } from "@dl/tensor";

registerBackend(cpuBackend);
const x = tensor([1, 2, 3], { requiresGrad: true });
console.log(grad(mul(x, x), [x], { gradOutputs: tensor([1, 1, 1]) }));
