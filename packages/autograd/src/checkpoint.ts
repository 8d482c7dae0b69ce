import { DLError, Tensor, defaultGenerator, gradState, tidy } from "@dl/tensor";
import { grad } from "./grad.js";
import { enableGrad, noGrad } from "./grad-mode.js";
import { type Formula, attachNode, saveHandle } from "./node.js";

/**
 * Gradient (activation) checkpointing: runs fn without keeping its intermediate tensors, and
 * recomputes them during backward. Trades compute for memory on deep chains. The random generator
 * state is replayed so dropout masks match the first run.
 */
export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, ...inputs: Tensor[]): Tensor {
  const rngState = defaultGenerator.getState();
  // tidy frees the intermediates at once: only the output survives the forward pass.
  const out = tidy(() => noGrad(() => fn(...inputs)));
  if (!(out instanceof Tensor)) throw new DLError("checkpoint", "the checkpointed function must return a Tensor");
  if (!gradState.enabled || !inputs.some((t) => t.requiresGrad)) return out;
  const saved = inputs.map((t) => saveHandle(t));
  const formula: Formula = {
    name: "CheckpointFunctionBackward",
    saved: () => saved,
    backward(_c, g) {
      const current = defaultGenerator.getState();
      defaultGenerator.setState(rngState);
      const detached = saved.map((t, i) => (inputs[i]?.requiresGrad ? t.detach().requiresGrad_(true) : t));
      const wanted = detached.filter((t, i) => inputs[i]?.requiresGrad && t.requiresGrad);
      const grads = tidy(() => {
        let y: Tensor;
        try {
          y = enableGrad(() => fn(...detached));
        } finally {
          defaultGenerator.setState(current);
        }
        return grad(y, wanted, { gradOutputs: g, allowUnused: true, createGraph: gradState.enabled });
      });
      let k = 0;
      return detached.map((_t, i) => (inputs[i]?.requiresGrad ? grads[k++] ?? null : null));
    },
  };
  const result = out.detach();
  attachNode(formula, inputs, result, {});
  return result;
}
