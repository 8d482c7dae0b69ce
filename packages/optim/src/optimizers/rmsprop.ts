import { add, add_, mul, mul_, neg, sqrt, sub, type Tensor, zerosLike } from "@dl/tensor";
import { addcdiv_, addcmul_, checkNonNegative, Optimizer, type ParamGroup, type Params } from "../optimizer.js";

export interface RMSpropOptions {
  lr?: number;
  /** Smoothing constant of the squared-gradient average. */
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  /** Normalize by the estimated variance of the gradient instead of its second moment. */
  centered?: boolean;
  maximize?: boolean;
}

export interface RMSpropParamGroup extends ParamGroup {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

/**
 * torch.optim.RMSprop (Hinton), with PyTorch's placement of eps (added to the square root) and
 * optional momentum and centering. State: "step" (a number, as PyTorch 1.13), "square_avg",
 * "momentum_buffer", "grad_avg".
 */
export class RMSprop extends Optimizer<RMSpropParamGroup> {
  protected override pytorchGroupExtras = { foreach: null, differentiable: false };

  constructor(params: Params<RMSpropOptions>, options: RMSpropOptions = {}) {
    const { lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0, centered = false, maximize = false } = options;
    checkNonNegative("RMSprop", "learning rate", lr);
    checkNonNegative("RMSprop", "epsilon", eps);
    checkNonNegative("RMSprop", "momentum", momentum);
    checkNonNegative("RMSprop", "weight_decay", weightDecay);
    checkNonNegative("RMSprop", "alpha", alpha);
    super(params, { lr, momentum, alpha, eps, centered, weightDecay, maximize });
  }

  protected updateGroup(group: RMSpropParamGroup): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = group;
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = this.stateOf(p);
      if (Object.keys(state).length === 0) {
        state.step = 0;
        state.square_avg = this.keepState(zerosLike(p));
        if (momentum > 0) state.momentum_buffer = this.keepState(zerosLike(p));
        if (centered) state.grad_avg = this.keepState(zerosLike(p));
      }
      state.step = (state.step as number) + 1;
      let grad = maximize ? neg(p.grad) : p.grad;
      if (weightDecay !== 0) grad = add(grad, p, { alpha: weightDecay });
      const squareAvg = state.square_avg as Tensor;
      mul_(squareAvg, alpha);
      addcmul_(squareAvg, grad, grad, 1 - alpha);
      let avg: Tensor;
      if (centered) {
        const gradAvg = state.grad_avg as Tensor;
        mul_(gradAvg, alpha);
        add_(gradAvg, grad, { alpha: 1 - alpha });
        avg = sqrt(sub(squareAvg, mul(gradAvg, gradAvg)));
      } else {
        avg = sqrt(squareAvg);
      }
      avg = add(avg, eps);
      if (momentum > 0) {
        const buf = state.momentum_buffer as Tensor;
        mul_(buf, momentum);
        addcdiv_(buf, grad, avg);
        add_(p, buf, { alpha: -lr });
      } else {
        addcdiv_(p, grad, avg, -lr);
      }
    }
  }
}
