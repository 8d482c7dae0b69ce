import { add, full, neg, sqrt, type Tensor } from "@dl/tensor";
import { addcdiv_, addcmul_, checkNonNegative, Optimizer, type ParamGroup, type Params } from "../optimizer.js";

export interface AdagradOptions {
  lr?: number;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
  maximize?: boolean;
}

export interface AdagradParamGroup extends ParamGroup {
  lrDecay: number;
  eps: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  maximize: boolean;
}

/**
 * torch.optim.Adagrad (Duchi et al.): clr = lr / (1 + (step - 1) * lrDecay), p -= clr * g / (sqrt(sum) + eps).
 * As in PyTorch, the state ("step", "sum") of the constructor's parameters exists from the start
 * (parameters of groups added later get theirs at their first step).
 */
export class Adagrad extends Optimizer<AdagradParamGroup> {
  protected override pytorchGroupExtras = { foreach: null };
  protected override tensorStateKeys = ["step"];

  constructor(params: Params<AdagradOptions>, options: AdagradOptions = {}) {
    const { lr = 1e-2, lrDecay = 0, weightDecay = 0, initialAccumulatorValue = 0, eps = 1e-10, maximize = false } = options;
    checkNonNegative("Adagrad", "learning rate", lr);
    checkNonNegative("Adagrad", "lr_decay", lrDecay);
    checkNonNegative("Adagrad", "weight_decay", weightDecay);
    checkNonNegative("Adagrad", "initial_accumulator_value", initialAccumulatorValue);
    checkNonNegative("Adagrad", "epsilon", eps);
    super(params, { lr, lrDecay, eps, weightDecay, initialAccumulatorValue, maximize });
    for (const group of this.paramGroups) for (const p of group.params) this.initState(p, group);
  }

  private initState(p: Tensor, group: AdagradParamGroup): Record<string, unknown> {
    const state = this.stateOf(p);
    if (state.sum === undefined) {
      state.step = 0;
      state.sum = this.keepState(full(p.shape, group.initialAccumulatorValue, { dtype: p.dtype, device: p.device }));
    }
    return state;
  }

  protected updateGroup(group: AdagradParamGroup): void {
    const { lr, lrDecay, eps, weightDecay, maximize } = group;
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = this.initState(p, group);
      const step = (state.step as number) + 1;
      state.step = step;
      let grad = maximize ? neg(p.grad) : p.grad;
      if (weightDecay !== 0) grad = add(grad, p, { alpha: weightDecay });
      const clr = lr / (1 + (step - 1) * lrDecay);
      const sum = state.sum as Tensor;
      addcmul_(sum, grad, grad, 1);
      const std = add(sqrt(sum), eps);
      addcdiv_(p, grad, std, -clr);
    }
  }
}
