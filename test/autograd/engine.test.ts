import { checkpoint, defineFunction, grad, gradcheck, gradgradcheck, noGrad, setDetectAnomaly } from "@dl/autograd";
import { binaryOp, reduceOp, tensor, unaryOp, randn, manualSeed } from "@dl/tensor";
import { cpuBackend } from "@dl/backend-cpu";
import { describe, expect, it } from "vitest";
import "../helpers/backends.js";

const mul = (a: any, b: any) => binaryOp("mul", a, b);
const add = (a: any, b: any) => binaryOp("add", a, b);
const sum = (a: any) => reduceOp("sum", a, undefined, false, a.dtype);

describe("engine", () => {
  it("in-place add_ on a non-leaf keeps history", () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const x = mul(a, 2);
    x.copy_(add(x, 1));
    sum(mul(x, x)).backward();
    // x = 2a + 1 -> d/da sum(x^2) = 2x * 2
    expect(a.grad?.tolist()).toEqual([12, 20, 28]);
  });
  it("in-place on a view rebases the base (CopySlices)", () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const b = tensor([5], { requiresGrad: true });
    const x = mul(a, 1);
    x.index("0:1").copy_(mul(b, 3));
    sum(mul(x, x)).backward();
    expect(a.grad?.tolist()).toEqual([0, 4, 6]);
    expect(b.grad?.tolist()).toEqual([90]);
  });
  it("gradcheck and gradgradcheck of a composite", () => {
    manualSeed(1);
    const x = randn(3, 4, { dtype: "float64" }).requiresGrad_();
    const w = randn(4, 2, { dtype: "float64" }).requiresGrad_();
    const f = (x: any, w: any) => unaryOp("tanh", binaryOp("mul", x.unsqueeze(-1), w.unsqueeze(0)));
    expect(gradcheck(f, [x, w])).toBe(true);
    expect(gradgradcheck(f, [x, w])).toBe(true);
  });
  it("checkpoint lowers peak memory and matches gradients", () => {
    const chain = (x: any) => {
      let y = x;
      for (let i = 0; i < 30; i++) y = unaryOp("sin", y);
      return y;
    };
    const x1 = randn(10000, { dtype: "float64" }).requiresGrad_();
    const before = cpuBackend.memory().bytes;
    const y1 = chain(x1);
    const plain = cpuBackend.memory().bytes - before;
    sum(y1).backward();
    const x2 = tensor(Array.from(x1.dataSync()), { dtype: "float64", requiresGrad: true });
    const before2 = cpuBackend.memory().bytes;
    const y2 = checkpoint(chain, x2);
    const ck = cpuBackend.memory().bytes - before2;
    sum(y2).backward();
    expect(ck).toBeLessThan(plain / 5);
    expect(Array.from(x2.grad!.dataSync())).toEqual(Array.from(x1.grad!.dataSync()));
  });
  it("checkpoint gives parameters used inside fn their gradients (they silently got none)", () => {
    const w = tensor([[0.5, -1], [2, 0.25]], { requiresGrad: true });
    const b = tensor([0.1, -0.2], { requiresGrad: true });
    const layer = (x: any) => unaryOp("tanh", add(binaryOp("mul", x, w), b));
    for (const inputRequiresGrad of [true, false]) {
      const x0 = tensor([[1, 2], [3, -4]], { requiresGrad: inputRequiresGrad });
      w.grad = null;
      b.grad = null;
      sum(mul(layer(x0), 3)).backward();
      const [gw, gb, gx] = [w.grad!.tolist(), b.grad!.tolist(), x0.grad?.tolist()];
      w.grad = null;
      b.grad = null;
      const x1 = tensor([[1, 2], [3, -4]], { requiresGrad: inputRequiresGrad });
      const y = checkpoint(layer, x1);
      expect(y.requiresGrad).toBe(true);
      sum(mul(y, 3)).backward();
      expect(w.grad?.tolist()).toEqual(gw);
      expect(b.grad?.tolist()).toEqual(gb);
      expect(x1.grad?.tolist()).toEqual(gx);
    }
    // With only parameters requiring grad, the forward pass still keeps nothing but its output.
    const scale = tensor(1.5, { dtype: "float64", requiresGrad: true });
    const chain = (x: any) => {
      let y = mul(x, scale);
      for (let i = 0; i < 30; i++) y = unaryOp("sin", y);
      return y;
    };
    const big = randn(10000, { dtype: "float64" });
    const before = cpuBackend.memory().bytes;
    const yc = checkpoint(chain, big);
    expect(cpuBackend.memory().bytes - before).toBeLessThanOrEqual(10000 * 8 * 2);
    sum(yc).backward();
    const ref = tensor(1.5, { dtype: "float64", requiresGrad: true });
    let yr = mul(big, ref);
    for (let i = 0; i < 30; i++) yr = unaryOp("sin", yr);
    sum(yr).backward();
    expect(scale.grad?.item()).toBeCloseTo(ref.grad?.item() as number, 10);
    // Nothing requires grad: a plain result, no graph.
    const z = noGrad(() => checkpoint(layer, tensor([[1, 2], [3, 4]])));
    expect(z.requiresGrad).toBe(false);
  });
  it("custom function", () => {
    const Exp = defineFunction("Exp", {
      forward(ctx, x: any) {
        const r = unaryOp("exp", x);
        ctx.saveForBackward(r);
        return r;
      },
      backward(ctx, g) {
        return [mul(g, ctx.savedTensors[0])];
      },
    });
    const x = tensor([0, 1], { requiresGrad: true });
    const y = Exp(x);
    expect((y.gradFn as any).name()).toBe("ExpBackward");
    sum(y).backward();
    expect(x.grad?.dataSync()[1]).toBeCloseTo(Math.E, 5);
  });
  it("errors: second backward, non-scalar, in-place modified saved tensor, anomaly", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const y = sum(mul(a, a));
    y.backward();
    expect(() => y.backward()).toThrow(/backward through the graph a second time/);
    expect(() => mul(a, 2).backward()).toThrow(/only for scalar outputs/);
    const h = mul(a, 1);
    const z = mul(h, h);
    h.fill_(3);
    expect(() => sum(z).backward()).toThrow(/modified by an inplace operation/);
    setDetectAnomaly(true);
    try {
      const q = tensor([0], { requiresGrad: true });
      expect(() => sum(binaryOp("div", 1, unaryOp("sqrt", q))).backward()).toThrow(/nan values/);
    } finally {
      setDetectAnomaly(false);
    }
  });
  it("grad with createGraph gives a Hessian-vector product", () => {
    const x = tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const y = sum(mul(mul(x, x), x));
    const [g] = grad(y, [x], { createGraph: true });
    const [hv] = grad(sum(mul(g!, tensor([1, 1], { dtype: "float64" }))), [x]);
    expect(hv?.tolist()).toEqual([6, 12]);
    void noGrad;
  });
});

describe("grads and scopes", () => {
  it("a gradient made by backward inside tidy() survives the scope and accumulates next time", async () => {
    const { tidy } = await import("@dl/tensor");
    const w = tensor([1, 2], { requiresGrad: true });
    tidy(() => sum(mul(w, w)).backward());
    expect(w.grad?.isDisposed).toBe(false);
    tidy(() => sum(mul(w, w)).backward());
    expect(w.grad?.tolist()).toEqual([4, 8]);
  });
});

describe("gradient ownership", () => {
  it("replacing or clearing a gradient backward allocated frees it; memory stays flat", async () => {
    const { cpuBackend } = await import("@dl/backend-cpu");
    const w = tensor([1, 2], { requiresGrad: true });
    sum(mul(w, w)).backward();
    const g = w.grad as NonNullable<typeof w.grad>;
    const before = cpuBackend.memory().storages;
    w.grad = null;
    expect(g.isDisposed).toBe(true);
    expect(cpuBackend.memory().storages).toBe(before - 1);
    const mine = tensor([5, 5]);
    w.grad = mine;
    w.grad = null;
    expect(mine.isDisposed).toBe(false); // a user-assigned gradient stays the user's
  });
});

describe("tidy() and the graph", () => {
  it("frees a graph that is never backpropagated, keeps one that is returned", async () => {
    const { cpuBackend } = await import("@dl/backend-cpu");
    const { tidy } = await import("@dl/tensor");
    const w = tensor([1, 2, 3], { requiresGrad: true });
    const before = cpuBackend.memory().storages;
    tidy(() => {
      unaryOp("sin", mul(w, w));
    });
    expect(cpuBackend.memory().storages).toBe(before);
    // The returned output's saved tensors survive the scope: backward still works outside it.
    const y = tidy(() => unaryOp("sin", mul(unaryOp("exp", w), w)));
    sum(y).backward();
    const e = Array.from(w.dataSync(), (v) => Math.cos(Math.exp(v) * v) * (Math.exp(v) * v + Math.exp(v)));
    Array.from(w.grad?.dataSync() ?? []).forEach((g, i) => expect(g).toBeCloseTo(e[i] as number, 4));
  });
});
