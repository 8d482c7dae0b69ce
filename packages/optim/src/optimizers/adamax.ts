import { abs, add, add_, maximum, mul, mul_, neg, type Tensor, zerosLike } from "@dl/tensor";
import { addcdiv_, checkBetas, checkNonNegative, Optimizer, type ParamGroup, type Params } from "../optimizer.js";

export interface AdamaxOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}

export interface AdamaxParamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

/**
 * torch.optim.Adamax: Adam with the infinity norm, exp_inf = max(beta2 * exp_inf, |g| + eps).
 * State: "step" (0-dim float32 tensor in stateDict()), "exp_avg", "exp_inf".
 */
export class Adamax extends Optimizer<AdamaxParamGroup> {
  protected override pytorchGroupExtras = { foreach: null };
  protected override tensorStateKeys = ["step"];

  constructor(params: Params<AdamaxOptions>, options: AdamaxOptions = {}) {
    const { lr = 2e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0, maximize = false } = options;
    checkNonNegative("Adamax", "learning rate", lr);
    checkNonNegative("Adamax", "epsilon", eps);
    checkBetas("Adamax", betas);
    checkNonNegative("Adamax", "weight_decay", weightDecay);
    super(params, { lr, betas, eps, weightDecay, maximize });
  }

  protected updateGroup(group: AdamaxParamGroup): void {
    const { lr, eps, weightDecay, maximize } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      if (p.grad === null) continue;
      let grad = maximize ? neg(p.grad) : p.grad;
      const state = this.stateOf(p);
      if (Object.keys(state).length === 0) {
        state.step = 0;
        state.exp_avg = this.keepState(zerosLike(p));
        state.exp_inf = this.keepState(zerosLike(p));
      }
      const step = (state.step as number) + 1;
      state.step = step;
      if (weightDecay !== 0) grad = add(grad, p, { alpha: weightDecay });
      const expAvg = state.exp_avg as Tensor;
      const expInf = state.exp_inf as Tensor;
      mul_(expAvg, beta1);
      add_(expAvg, grad, { alpha: 1 - beta1 });
      expInf.copy_(maximum(mul(expInf, beta2), add(abs(grad), eps)));
      const clr = lr / (1 - beta1 ** step);
      addcdiv_(p, expAvg, expInf, -clr);
    }
  }
}
