import { add, add_, div, fusedKernel, maximum, mul_, neg, sqrt, type Tensor, zerosLike } from "@dl/tensor";
import {
  addcdiv_,
  addcmul_,
  checkBetas,
  checkNonNegative,
  fusedStepFits,
  markWritten,
  Optimizer,
  type ParamGroup,
  type Params,
} from "../optimizer.js";

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** L2 penalty added to the gradient (AdamW decouples it instead). */
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

export interface AdamParamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

/**
 * The Adam/AdamW update of one parameter after the gradient has been prepared (PyTorch's
 * _single_tensor_adam / _single_tensor_adamw, non-capturable branch).
 */
export function adamUpdate(p: Tensor, grad: Tensor, state: Record<string, unknown>, group: AdamParamGroup): void {
  const [beta1, beta2] = group.betas;
  const expAvg = state.exp_avg as Tensor;
  const expAvgSq = state.exp_avg_sq as Tensor;
  mul_(expAvg, beta1);
  add_(expAvg, grad, { alpha: 1 - beta1 });
  mul_(expAvgSq, beta2);
  addcmul_(expAvgSq, grad, grad, 1 - beta2);
  const step = state.step as number;
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2 = 1 - beta2 ** step;
  const stepSize = group.lr / biasCorrection1;
  const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
  let denom: Tensor;
  if (group.amsgrad) {
    const maxSq = state.max_exp_avg_sq as Tensor;
    maxSq.copy_(maximum(maxSq, expAvgSq));
    denom = add(div(sqrt(maxSq), biasCorrection2Sqrt), group.eps);
  } else {
    denom = add(div(sqrt(expAvgSq), biasCorrection2Sqrt), group.eps);
  }
  addcdiv_(p, expAvg, denom, -stepSize);
}

/**
 * The Adam/AdamW step of p (state.step already counted) with the backend's fused kernel, when it
 * has one and the tensors fit; returns false to take the composed path. The kernel updates p and
 * the state in place, so their version counters are bumped here, as in-place ops do.
 */
export function fusedAdamStep(p: Tensor, grad: Tensor, state: Record<string, unknown>, group: AdamParamGroup, decoupled: boolean): boolean {
  const kernel = fusedKernel(p, "adamStep");
  const m = state.exp_avg as Tensor;
  const v = state.exp_avg_sq as Tensor;
  const vmax = group.amsgrad ? (state.max_exp_avg_sq as Tensor) : null;
  const written = vmax ? [p, m, v, vmax] : [p, m, v];
  if (!kernel || !fusedStepFits(p, [grad, ...written])) return false;
  const [beta1, beta2] = group.betas;
  const { lr, eps, weightDecay, amsgrad, maximize } = group;
  kernel(p.ref, grad.ref, m.ref, v.ref, vmax?.ref ?? null, {
    lr,
    beta1,
    beta2,
    eps,
    weightDecay,
    decoupled,
    step: state.step as number,
    amsgrad,
    maximize,
  });
  markWritten(...written);
  return true;
}

/**
 * torch.optim.Adam (Kingma & Ba) with L2 weight decay, AMSGrad and maximize. State: "step"
 * (a 0-dim float32 tensor in stateDict(), as PyTorch), "exp_avg", "exp_avg_sq", "max_exp_avg_sq".
 */
export class Adam extends Optimizer<AdamParamGroup> {
  protected override pytorchGroupExtras = { foreach: null, capturable: false, differentiable: false, fused: false };
  protected override tensorStateKeys = ["step"];

  constructor(params: Params<AdamOptions>, options: AdamOptions = {}) {
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0, amsgrad = false, maximize = false } = options;
    checkNonNegative("Adam", "learning rate", lr);
    checkNonNegative("Adam", "epsilon", eps);
    checkBetas("Adam", betas);
    checkNonNegative("Adam", "weight_decay", weightDecay);
    super(params, { lr, betas, eps, weightDecay, amsgrad, maximize });
  }

  protected updateGroup(group: AdamParamGroup): void {
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = initAdamState(this.stateOf(p), p, group.amsgrad, (t) => this.keepState(t));
      state.step = (state.step as number) + 1;
      if (fusedAdamStep(p, p.grad, state, group, false)) continue;
      let grad = group.maximize ? neg(p.grad) : p.grad;
      if (group.weightDecay !== 0) grad = add(grad, p, { alpha: group.weightDecay });
      adamUpdate(p, grad, state, group);
    }
  }
}

/** Adam's lazily created state. */
export function initAdamState(
  state: Record<string, unknown>,
  p: Tensor,
  amsgrad: boolean,
  keep: (t: Tensor) => Tensor,
): Record<string, unknown> {
  if (Object.keys(state).length === 0) {
    state.step = 0;
    state.exp_avg = keep(zerosLike(p));
    state.exp_avg_sq = keep(zerosLike(p));
    if (amsgrad) state.max_exp_avg_sq = keep(zerosLike(p));
  }
  return state;
}
