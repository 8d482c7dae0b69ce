import { Adam, AdamW, type Optimizer, SGD } from "@dl/optim";
import { type Tensor, manualSeed, mul, randn, sum } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { countingCalls, expectClose, withoutKernels } from "../nn/fused-helpers.js";

/**
 * Adam, AdamW and SGD through the backend's fused in-place steps against the composed update
 * (the kernels removed from the backend's table), over several steps with fresh gradients.
 * PyTorch's trajectories and state dicts are checked by optimizers.test.ts, which now runs the
 * fused steps.
 */
const KERNELS = ["adamStep", "sgdStep"] as const;

type Make = (params: Tensor[]) => Optimizer;
const configs: [string, Make][] = [
  ["Adam", (p) => new Adam(p, { lr: 0.01 })],
  ["Adam amsgrad + weightDecay", (p) => new Adam(p, { lr: 0.02, betas: [0.8, 0.99], weightDecay: 0.01, amsgrad: true })],
  ["Adam maximize", (p) => new Adam(p, { lr: 0.01, maximize: true })],
  ["AdamW", (p) => new AdamW(p, { lr: 0.01 })],
  ["AdamW amsgrad + maximize", (p) => new AdamW(p, { lr: 0.02, weightDecay: 0.1, amsgrad: true, maximize: true })],
  ["SGD", (p) => new SGD(p, { lr: 0.1 })],
  ["SGD momentum", (p) => new SGD(p, { lr: 0.05, momentum: 0.9 })],
  ["SGD dampening + weightDecay", (p) => new SGD(p, { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 })],
  ["SGD nesterov + weightDecay", (p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.001 })],
  ["SGD maximize", (p) => new SGD(p, { lr: 0.05, momentum: 0.5, maximize: true })],
];

/** Parameters and state after `steps` steps with seeded gradients, as host arrays. */
function train(make: Make, steps: number): number[][] {
  manualSeed(11);
  const params = [randn(5, 7), randn(7), randn(3, 2, 4)].map((t) => t.requiresGrad_());
  const opt = make(params);
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    // A loss whose gradient depends on the parameters, plus noise.
    params.forEach((p) => {
      sum(mul(mul(p, p), randn(p.shape))).backward();
    });
    opt.step();
  }
  const state = params.flatMap((p) =>
    Object.values(opt.state.get(p) ?? {})
      .filter((v): v is Tensor => typeof v === "object" && v !== null)
      .map((t) => Array.from(t.dataSync())),
  );
  return [...params.map((p) => Array.from(p.dataSync())), ...state];
}

describeEachBackend("fused optimizer steps", (device) => {
  for (const [name, make] of configs) {
    const kernel = name.startsWith("SGD") ? "sgdStep" : "adamStep";
    it(`${name}: the fused step equals the composed update over 6 steps (parameters and state)`, () => {
      const [fused, calls] = countingCalls(device, KERNELS, () => train(make, 6));
      expect(calls[kernel]).toBe(6 * 3);
      const generic = withoutKernels(device, KERNELS, () => train(make, 6));
      expect(fused.length).toBe(generic.length);
      fused.forEach((v, i) => expectClose(v, generic[i] as number[], `tensor ${i}`, 2e-6));
    });
  }

  it("the fused step bumps the version of the parameter and its state, as in-place ops do", () => {
    const p = randn(4).requiresGrad_();
    const opt = new Adam([p], { lr: 0.1, amsgrad: true });
    sum(mul(p, p)).backward();
    opt.step();
    const state = opt.state.get(p) as Record<string, Tensor>;
    const versions = () => [p, state.exp_avg, state.exp_avg_sq, state.max_exp_avg_sq].map((t) => (t as Tensor)._storage.version);
    const before = versions();
    const [, calls] = countingCalls(device, KERNELS, () => opt.step());
    expect(calls.adamStep).toBe(1);
    versions().forEach((v, i) => expect(v, `tensor ${i}`).toBeGreaterThan(before[i] as number));
  });

  it("a parameter that is not contiguous takes the composed update", () => {
    manualSeed(12);
    const p = randn(3, 4).t().detach().requiresGrad_();
    const q = p.detach().clone().requiresGrad_();
    const g = randn(4, 3);
    for (const t of [p, q]) sum(mul(t, g)).backward();
    const [, calls] = countingCalls(device, KERNELS, () => new SGD([p], { lr: 0.1, momentum: 0.9 }).step());
    expect(calls.sgdStep).toBe(0);
    new SGD([q], { lr: 0.1, momentum: 0.9 }).step();
    expectClose(Array.from(p.dataSync()), Array.from(q.dataSync()), "parameter", 1e-6);
  });
});
