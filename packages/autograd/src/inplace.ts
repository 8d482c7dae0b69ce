import { type Tensor, fromHost, gatherOp, numel, scatterOp } from "@dl/tensor";
import { type Formula, attachNode } from "./node.js";
import { zerosOf } from "./formulas/util.js";

/**
 * In-place writes under autograd (PyTorch's "rebase history"). After x.op_(...) wrote `result`
 * into x's storage:
 * - x not a view: x's grad_fn becomes result's (the out-of-place op already links to x's old node).
 * - x a view of `base`: base gets a CopySlices node (gradient of the overwritten region goes to
 *   `result`, the rest to base's old history), and x becomes a view of the new base.
 */
export function rebase(x: Tensor, result: Tensor): void {
  const base = x._base;
  if (base === null || base === x) {
    if (result.requiresGrad) {
      x.gradFn = result.gradFn ?? null;
      x._requiresGrad = true;
      if (x.gradFn === null) attachNode(identity, [result], x, {});
    } else if (x.requiresGrad) {
      attachNode(overwritten, [x], x, {});
    }
    return;
  }
  const idx = viewIndexInBase(base, x);
  if (result.requiresGrad || base.requiresGrad) {
    attachNode(copySlices, [base, result], base, { idx });
    attachNode(viewOfBase, [base], x, { idx });
  }
}

/** For each element of `view`, the flat (row-major) index of the base element sharing its storage slot. */
function viewIndexInBase(base: Tensor, view: Tensor): Tensor {
  const slot = new Map<number, number>();
  let i = 0;
  walk(base.shape, base.strides, base.offset, (off) => slot.set(off, i++));
  const out = new Float64Array(numel(view.shape));
  let j = 0;
  walk(view.shape, view.strides, view.offset, (off) => {
    out[j++] = slot.get(off) ?? -1;
  });
  return fromHost(out, view.shape, { dtype: "int64", device: view.device });
}

function walk(shape: readonly number[], strides: readonly number[], offset: number, f: (off: number) => void): void {
  const rec = (d: number, off: number) => {
    if (d === shape.length) return f(off);
    for (let k = 0; k < (shape[d] as number); k++) rec(d + 1, off + k * (strides[d] as number));
  };
  rec(0, offset);
}

const identity: Formula = { name: "CopyBackwards", backward: (_c, g) => [g] };

const overwritten: Formula = {
  name: "FillBackward0",
  backward: (_c, g) => [zerosOf(g.shape, g)],
};

const copySlices: Formula = {
  name: "CopySlices",
  backward(c, g) {
    const idx = (c.args.idx as Tensor).reshape(-1);
    const flat = g.reshape(-1);
    const gBase = c.needsGrad[0] ? scatterOp(flat, 0, idx, zerosOf([idx.numel()], g), "none").view(g.shape) : null;
    const gResult = c.needsGrad[1] ? gatherOp(flat, 0, idx).view(c.inputShapes[1] as number[]) : null;
    return [gBase, gResult];
  },
};

const viewOfBase: Formula = {
  name: "AsStridedBackward0",
  backward(c, g) {
    const shape = c.inputShapes[0] as number[];
    const idx = (c.args.idx as Tensor).reshape(-1);
    const flat = zerosOf([numel(shape)], g);
    return [scatterOp(flat, 0, idx, g.reshape(-1), "add").view(shape)];
  },
};
