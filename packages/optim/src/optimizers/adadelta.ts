import { ArgumentError, add, add_, div, mul, mul_, neg, sqrt, type Tensor, zerosLike } from "@dl/tensor";
import { addcmul_, checkNonNegative, Optimizer, pyRepr, type ParamGroup, type Params } from "../optimizer.js";

export interface AdadeltaOptions {
  /** Scales delta before it is applied (default 1). */
  lr?: number;
  /** Decay of the running averages. */
  rho?: number;
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}

export interface AdadeltaParamGroup extends ParamGroup {
  rho: number;
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

/** torch.optim.Adadelta (Zeiler). State: "step" (a number, as PyTorch 1.13), "square_avg", "acc_delta". */
export class Adadelta extends Optimizer<AdadeltaParamGroup> {
  protected override pytorchGroupExtras = { foreach: null };

  constructor(params: Params<AdadeltaOptions>, options: AdadeltaOptions = {}) {
    const { lr = 1.0, rho = 0.9, eps = 1e-6, weightDecay = 0, maximize = false } = options;
    checkNonNegative("Adadelta", "learning rate", lr);
    checkNonNegative("Adadelta", "rho", rho);
    if (!(rho <= 1)) throw new ArgumentError("Adadelta", `Invalid rho value: ${pyRepr(rho)}`);
    checkNonNegative("Adadelta", "epsilon", eps);
    checkNonNegative("Adadelta", "weight_decay", weightDecay);
    super(params, { lr, rho, eps, weightDecay, maximize });
  }

  protected updateGroup(group: AdadeltaParamGroup): void {
    const { lr, rho, eps, weightDecay, maximize } = group;
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = this.stateOf(p);
      if (Object.keys(state).length === 0) {
        state.step = 0;
        state.square_avg = this.keepState(zerosLike(p));
        state.acc_delta = this.keepState(zerosLike(p));
      }
      state.step = (state.step as number) + 1;
      let grad = maximize ? neg(p.grad) : p.grad;
      if (weightDecay !== 0) grad = add(grad, p, { alpha: weightDecay });
      const squareAvg = state.square_avg as Tensor;
      const accDelta = state.acc_delta as Tensor;
      mul_(squareAvg, rho);
      addcmul_(squareAvg, grad, grad, 1 - rho);
      const std = sqrt(add(squareAvg, eps));
      const delta = mul(div(sqrt(add(accDelta, eps)), std), grad);
      mul_(accDelta, rho);
      addcmul_(accDelta, delta, delta, 1 - rho);
      add_(p, delta, { alpha: -lr });
    }
  }
}
