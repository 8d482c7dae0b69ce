import { noGrad } from "@dl/autograd";
import { cpuBackend } from "@dl/backend-cpu";
import { type Tensor, add, manualSeed, matmul, mean, mul, randn, relu, sub, sub_, tidy } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import "../helpers/backends.js";

/**
 * A training-style loop must not leak: every graph node's saved tensors are freed by backward,
 * every temporary by tidy(), and the parameters are updated in place under noGrad.
 */
describe("autograd memory", () => {
  it("a 1000-step MLP training loop keeps cpuBackend.memory() flat", () => {
    manualSeed(0);
    const x = randn(64, 32);
    const target = randn(64, 1);
    const scale = (t: Tensor, s: number) => noGrad(() => mul(t, s));
    const w1 = scale(randn(32, 16), 0.2).requiresGrad_();
    const b1 = scale(randn(16), 0.1).requiresGrad_();
    const w2 = scale(randn(16, 1), 0.2).requiresGrad_();
    const b2 = scale(randn(1), 0.1).requiresGrad_();
    const params = [w1, b1, w2, b2];
    const lr = 0.05;

    const step = (): number =>
      tidy(() => {
        const h = relu(add(matmul(x, w1), b1));
        const pred = add(matmul(h, w2), b2);
        const d = sub(pred, target);
        const loss = mean(mul(d, d));
        loss.backward();
        noGrad(() => {
          for (const p of params) {
            sub_(p, mul(p.grad as Tensor, lr));
            p.grad = null; // zero_grad(set_to_none=True): the gradients die with this scope
          }
        });
        return loss.item() as number;
      });

    let first = 0;
    let last = 0;
    let at10 = { storages: 0, bytes: 0 };
    for (let i = 1; i <= 1000; i++) {
      const l = step();
      if (i === 1) first = l;
      if (i === 10) at10 = { ...cpuBackend.memory() };
      last = l;
    }
    const at1000 = cpuBackend.memory();
    expect(at1000.storages).toBe(at10.storages);
    expect(at1000.bytes).toBe(at10.bytes);
    // It did train.
    expect(last).toBeLessThan(first * 0.8);
    for (const p of params) {
      expect(p.isLeaf).toBe(true);
      expect(p.isDisposed).toBe(false);
    }
  });

  it("backward frees the graph's saved tensors (a forward + backward inside tidy leaves nothing behind)", () => {
    manualSeed(1);
    const w = randn(8, 8).requiresGrad_();
    const before = cpuBackend.memory();
    tidy(() => {
      let y = w;
      for (let i = 0; i < 10; i++) y = relu(matmul(y, w));
      mean(y).backward();
      w.grad = null;
    });
    const after = cpuBackend.memory();
    expect(after.storages).toBe(before.storages);
    expect(after.bytes).toBe(before.bytes);
  });
});
