import { type Tensor, matmulOp } from "@dl/tensor";
import type { Formula } from "../node.js";

export const linalgFormulas: Record<string, Formula> = {
  matmul: {
    name: "BmmBackward0",
    // a is needed only for b's gradient and b only for a's.
    saveInputs: (ng) => [...(ng[1] ? [0] : []), ...(ng[0] ? [1] : [])],
    backward(c, g) {
      const a = c.inputs[0] as Tensor;
      const b = c.inputs[1] as Tensor;
      // Inputs are [B,M,K] and [B,K,N] views; a broadcast batch (stride 0) is reduced by expand's backward.
      return [
        c.needsGrad[0] ? matmulOp(g, b.transpose(1, 2), g.dtype) : null,
        c.needsGrad[1] ? matmulOp(a.transpose(1, 2), g, g.dtype) : null,
      ];
    },
  },
};
