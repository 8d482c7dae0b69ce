import { DLError, type Tensor, gatherOp, scatterOp } from "@dl/tensor";
import type { Formula } from "../node.js";
import { zerosOf } from "./util.js";

export const indexingFormulas: Record<string, Formula> = {
  gather: {
    name: "GatherBackward0",
    backward(c, g) {
      const base = zerosOf(c.inputShapes[0] as number[], g);
      return [scatterOp(base, c.args.dim as number, c.args.index as Tensor, g, "add")];
    },
  },
  scatter: {
    name: "ScatterBackward0",
    saveInputs: [1],
    backward(c, g) {
      const dim = c.args.dim as number;
      const index = c.args.index as Tensor;
      const reduce = c.args.reduce as string;
      if (reduce !== "none" && reduce !== "add") {
        throw new DLError("backward", `the derivative of scatter with reduce='${reduce}' is not implemented`);
      }
      const src = c.inputs[1] as Tensor;
      // Overwritten positions of the base receive no gradient; added ones pass it through.
      const gBase = c.needsGrad[0] ? (reduce === "add" ? g : scatterOp(g, dim, index, zerosOf(src.shape, g), "none")) : null;
      const gSrc = c.needsGrad[1] ? gatherOp(g, dim, index) : null;
      return [gBase, gSrc];
    },
  },
};
