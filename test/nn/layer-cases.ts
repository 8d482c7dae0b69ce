import "@dl/autograd";
import { Module } from "@dl/nn";
import { type Tensor, isFloating } from "@dl/tensor";
import { expect, it } from "vitest";
import { type CloseOptions, type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";

/**
 * Runs the module cases of test/fixtures/nn_layers.json (tooling/fixtures/gen_nn_layers.py): repr,
 * state-dict keys, outputs and gradients w.r.t. every float input and every parameter for each
 * step, the state after the steps (running statistics, renormalized rows) and the eval output.
 */

export interface LayerStep {
  inputs: (TSpec | null)[];
  output: TSpec;
  upstream: TSpec;
  input_grads: (TSpec | null)[];
  param_grads: Record<string, TSpec | null>;
}

export interface LayerCase {
  name: string;
  train: boolean;
  repr?: string;
  state_keys?: string[];
  state?: Record<string, TSpec>;
  steps: LayerStep[];
  state_after?: Record<string, TSpec>;
  eval?: { inputs: (TSpec | null)[]; output: TSpec };
}

export const fixtures = loadFixtures("nn_layers") as { cases: LayerCase[]; reprs: Record<string, string> };

/** A functional case as a module (no parameters, no repr). */
export class Fn extends Module {
  constructor(private readonly fn: (...xs: Tensor[]) => Tensor) {
    super();
  }
  forward(...xs: Tensor[]): Tensor {
    return this.fn(...xs);
  }
}

const build = (s: TSpec | null, grad: boolean): Tensor | null => (s === null ? null : fromSpec(s, { requiresGrad: grad && isFloating(s.dtype) }));

export function runLayerCase(c: LayerCase, make: () => Module, tol: CloseOptions = {}): void {
  const m = make();
  if (c.repr !== undefined) expect(String(m)).toBe(c.repr);
  if (c.state_keys !== undefined) expect(Object.keys(m.stateDict())).toEqual(c.state_keys);
  if (c.state) m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, s]) => [k, fromSpec(s)])));
  m.train(c.train);
  const params = Object.fromEntries(m.namedParameters());
  c.steps.forEach((step, i) => {
    m.zeroGrad();
    const xs = step.inputs.map((s) => build(s, true));
    const y = (m.call as (...a: unknown[]) => Tensor)(...xs);
    expectClose(y, step.output, tol);
    y.backward(fromSpec(step.upstream));
    step.input_grads.forEach((g, k) => {
      if (g === null) return;
      const x = xs[k] as Tensor;
      expect(x.grad, `step ${i}: grad of input ${k}`).not.toBe(null);
      expectClose(x.grad as Tensor, g, tol);
    });
    for (const [name, g] of Object.entries(step.param_grads)) {
      const p = params[name];
      expect(p, `parameter ${name}`).toBeDefined();
      if (g === null) expect(p?.grad ?? null).toBe(null);
      else {
        expect(p?.grad, `step ${i}: grad of ${name}`).toBeTruthy();
        expectClose(p?.grad as Tensor, g, tol);
      }
    }
  });
  if (c.state_after) {
    const sd = m.stateDict();
    for (const [k, s] of Object.entries(c.state_after)) expectClose(sd[k] as Tensor, s, tol);
  }
  if (c.eval) {
    m.eval();
    const xs = c.eval.inputs.map((s) => build(s, false));
    expectClose((m.call as (...a: unknown[]) => Tensor)(...xs), c.eval.output, tol);
  }
}

/**
 * One test per fixture case whose name a factory claims. Every case named in `factories` must
 * exist in the fixture (so a renamed generator case cannot silently drop a test).
 */
export function layerCaseTests(factories: Record<string, () => Module>, tolerances: Record<string, CloseOptions> = {}): void {
  const byName = new Map(fixtures.cases.map((c) => [c.name, c]));
  for (const [name, make] of Object.entries(factories)) {
    it(name, () => {
      const c = byName.get(name);
      expect(c, `fixture case ${name}`).toBeDefined();
      runLayerCase(c as LayerCase, make, tolerances[name]);
    });
  }
}
