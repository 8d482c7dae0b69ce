import { Tensor, fusedKernel, isGradEnabled, reduceOp } from "@dl/tensor";
import type { Formula } from "../node.js";
import { mul, sub, un } from "./util.js";

/**
 * The "softmax" primitive @dl/tensor records when a backend computed softmax (args.log: logSoftmax)
 * with its fused kernel. The gradient uses the fused backward kernel too, except under createGraph,
 * where it must itself be recorded and is composed from primitives.
 */
export const softmaxFormulas: Record<string, Formula> = {
  softmax: {
    name: "SoftmaxBackward0",
    nameFor: (_inputs, _output, args) => (args.log ? "LogSoftmaxBackward0" : "SoftmaxBackward0"),
    saveOutput: true,
    backward(c, g) {
      const y = c.output as Tensor;
      const dim = c.args.dim as number;
      const log = c.args.log as boolean;
      const kernel = fusedKernel(y, "softmaxBackward");
      if (kernel && !isGradEnabled()) return [Tensor.fromData(y.backend, y.device, kernel(y.ref, g.ref, dim, log), y.dtype, y.shape)];
      const dims = y.ndim === 0 ? [] : [dim];
      if (log) return [sub(g, mul(un("exp", y), reduceOp("sum", g, dims, true, g.dtype)))];
      return [mul(y, sub(g, reduceOp("sum", mul(g, y), dims, true, g.dtype)))];
    },
  },
};
