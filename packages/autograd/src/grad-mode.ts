import { gradState } from "@dl/tensor";

/** Runs fn with gradient recording set to `enabled`, restoring the previous mode afterwards. */
function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradState.enabled;
  gradState.enabled = enabled;
  try {
    return fn();
  } finally {
    gradState.enabled = prev;
  }
}

/** torch.no_grad(): nothing computed inside fn is recorded. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** torch.enable_grad(): recording inside fn even within noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

/** torch.inference_mode(): like noGrad (dl keeps no extra per-tensor bookkeeping to skip). */
export function inferenceMode<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** torch.set_grad_enabled(mode). */
export function setGradEnabled(enabled: boolean): void {
  gradState.enabled = enabled;
}

export function isGradEnabled(): boolean {
  return gradState.enabled;
}
