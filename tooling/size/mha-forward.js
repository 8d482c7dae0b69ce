// Size-budget entry: MultiheadAttention's forward alone on the CPU. It must not pull in recurrent,
// convolution or loss layers (nn's modules are separate files, and @dl/nn has no side effects).
import { cpuBackend } from "@dl/backend-cpu";
import { MultiheadAttention } from "@dl/nn";
import { randn, registerBackend } from "@dl/tensor";

registerBackend(cpuBackend);

const mha = new MultiheadAttention(16, 4, { batchFirst: true });
const x = randn(2, 5, 16);
const [out] = mha.call(x, x, x, { needWeights: false });
console.log(out.shape);
