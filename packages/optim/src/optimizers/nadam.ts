import { add, add_, div, mul_, sqrt, type Tensor, zerosLike } from "@dl/tensor";
import { addcdiv_, addcmul_, checkBetas, checkNonNegative, Optimizer, type ParamGroup, type Params } from "../optimizer.js";

export interface NAdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Momentum decay psi of the mu_t schedule. */
  momentumDecay?: number;
}

export interface NAdamParamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  momentumDecay: number;
}

const f32 = Math.fround;

/**
 * torch.optim.NAdam (Dozat): Adam with Nesterov momentum and the mu_t = beta1 (1 - 0.5 * 0.96^(t psi))
 * schedule. State: "step", "mu_product" (0-dim float32 tensors in PyTorch; the product is
 * accumulated in float32 here too), "exp_avg", "exp_avg_sq". PyTorch 1.13's NAdam has no maximize.
 */
export class NAdam extends Optimizer<NAdamParamGroup> {
  protected override pytorchGroupExtras = { foreach: null };
  protected override tensorStateKeys = ["step", "mu_product"];

  constructor(params: Params<NAdamOptions>, options: NAdamOptions = {}) {
    const { lr = 2e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0, momentumDecay = 4e-3 } = options;
    checkNonNegative("NAdam", "learning rate", lr);
    checkNonNegative("NAdam", "epsilon", eps);
    checkBetas("NAdam", betas);
    checkNonNegative("NAdam", "weight_decay", weightDecay);
    checkNonNegative("NAdam", "momentum_decay", momentumDecay);
    super(params, { lr, betas, eps, weightDecay, momentumDecay });
  }

  protected updateGroup(group: NAdamParamGroup): void {
    const { lr, eps, weightDecay, momentumDecay } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      if (p.grad === null) continue;
      let grad = p.grad;
      const state = this.stateOf(p);
      if (Object.keys(state).length === 0) {
        state.step = 0;
        state.mu_product = 1;
        state.exp_avg = this.keepState(zerosLike(p));
        state.exp_avg_sq = this.keepState(zerosLike(p));
      }
      const step = (state.step as number) + 1;
      state.step = step;
      const biasCorrection2 = 1 - beta2 ** step;
      if (weightDecay !== 0) grad = add(grad, p, { alpha: weightDecay });
      const mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentumDecay));
      const muNext = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentumDecay));
      // mu_product is a float32 tensor in PyTorch: every product rounds to float32. PyTorch 1.13
      // computes mu_product_next = mu_product * mu * mu_next after mu_product *= mu (mu counted
      // twice; later versions changed this); dl follows 1.13.
      const muProduct = f32((state.mu_product as number) * f32(mu));
      state.mu_product = muProduct;
      const muProductNext = f32(f32(muProduct * f32(mu)) * f32(muNext));
      const expAvg = state.exp_avg as Tensor;
      const expAvgSq = state.exp_avg_sq as Tensor;
      mul_(expAvg, beta1);
      add_(expAvg, grad, { alpha: 1 - beta1 });
      mul_(expAvgSq, beta2);
      addcmul_(expAvgSq, grad, grad, 1 - beta2);
      const denom = add(sqrt(div(expAvgSq, biasCorrection2)), eps);
      addcdiv_(p, grad, denom, (-lr * (1.0 - mu)) / (1.0 - muProduct));
      addcdiv_(p, expAvg, denom, (-lr * muNext) / (1.0 - muProductNext));
    }
  }
}
