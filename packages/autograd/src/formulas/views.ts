import { type Tensor, arange, gradState, numel, scatterOp } from "@dl/tensor";
import type { BackwardContext, Formula } from "../node.js";
import { sumToShape, zerosOf } from "./util.js";

/**
 * Gradient of a view that selects a subset of its input (slice, select, diagonal, unfold):
 * replay the view on a tensor of flat indices to learn where each element came from, then
 * scatter-add the gradient there. Overlapping windows (unfold) accumulate correctly.
 */
function embed(c: BackwardContext, g: Tensor, replay: (idx: Tensor) => Tensor, overlapping = false): Tensor {
  const shape = c.inputShapes[0] as number[];
  if (!gradState.enabled && !overlapping) {
    // First-order backward of a non-overlapping view: write the gradient into the same view of a
    // zero tensor (one fill and one strided copy instead of index building and a scatter).
    const z = zerosOf(shape, g);
    replay(z).copy_(g);
    return z;
  }
  const idx = replay(arange(numel(shape), { device: g.device }).view(shape)).reshape(-1);
  const flat = zerosOf([numel(shape)], g);
  return scatterOp(flat, 0, idx, g.reshape(-1), "add").view(shape);
}

export const viewFormulas: Record<string, Formula> = {
  view: { name: "ViewBackward0", backward: (c, g) => [g.reshape(c.inputShapes[0] as number[])] },
  permute: {
    name: "PermuteBackward0",
    backward(c, g) {
      const dims = c.args.dims as number[];
      const n = dims.length;
      const inverse = new Array<number>(n);
      dims.forEach((d, i) => {
        inverse[d < 0 ? d + n : d] = i;
      });
      return [g.permute(inverse)];
    },
  },
  transpose: { name: "TransposeBackward0", backward: (c, g) => [g.transpose(c.args.dim0 as number, c.args.dim1 as number)] },
  expand: { name: "ExpandBackward0", backward: (c, g) => [sumToShape(g, c.inputShapes[0] as number[])] },
  slice: {
    name: "SliceBackward0",
    backward(c, g) {
      const { dim, start, step } = c.args as { dim: number; start: number; step: number };
      const len = g.shape[dim] as number;
      return [embed(c, g, (i) => i.slice(dim, start, start + len * step, step))];
    },
  },
  select: {
    name: "SelectBackward0",
    backward: (c, g) => [embed(c, g, (i) => i.select(c.args.dim as number, c.args.index as number))],
  },
  diagonal: {
    name: "DiagonalBackward0",
    backward: (c, g) => [embed(c, g, (i) => i.diagonal(c.args.offset as number, c.args.dim1 as number, c.args.dim2 as number))],
  },
  unfold: {
    name: "UnfoldBackward0",
    backward: (c, g) => [embed(c, g, (i) => i.unfold(c.args.dim as number, c.args.size as number, c.args.step as number), true)],
  },
  copy: {
    name: "ToCopyBackward0",
    // clone() and contiguous() copy without converting: PyTorch's CloneBackward0.
    nameFor: (inputs, output) => (inputs[0]?.dtype === output.dtype && inputs[0]?.device === output.device ? "CloneBackward0" : "ToCopyBackward0"),
    backward: (c, g) => [g.to({ dtype: c.inputDtypes[0], device: c.inputDevices[0] })],
  },
};
