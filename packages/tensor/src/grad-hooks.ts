import type { Tensor } from "./tensor.js";

/**
 * The seam between @dl/tensor and @dl/autograd. Tensor primitives report what they computed to a
 * recorder, which @dl/autograd installs; without it (inference-only bundles) recording costs one
 * branch and no autograd code is bundled.
 */
export interface GradRecorder {
  /** Called after a differentiable primitive produced `output` from `inputs`; `args` are its parameters. */
  record(op: string, inputs: readonly Tensor[], output: Tensor, args: Readonly<Record<string, unknown>>): void;
  backward(t: Tensor, gradient: Tensor | undefined, options: { retainGraph?: boolean; createGraph?: boolean }): void;
}

export const gradState: { enabled: boolean; recorder: GradRecorder | null } = { enabled: true, recorder: null };

export function installGradRecorder(r: GradRecorder | null): void {
  gradState.recorder = r;
}

export function isGradEnabled(): boolean {
  return gradState.enabled;
}
