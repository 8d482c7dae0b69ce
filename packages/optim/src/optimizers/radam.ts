import { add, add_, div, mul, mul_, reciprocal, sqrt, type Tensor, zerosLike } from "@dl/tensor";
import { addcmul_, checkBetas, checkNonNegative, Optimizer, type ParamGroup, type Params } from "../optimizer.js";

export interface RAdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export interface RAdamParamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/**
 * torch.optim.RAdam (Liu et al.): Adam with the variance rectification term, falling back to
 * SGD with momentum while the rectification is intractable (rho_t <= 5). State: "step" (0-dim
 * float32 tensor in stateDict()), "exp_avg", "exp_avg_sq". PyTorch 1.13's RAdam has no maximize.
 */
export class RAdam extends Optimizer<RAdamParamGroup> {
  protected override pytorchGroupExtras = { foreach: null };
  protected override tensorStateKeys = ["step"];

  constructor(params: Params<RAdamOptions>, options: RAdamOptions = {}) {
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 } = options;
    checkNonNegative("RAdam", "learning rate", lr);
    checkNonNegative("RAdam", "epsilon", eps);
    checkBetas("RAdam", betas);
    checkNonNegative("RAdam", "weight_decay", weightDecay);
    super(params, { lr, betas, eps, weightDecay });
  }

  protected updateGroup(group: RAdamParamGroup): void {
    const { lr, eps, weightDecay } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      if (p.grad === null) continue;
      let grad = p.grad;
      const state = this.stateOf(p);
      if (Object.keys(state).length === 0) {
        state.step = 0;
        state.exp_avg = this.keepState(zerosLike(p));
        state.exp_avg_sq = this.keepState(zerosLike(p));
      }
      const step = (state.step as number) + 1;
      state.step = step;
      const biasCorrection1 = 1 - beta1 ** step;
      const biasCorrection2 = 1 - beta2 ** step;
      if (weightDecay !== 0) grad = add(grad, p, { alpha: weightDecay });
      const expAvg = state.exp_avg as Tensor;
      const expAvgSq = state.exp_avg_sq as Tensor;
      mul_(expAvg, beta1);
      add_(expAvg, grad, { alpha: 1 - beta1 });
      mul_(expAvgSq, beta2);
      addcmul_(expAvgSq, grad, grad, 1 - beta2);
      const corrected = div(expAvg, biasCorrection1);
      const rhoInf = 2 / (1 - beta2) - 1;
      const rhoT = rhoInf - (2 * step * beta2 ** step) / biasCorrection2;
      if (rhoT > 5.0) {
        const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
        // sqrt(bc2) / (sqrt(v) + eps), as Python's float / Tensor: reciprocal, then multiply.
        const adaptiveLr = mul(reciprocal(add(sqrt(expAvgSq), eps)), Math.sqrt(biasCorrection2));
        add_(p, mul(mul(mul(corrected, lr), adaptiveLr), rect), { alpha: -1.0 });
      } else {
        add_(p, mul(corrected, lr), { alpha: -1.0 });
      }
    }
  }
}
