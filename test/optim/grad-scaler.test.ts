import { noGrad } from "@dl/autograd";
import { GradScaler, SGD } from "@dl/optim";
import { type Tensor, add, autocast, matmul, mean, mul, relu, sub, sum, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";

/**
 * Mixed-precision training: a 2-layer network under autocast (bfloat16 matrix products) with
 * GradScaler, against PyTorch 1.13 (tooling/fixtures/gen_optim.py, "grad_scaler"). Infinite and NaN
 * gradients are injected at fixed steps: those steps must be skipped and the scale must follow
 * PyTorch's backoff/growth sequence exactly.
 */

interface ScalerStep {
  loss: number;
  scaled_loss: TSpec;
  scale_before: number;
  skipped: boolean;
  scale: number;
  growth_tracker: number;
}

const gs = loadFixtures("optim").grad_scaler as {
  x: TSpec;
  y: TSpec;
  init: TSpec[];
  inject: Record<string, string>;
  lr: number;
  momentum: number;
  init_scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  steps: ScalerStep[];
  final: TSpec[];
  state_dict: Record<string, number>;
};

const decodeInject = (v: string): number => (v === "inf" ? Number.POSITIVE_INFINITY : v === "-inf" ? Number.NEGATIVE_INFINITY : Number.NaN);

describeEachBackend("GradScaler with autocast", () => {
  it("trains, skips steps with inf/NaN gradients and follows PyTorch's scale sequence", () => {
    const xs = fromSpec(gs.x);
    const ys = fromSpec(gs.y);
    const [w1, b1, w2] = gs.init.map((s) => fromSpec(s, { requiresGrad: true })) as [Tensor, Tensor, Tensor];
    const opt = new SGD([w1, b1, w2], { lr: gs.lr, momentum: gs.momentum });
    const scaler = new GradScaler({
      initScale: gs.init_scale,
      growthFactor: gs.growth_factor,
      backoffFactor: gs.backoff_factor,
      growthInterval: gs.growth_interval,
    });
    const losses: number[] = [];
    gs.steps.forEach((want, i) => {
      const step = i + 1;
      opt.zeroGrad();
      const out = autocast(() => matmul(relu(add(matmul(xs, w1), b1)), w2), { dtype: "bfloat16" });
      expect(out.dtype).toBe("bfloat16");
      const d = sub(out.float(), ys);
      const loss = mean(mul(d, d));
      const scaled = scaler.scale(loss);
      expectClose(scaled, want.scaled_loss, { rtol: 2e-2, atol: 1e-3 });
      scaled.backward();
      const inject = gs.inject[String(step)];
      if (inject !== undefined) {
        const target = inject === "nan" ? b1 : w1;
        noGrad(() => target.grad?.view(-1).narrow(0, 0, 1).fill_(decodeInject(inject)));
      }
      expect(scaler.getScale()).toBe(want.scale_before);
      const before = [w1, b1, w2].map((p) => Array.from(p.dataSync()));
      scaler.step(opt);
      const after = [w1, b1, w2].map((p) => Array.from(p.dataSync()));
      expect(after.every((a, j) => a.every((v, k) => v === before[j]?.[k])), `step ${step} skipped`).toBe(want.skipped);
      scaler.update();
      expect(scaler.getScale(), `scale after step ${step}`).toBe(want.scale);
      expect(scaler.stateDict()._growth_tracker, `growth tracker after step ${step}`).toBe(want.growth_tracker);
      losses.push(Number(loss.item()));
      expect(Math.abs(Number(loss.item()) - want.loss), `loss at step ${step}`).toBeLessThanOrEqual(2e-2 * want.loss);
    });
    expect(losses[losses.length - 1]).toBeLessThan((losses[0] as number) / 3);
    [w1, b1, w2].forEach((p, i) => expectClose(p, gs.final[i] as TSpec, { rtol: 2e-2, atol: 5e-3 }));
    expect(scaler.stateDict()).toEqual(gs.state_dict);
  });
});

describe("GradScaler", () => {
  it("unscale_ before step (gradient clipping), then step does not unscale again", () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const opt = new SGD([p], { lr: 1 });
    const scaler = new GradScaler({ initScale: 8 });
    const loss = scaler.scale(sum(mul(p, 3)));
    expect(loss.shape).toEqual([1]);
    expect(loss.dtype).toBe("float32");
    loss.backward();
    expect(p.grad?.tolist()).toEqual([24, 24]);
    scaler.unscale_(opt);
    expect(p.grad?.tolist()).toEqual([3, 3]);
    expect(() => scaler.unscale_(opt)).toThrow(/already been called/);
    scaler.step(opt);
    expect(p.tolist()).toEqual([-2, -1]);
    expect(() => scaler.step(opt)).toThrow(/already been called since the last update/);
    scaler.update();
    expect(scaler.getScale()).toBe(8);
  });

  it("grows the scale after growthInterval clean steps, never to infinity", () => {
    const p = tensor([1], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0 });
    const scaler = new GradScaler({ initScale: 2 ** 127, growthInterval: 1 });
    scaler.scale(p);
    p.grad = tensor([1]);
    scaler.step(opt);
    scaler.update();
    expect(scaler.getScale()).toBe(2 ** 127);
    scaler.update(4.0);
    expect(scaler.getScale()).toBe(4);
  });

  it("is a pass-through when disabled", () => {
    const p = tensor([1], { requiresGrad: true });
    const opt = new SGD([p], { lr: 1 });
    const scaler = new GradScaler({ enabled: false });
    const l = mul(p, 2);
    expect(scaler.scale(l)).toBe(l);
    p.grad = tensor([1]);
    scaler.step(opt);
    scaler.update();
    expect(p.tolist()).toEqual([0]);
    expect(scaler.getScale()).toBe(1);
    expect(scaler.stateDict()).toEqual({});
  });

  it("errors like PyTorch", () => {
    const p = tensor([1], { requiresGrad: true });
    const opt = new SGD([p], { lr: 1 });
    const scaler = new GradScaler();
    expect(() => scaler.step(opt)).toThrow(/not initialized/);
    expect(() => new GradScaler({ growthFactor: 0.5 })).toThrow(/growth factor must be > 1.0/);
    scaler.scale(p);
    expect(() => scaler.update()).toThrow(/no inf checks were recorded/);
    expect(() => scaler.step(opt)).toThrow(/no inf checks were recorded for this optimizer/);
  });
});
