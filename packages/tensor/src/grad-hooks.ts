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
  /**
   * An in-place write replaced x's values with `result` (computed out of place and recorded):
   * x, and its base when x is a view, must take on result's history.
   */
  rebase(x: Tensor, result: Tensor): void;
  /** Just before `value` is written into x's storage in place: keep what value's backward saved from it. */
  prepareWrite(x: Tensor, value: Tensor): void;
  /** Tensors saved by the graphs behind `roots`: tidy() keeps them with the roots. */
  reachableSaved(roots: readonly Tensor[]): Tensor[];
  /** Names the node that produced `t` after the composite op that made it (MeanBackward0, ...). */
  label(t: Tensor, name: string, inputs?: readonly Tensor[]): void;
}

export const gradState: { enabled: boolean; recorder: GradRecorder | null } = { enabled: true, recorder: null };

export function installGradRecorder(r: GradRecorder | null): void {
  gradState.recorder = r;
}

export function isGradEnabled(): boolean {
  return gradState.enabled;
}

/**
 * Composite ops (mean = sum / n, ...) call this on their result so that gradFn carries PyTorch's
 * name for the op rather than the name of the last primitive; with `inputs`, gradFn.nextFunctions
 * shows the composite's inputs as PyTorch does (backward still runs through the primitives).
 */
export function labelGrad(t: Tensor, name: string, inputs?: readonly Tensor[]): Tensor {
  if (t.gradFn !== null) gradState.recorder?.label(t, name, inputs);
  return t;
}
