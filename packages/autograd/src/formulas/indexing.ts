import { DLError, type Tensor, gatherOp, pad, scatterOp } from "@dl/tensor";
import type { BackwardContext, Formula } from "../node.js";
import { cmp, div, mul, where, zerosOf } from "./util.js";

/** The part of src that scatter reads: its leading index.shape block (src may be larger than index). */
function srcPart(src: Tensor, index: Tensor): Tensor {
  let s = src;
  index.shape.forEach((n, k) => {
    if (s.shape[k] !== n) s = s.narrow(k, 0, n);
  });
  return s;
}

/** A gradient for that block, zero-padded to src's shape. */
function toSrcShape(g: Tensor, srcShape: readonly number[]): Tensor {
  if (g.shape.every((n, k) => n === srcShape[k])) return g;
  const padding: number[] = [];
  for (let k = g.ndim - 1; k >= 0; k--) padding.push(0, (srcShape[k] as number) - (g.shape[k] as number));
  return pad(g, padding);
}

/**
 * scatter_reduce's amax/amin backward (PyTorch's rule): the gradient of each output element is
 * shared evenly by every contributor equal to it, the base element included.
 */
function extremumBackward(c: BackwardContext, g: Tensor, dim: number, index: Tensor): [Tensor, Tensor] {
  const base = c.inputs[0] as Tensor;
  const src = srcPart(c.inputs[1] as Tensor, index);
  const out = c.output as Tensor;
  const value = gatherOp(out, dim, index);
  const baseIs = where(cmp("eq", base, out), 1, 0).to(g.dtype);
  const srcIs = where(cmp("eq", src, value), 1, 0).to(g.dtype);
  const count = scatterOp(baseIs, dim, index, srcIs, "add");
  const shared = div(g, count);
  return [mul(baseIs, shared), mul(srcIs, gatherOp(shared, dim, index))];
}

/**
 * scatter_reduce's prod backward (PyTorch's rule): the product of the other contributors, with
 * zeros handled by recomputing the product with the zero replaced by 1 where it is the only one.
 */
function prodBackward(c: BackwardContext, g: Tensor, dim: number, index: Tensor): [Tensor, Tensor] {
  const base = c.inputs[0] as Tensor;
  const src = srcPart(c.inputs[1] as Tensor, index);
  const out = c.output as Tensor;
  const maskedBase = where(cmp("eq", base, 0), 1, base);
  const gBase = div(mul(g, scatterOp(maskedBase, dim, index, src, "multiply")), maskedBase);
  const srcZero = cmp("eq", src, 0);
  const zerosAt = gatherOp(scatterOp(zerosOf(base.shape, g), dim, index, where(srcZero, 1, 0).to(g.dtype), "add"), dim, index);
  const singleZero = binaryAnd(srcZero, cmp("eq", zerosAt, 1));
  const withoutZero = scatterOp(base, dim, index, where(singleZero, 1, src), "multiply");
  const gSrc = where(singleZero, gatherOp(mul(g, withoutZero), dim, index), div(gatherOp(mul(g, out), dim, index), where(srcZero, 1, src)));
  return [gBase, gSrc];
}

const binaryAnd = (a: Tensor, b: Tensor) => where(a, b, false);

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
    // Only prod and amax/amin need the values; plain and additive scatters need shapes alone.
    saveInputs: (_ng, args) => args.reduce !== "none" && args.reduce !== "add",
    saveOutput: (args) => args.reduce !== "none" && args.reduce !== "add",
    backward(c, g) {
      const dim = c.args.dim as number;
      const index = c.args.index as Tensor;
      const reduce = c.args.reduce as string;
      const srcShape = c.inputShapes[1] as number[];
      let gBase: Tensor;
      let gSrc: Tensor;
      if (reduce === "none") {
        // Overwritten positions of the base receive no gradient; each src element gets its target's.
        gBase = scatterOp(g, dim, index, zerosOf(index.shape, g), "none");
        gSrc = gatherOp(g, dim, index);
      } else if (reduce === "add") {
        gBase = g;
        gSrc = gatherOp(g, dim, index);
      } else if (reduce === "multiply") {
        [gBase, gSrc] = prodBackward(c, g, dim, index);
      } else if (reduce === "amax" || reduce === "amin") {
        [gBase, gSrc] = extremumBackward(c, g, dim, index);
      } else {
        throw new DLError("backward", `the derivative of scatter with reduce='${reduce}' is not implemented`);
      }
      return [c.needsGrad[0] ? gBase : null, c.needsGrad[1] ? toSrcShape(gSrc, srcShape) : null];
    },
  },
};
