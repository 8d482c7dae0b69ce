import { type GradRecorder, type Tensor, installGradRecorder } from "@dl/tensor";
import { afterEach, beforeEach } from "vitest";

/**
 * A stand-in for @dl/autograd's recorder: marks outputs as requiring grad and keeps each op's
 * inputs, so a test can check that an op's result is built from recorded primitives (it will be
 * differentiable) and which gradFn name it carries, without any gradient formula.
 */
export interface FakeNode {
  op: string;
  inputs: readonly Tensor[];
  name?: string;
}

/** Whether `target` is among the recorded inputs behind `t`. */
export function reaches(t: Tensor, target: Tensor, seen = new Set<unknown>()): boolean {
  if (t === target) return true;
  const n = t.gradFn as FakeNode | null;
  if (n === null || seen.has(n)) return false;
  seen.add(n);
  return n.inputs.some((i) => reaches(i, target, seen));
}

const fake: GradRecorder = {
  record(op, inputs, output) {
    output._requiresGrad = true;
    output.gradFn = { op, inputs } satisfies FakeNode;
  },
  backward() {},
  rebase() {},
  prepareWrite() {},
  reachableSaved: () => [],
  label(t, name) {
    (t.gradFn as FakeNode).name = name;
  },
};

/** Installs the fake recorder around every test of the enclosing describe block. */
export function useFakeRecorder(): void {
  beforeEach(() => installGradRecorder(fake));
  afterEach(() => installGradRecorder(null));
}
