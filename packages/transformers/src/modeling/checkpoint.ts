import { defineFunction, enableGrad, type FunctionCtx, grad, noGrad } from "@dl/autograd";
import { defaultGenerator, type Tensor } from "@dl/tensor";

/**
 * Activation checkpointing of a block (transformers' gradient_checkpointing): forward keeps only
 * the block's input, backward recomputes the block and differentiates it with respect to the
 * input and the block's parameters. The random state is replayed so dropout masks match.
 */
export function checkpointBlock(fn: (h: Tensor) => Tensor, hidden: Tensor, params: readonly Tensor[]): Tensor {
  const rng = defaultGenerator.getState();
  const op = defineFunction("CheckpointBlockBackward", {
    forward(ctx: FunctionCtx, h: Tensor, ..._ps: Tensor[]) {
      ctx.saveForBackward(h);
      return noGrad(() => fn(h));
    },
    backward(ctx: FunctionCtx, g: Tensor) {
      const [saved] = ctx.savedTensors as [Tensor];
      const h = saved.detach().requiresGrad_(true);
      const current = defaultGenerator.getState();
      defaultGenerator.setState(rng);
      let y: Tensor;
      try {
        y = enableGrad(() => fn(h));
      } finally {
        defaultGenerator.setState(current);
      }
      const wanted = [h, ...params.filter((p) => p.requiresGrad)];
      const grads = grad(y, wanted, { gradOutputs: g, allowUnused: true });
      let k = 1;
      return [grads[0] ?? null, ...params.map((p) => (p.requiresGrad ? (grads[k++] ?? null) : null))];
    },
  });
  return op(hidden, ...params);
}
