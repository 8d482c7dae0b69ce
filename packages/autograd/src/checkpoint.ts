import { DLError, Tensor, defaultGenerator, gradState, tidy } from "@dl/tensor";
import { runBackward } from "./engine.js";
import { enableGrad, noGrad } from "./grad-mode.js";
import { type Formula, attachNode, saveHandle } from "./node.js";

/**
 * Gradient (activation) checkpointing: runs fn without keeping its intermediate tensors, and
 * recomputes them during backward. Trades compute for memory on deep chains. The random generator
 * state is replayed so dropout masks match the first run.
 *
 * As PyTorch's checkpoint, every tensor fn uses gets its gradient, not only the inputs: backward
 * runs the recomputed graph like loss.backward() does, accumulating into the .grad of the leaves
 * fn closes over (a layer's parameters), and hands the inputs' gradients on through the graph. So,
 * as with PyTorch's reentrant checkpoint, grad(outputs, inputs) through a checkpoint still
 * accumulates into those parameters' .grad; pass them as inputs to receive them from grad().
 */
export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, ...inputs: Tensor[]): Tensor {
  const rngState = defaultGenerator.getState();
  // When an input requires grad the result does, and fn runs without recording (tidy frees its
  // intermediates at once: only the output survives the forward pass). Otherwise it is recorded only
  // to learn whether the result depends on a tensor fn closes over (parameters); returning a
  // detached view lets tidy free that graph with the intermediates.
  let needsGraph = gradState.enabled && inputs.some((t) => t.requiresGrad);
  const out = tidy(() => {
    const y = needsGraph || !gradState.enabled ? noGrad(() => fn(...inputs)) : fn(...inputs);
    if (!(y instanceof Tensor)) throw new DLError("checkpoint", "the checkpointed function must return a Tensor");
    if (!y.requiresGrad) return y;
    needsGraph = true;
    return y.detach();
  });
  if (!needsGraph) return out;
  const saved = inputs.map((t) => saveHandle(t));
  const formula: Formula = {
    name: "CheckpointFunctionBackward",
    saved: () => saved,
    backward(_c, g) {
      const current = defaultGenerator.getState();
      defaultGenerator.setState(rngState);
      const detached = saved.map((t, i) => (inputs[i]?.requiresGrad ? t.detach().requiresGrad_(true) : t));
      tidy(() => {
        let y: Tensor;
        try {
          y = enableGrad(() => fn(...detached));
        } finally {
          defaultGenerator.setState(current);
        }
        if (y.requiresGrad) runBackward([y], [g], { createGraph: gradState.enabled });
      });
      // The detached inputs are leaves of the recomputed graph: their .grad is what reached them.
      return detached.map((t, i) => (inputs[i]?.requiresGrad ? t.grad : null));
    },
  };
  const result = out.detach();
  attachNode(formula, inputs, result, {});
  return result;
}
