import { ArgumentError, add, add_, fusedKernel, mul_, neg, type Tensor, zerosLike } from "@dl/tensor";
import { checkNonNegative, fusedStepFits, markWritten, Optimizer, type ParamGroup, type Params, required } from "../optimizer.js";

export interface SGDOptions {
  /** Learning rate (required, here or in every parameter group). */
  lr?: number;
  momentum?: number;
  dampening?: number;
  /** L2 penalty added to the gradient. */
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

export interface SGDParamGroup extends ParamGroup {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/**
 * torch.optim.SGD: stochastic gradient descent with optional momentum (PyTorch's formulation:
 * buf = momentum * buf + (1 - dampening) * g, p -= lr * buf), Nesterov momentum, weight decay and
 * maximize. State: "momentum_buffer" (null while momentum is 0, as in PyTorch).
 */
export class SGD extends Optimizer<SGDParamGroup> {
  protected override pytorchGroupExtras = { foreach: null, differentiable: false };

  constructor(params: Params<SGDOptions>, options: SGDOptions = {}) {
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, maximize = false } = options;
    if (lr !== undefined) checkNonNegative("SGD", "learning rate", lr);
    checkNonNegative("SGD", "momentum", momentum);
    checkNonNegative("SGD", "weight_decay", weightDecay);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new ArgumentError("SGD", "Nesterov momentum requires a momentum and zero dampening");
    }
    super(params, { lr: lr ?? required, momentum, dampening, weightDecay, nesterov, maximize });
  }

  protected updateGroup(group: SGDParamGroup): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    for (const p of group.params) {
      const g = p.grad;
      if (g === null) continue;
      const state = this.stateOf(p);
      if (this.fusedStep(p, g, state, group)) continue;
      let dp: Tensor = maximize ? neg(g) : g;
      if (weightDecay !== 0) dp = add(dp, p, { alpha: weightDecay });
      if (momentum !== 0) {
        let buf = (state.momentum_buffer ?? null) as Tensor | null;
        if (buf === null) {
          buf = this.keepState(dp.clone().detach());
        } else {
          mul_(buf, momentum);
          add_(buf, dp, { alpha: 1 - dampening });
        }
        state.momentum_buffer = buf;
        dp = nesterov ? add(dp, buf, { alpha: momentum }) : buf;
      } else {
        state.momentum_buffer = null;
      }
      add_(p, dp, { alpha: -lr });
    }
  }

  /** The step of p with the backend's fused kernel (in place; versions bumped), or false for the composed path. */
  private fusedStep(p: Tensor, g: Tensor, state: Record<string, unknown>, group: SGDParamGroup): boolean {
    const kernel = fusedKernel(p, "sgdStep");
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    const old = (state.momentum_buffer ?? null) as Tensor | null;
    if (!kernel || !fusedStepFits(p, momentum !== 0 && old !== null ? [p, g, old] : [p, g])) return false;
    const buf = momentum === 0 ? null : (old ?? this.keepState(zerosLike(p)));
    kernel(p.ref, g.ref, buf?.ref ?? null, { lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep: old === null });
    state.momentum_buffer = buf;
    markWritten(p, ...(buf ? [buf] : []));
    return true;
  }
}
