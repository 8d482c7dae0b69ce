import { DLError, ShapeError, type Tensor, fmtShape, onesLike } from "@dl/tensor";
import { runBackward } from "./engine.js";

export interface GradOptions {
  /** Upstream gradients, one per output (default: ones for scalar outputs). */
  gradOutputs?: readonly (Tensor | null)[] | Tensor;
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on (otherwise that is an error). */
  allowUnused?: boolean;
}

/** torch.autograd.grad: gradients of outputs w.r.t. inputs, without touching any .grad. */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs as Tensor];
  const ins = Array.isArray(inputs) ? inputs : [inputs as Tensor];
  const go = options.gradOutputs;
  const given: readonly (Tensor | null)[] = go === undefined ? [] : Array.isArray(go) ? go : [go as Tensor];
  for (const t of ins) if (!t.requiresGrad) throw new DLError("grad", "one of the differentiated tensors does not require grad");
  const grads = outs.map((o, i) => {
    if (!o.requiresGrad) throw new DLError("grad", `element ${i} of tensors does not require grad and does not have a gradFn`);
    const g = given[i];
    if (g) {
      if (g.shape.length !== o.shape.length || g.shape.some((s, k) => s !== o.shape[k])) {
        throw new ShapeError("grad", `mismatch in shape: gradOutputs[${i}] has shape ${fmtShape(g.shape)} and output[${i}] has shape ${fmtShape(o.shape)}`);
      }
      return g;
    }
    if (o.numel() !== 1) throw new DLError("grad", `grad can be implicitly created only for scalar outputs (output ${i} has shape ${fmtShape(o.shape)})`);
    return onesLike(o);
  });
  const res = runBackward(outs, grads, { retainGraph: options.retainGraph, createGraph: options.createGraph, capture: ins });
  return res.map((g, i) => {
    if (g === undefined) {
      if (!options.allowUnused) {
        throw new DLError("grad", `one of the differentiated tensors (input ${i}) appears to not have been used in the graph; set allowUnused: true if this is the desired behavior`);
      }
      return null;
    }
    return g;
  });
}
