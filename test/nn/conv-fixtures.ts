import "@dl/autograd";
import * as nn from "@dl/nn";
import { F, type Module } from "@dl/nn";
import { Tensor } from "@dl/tensor";
import { expect, it } from "vitest";
import { onDefaultDevice } from "../helpers/backends.js";
import { type TSpec, expectClose as expectCloseSpec, fromSpec as fromSpecExact, loadFixtures } from "../helpers/fixtures.js";

/**
 * Runs the PyTorch fixtures of tooling/fixtures/gen_nn_conv.py (test/fixtures/nn_conv.json):
 * functional cases (output, returned indices, gradients of every differentiable tensor for a
 * random upstream gradient), module cases (weights loaded by loadStateDict; output and gradients
 * of the input and every parameter) and reprs. On a device without float64 (the gpu) the float64
 * cases run in float32 against the same goldens.
 */

export interface FnCase {
  name: string;
  op: string;
  tensors: [string, TSpec | null, boolean][];
  args: unknown[];
  options: Record<string, unknown>;
  out: TSpec;
  upstream: TSpec;
  grads: (TSpec | null)[];
  indices?: TSpec;
}

export interface ModuleCase {
  name: string;
  ctor: [string, unknown[], Record<string, unknown>];
  state: Record<string, TSpec>;
  input: TSpec;
  forwardArgs: unknown[];
  out: TSpec;
  upstream: TSpec;
  inputGrad: TSpec;
  paramGrads: Record<string, TSpec>;
}

export const fixtures = loadFixtures("nn_conv") as { cases: FnCase[]; modules: ModuleCase[]; reprs: [string, unknown[], Record<string, unknown>, string][] };

// biome-ignore lint/suspicious/noExplicitAny: dispatch by name over F's functions and nn's classes
const anyF = F as any;
// biome-ignore lint/suspicious/noExplicitAny: idem
const anyNn = nn as any;

/** float32 results compare with a slightly looser tolerance: dl sums in another order than PyTorch's kernels. */
const tol = (spec: TSpec) => (spec.dtype === "float32" ? { rtol: 1e-4, atol: 1e-5 } : {});

const fromSpec = (spec: TSpec, options: { requiresGrad?: boolean } = {}): Tensor => fromSpecExact(onDefaultDevice(spec), options);
const expectClose = (actual: Tensor, spec: TSpec, options = tol(onDefaultDevice(spec))): void =>
  expectCloseSpec(actual, onDefaultDevice(spec), options);

export function runCase(c: FnCase): void {
  const tensors = c.tensors.map(([, spec, diff]) => (spec === null ? null : fromSpec(spec, { requiresGrad: diff })));
  const res = anyF[c.op](...tensors, ...c.args, c.options) as Tensor | [Tensor, Tensor];
  const [out, idx] = res instanceof Tensor ? [res, undefined] : res;
  expectClose(out, c.out);
  if (c.indices) {
    expect(idx, "indices returned").toBeInstanceOf(Tensor);
    expectClose(idx as Tensor, c.indices);
  }
  const leaves = tensors.filter((t, i) => t !== null && c.tensors[i]?.[2]) as Tensor[];
  if (!leaves.length) return;
  out.backward(fromSpec(c.upstream));
  leaves.forEach((t, i) => {
    const want = c.grads[i];
    if (want) expectClose(t.grad as Tensor, want);
  });
}

export function fnCases(filter: (c: FnCase) => boolean): void {
  for (const c of fixtures.cases.filter(filter)) it(c.name, () => runCase(c));
}

export function construct(cls: string, args: unknown[], options: Record<string, unknown>): Module {
  const Ctor = anyNn[cls];
  if (typeof Ctor !== "function") throw new Error(`no class nn.${cls}`);
  return new Ctor(...args, options) as Module;
}

export function runModuleCase(c: ModuleCase): void {
  const [cls, args, options] = c.ctor;
  const m = construct(cls, args, { ...options, dtype: onDefaultDevice({ dtype: "float64" as const }).dtype });
  m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, fromSpec(v)])));
  const x = fromSpec(c.input, { requiresGrad: true });
  // biome-ignore lint/suspicious/noExplicitAny: forward's extra arguments vary by class
  const out = (m as any).call(x, ...c.forwardArgs) as Tensor;
  expectClose(out, c.out);
  out.backward(fromSpec(c.upstream));
  expectClose(x.grad as Tensor, c.inputGrad);
  const params = Object.fromEntries(m.namedParameters());
  expect(Object.keys(params).sort()).toEqual(Object.keys(c.paramGrads).sort());
  for (const [k, g] of Object.entries(c.paramGrads)) expectClose(params[k]?.grad as Tensor, g);
}
