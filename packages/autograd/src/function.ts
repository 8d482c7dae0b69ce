import { DLError, Tensor, gradState } from "@dl/tensor";
import { noGrad } from "./grad-mode.js";
import { type Formula, attachNode, saveHandle } from "./node.js";

/** The ctx of a custom function (torch.autograd.Function's ctx). */
export class FunctionCtx {
  private saved: Tensor[] = [];
  private sources: Tensor[] = [];
  private owned: Tensor[] = [];
  /** Which tensor arguments need a gradient, in argument order. */
  needsInputGrad: boolean[] = [];
  /** Free-form storage for non-tensor values needed in backward. */
  readonly data: Record<string, unknown> = {};

  /**
   * Saves tensors for backward: inputs, or the tensor forward returns (as in PyTorch, a saved
   * output is the result with this function's node, so a backward built from ops differentiates
   * through it).
   */
  saveForBackward(...tensors: Tensor[]): void {
    this.sources = tensors;
    this.saved = tensors.map((t) => this.handle(t));
  }

  // Private handles that keep their autograd identity, so a backward written with tensor ops can
  // itself be differentiated; tidy() keeps them while the graph is reachable.
  private handle(t: Tensor): Tensor {
    const h = saveHandle(t);
    if (h !== t) this.owned.push(h);
    return h;
  }

  /** @internal Forward returned `out`, which became `result` (with the node): saved outputs follow it. */
  resolveOutput(out: Tensor, result: Tensor): void {
    this.saved = this.saved.map((h, i) => (this.sources[i] === out ? this.handle(result) : h));
    this.sources = [];
  }

  get savedTensors(): readonly Tensor[] {
    return this.saved;
  }

  /** @internal */
  release(): void {
    for (const t of this.owned) t.dispose();
    this.owned = [];
    this.saved = [];
    this.sources = [];
  }
}

export interface FunctionDef<A extends unknown[]> {
  forward(ctx: FunctionCtx, ...args: A): Tensor;
  /** One gradient per tensor argument (in order), or null where there is none. */
  backward(ctx: FunctionCtx, grad: Tensor): (Tensor | null)[] | Tensor | null;
}

/**
 * torch.autograd.Function: an op with a hand-written backward. Returns the op's `apply`:
 *   const Exp = defineFunction("Exp", { forward(ctx, x) {...}, backward(ctx, g) {...} });
 *   const y = Exp(x);
 * forward runs without recording; the result gets one node named `${name}Backward`.
 */
export function defineFunction<A extends unknown[]>(name: string, def: FunctionDef<A>): (...args: A) => Tensor {
  return (...args: A) => {
    const ctx = new FunctionCtx();
    const tensors = args.filter((a): a is Tensor => a instanceof Tensor);
    ctx.needsInputGrad = tensors.map((t) => t.requiresGrad);
    const out = noGrad(() => def.forward(ctx, ...args));
    if (!(out instanceof Tensor)) throw new DLError(name, "forward must return a Tensor");
    if (!gradState.enabled || !tensors.some((t) => t.requiresGrad)) {
      ctx.release();
      return out;
    }
    const formula: Formula = {
      name: `${name}Backward`,
      backward(_c, g) {
        const r = def.backward(ctx, g);
        const grads = Array.isArray(r) ? r : [r];
        if (grads.length !== tensors.length) {
          throw new DLError(`${name}.backward`, `returned ${grads.length} gradients, but forward got ${tensors.length} tensor arguments`);
        }
        return grads;
      },
      release: () => ctx.release(),
      saved: () => ctx.savedTensors,
    };
    const result = out.detach();
    attachNode(formula, tensors, result, {});
    ctx.resolveOutput(out, result);
    return result;
  };
}
