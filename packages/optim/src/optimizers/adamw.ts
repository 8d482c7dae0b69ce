import { mul_, neg } from "@dl/tensor";
import { checkBetas, checkNonNegative, Optimizer, type Params } from "../optimizer.js";
import { type AdamOptions, type AdamParamGroup, adamUpdate, fusedAdamStep, initAdamState } from "./adam.js";

export type AdamWOptions = AdamOptions;
export type AdamWParamGroup = AdamParamGroup;

/**
 * torch.optim.AdamW (Loshchilov & Hutter): Adam with decoupled weight decay,
 * p *= 1 - lr * weightDecay before the Adam step (default weightDecay 0.01).
 */
export class AdamW extends Optimizer<AdamWParamGroup> {
  protected override pytorchGroupExtras = { foreach: null, capturable: false };
  protected override tensorStateKeys = ["step"];

  constructor(params: Params<AdamWOptions>, options: AdamWOptions = {}) {
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 1e-2, amsgrad = false, maximize = false } = options;
    checkNonNegative("AdamW", "learning rate", lr);
    checkNonNegative("AdamW", "epsilon", eps);
    checkBetas("AdamW", betas);
    checkNonNegative("AdamW", "weight_decay", weightDecay);
    super(params, { lr, betas, eps, weightDecay, amsgrad, maximize });
  }

  protected updateGroup(group: AdamWParamGroup): void {
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = initAdamState(this.stateOf(p), p, group.amsgrad, (t) => this.keepState(t));
      state.step = (state.step as number) + 1;
      if (fusedAdamStep(p, p.grad, state, group, true)) continue;
      const grad = group.maximize ? neg(p.grad) : p.grad;
      mul_(p, 1 - group.lr * group.weightDecay);
      adamUpdate(p, grad, state, group);
    }
  }
}
