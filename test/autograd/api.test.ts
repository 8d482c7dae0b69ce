import {
  AccumulateGrad,
  Node,
  enableGrad,
  grad,
  inferenceMode,
  isAnomalyEnabled,
  isGradEnabled,
  noGrad,
  setDetectAnomaly,
  setGradEnabled,
} from "@dl/autograd";
import { cpuBackend } from "@dl/backend-cpu";
import { DeviceError, ShapeError, type Tensor, add, exp, gradState, mean, mul, mul_, registerBackend, sqrt, sum, tensor } from "@dl/tensor";
import { afterEach, describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

/**
 * The autograd API around the engine: retainGrad, hooks, the graph's structure, detach, grad
 * modes, grad() options and the errors PyTorch raises (messages follow PyTorch's wording).
 */

const f64 = (v: number[]) => tensor(v, { dtype: "float64", requiresGrad: true });
const nameOf = (e: unknown): string | null => (e === null ? null : (e as { name(): string }).name());

describeEachBackend("autograd API", () => {
  afterEach(() => {
    setGradEnabled(true);
    setDetectAnomaly(false);
  });

  describe("retainGrad", () => {
    it("keeps .grad on a non-leaf; other non-leaves keep none", () => {
      const x = f64([1, 2]);
      const y = mul(x, 2);
      const w = mul(y, 3);
      y.retainGrad();
      expect(y.retainsGrad).toBe(true);
      expect(w.retainsGrad).toBe(false);
      sum(mul(w, w)).backward();
      // d/dy sum((3y)^2) = 18y, y = [2, 4]
      expect(y.grad?.tolist()).toEqual([36, 72]);
      expect(w.grad).toBeNull();
      expect(x.grad?.tolist()).toEqual([72, 144]);
    });

    it("is a no-op on a leaf and accumulates over backward calls", () => {
      const x = f64([3]);
      x.retainGrad();
      expect(x.retainsGrad).toBe(false);
      const y = add(x, 1); // AddBackward0 saves nothing: it can run again after a backward
      y.retainGrad();
      sum(mul(y, 2)).backward();
      sum(mul(y, 5)).backward();
      expect(y.grad?.tolist()).toEqual([7]);
      expect(x.grad?.tolist()).toEqual([7]);
    });

    it("throws on a tensor that does not require grad", () => {
      expect(() => tensor([1]).retainGrad()).toThrow(/retainGrad: can't retain grad on a tensor that has requiresGrad=false/);
    });
  });

  describe("registerHook", () => {
    it("observes a leaf's gradient without changing it", () => {
      const x = f64([1, 2]);
      const seen: number[][] = [];
      x.registerHook((g) => void seen.push(g.tolist() as number[]));
      sum(mul(x, x)).backward();
      expect(seen).toEqual([[2, 4]]);
      expect(x.grad?.tolist()).toEqual([2, 4]);
    });

    it("replaces a leaf's gradient (PyTorch: x.grad = [20, 40])", () => {
      const x = f64([1, 2]);
      x.registerHook((g) => mul(g, 10));
      sum(mul(x, x)).backward();
      expect(x.grad?.tolist()).toEqual([20, 40]);
    });

    it("replaces a non-leaf's gradient before it flows to the inputs; retainGrad after the hook sees it", () => {
      // PyTorch 1.13: y.register_hook(g * 10); y.retain_grad() -> y.grad [40, 80], x.grad [80, 160]
      const x = f64([1, 2]);
      const y = mul(x, 2);
      y.registerHook((g) => mul(g, 10));
      y.retainGrad();
      sum(mul(y, y)).backward();
      expect(y.grad?.tolist()).toEqual([40, 80]);
      expect(x.grad?.tolist()).toEqual([80, 160]);
    });

    it("hooks run in registration order, each seeing the previous result", () => {
      const x = f64([1]);
      const order: string[] = [];
      x.registerHook((g) => {
        order.push("a");
        return add(g, 1);
      });
      x.registerHook((g) => {
        order.push(`b:${g.item()}`);
        return mul(g, 2);
      });
      sum(mul(x, 3)).backward();
      expect(order).toEqual(["a", "b:4"]);
      expect(x.grad?.tolist()).toEqual([8]);
    });

    it("remove() unregisters the hook", () => {
      const x = f64([1, 2]);
      let calls = 0;
      const handle = x.registerHook((g) => {
        calls++;
        return mul(g, 10);
      });
      sum(mul(x, x)).backward();
      handle.remove();
      x.grad = null;
      sum(mul(x, x)).backward();
      expect(calls).toBe(1);
      expect((x.grad as Tensor | null)?.tolist()).toEqual([2, 4]);
    });

    it("applies to grad() as well", () => {
      const x = f64([1, 2]);
      x.registerHook((g) => mul(g, -1));
      const [g] = grad(sum(mul(x, x)), [x]);
      expect(g?.tolist()).toEqual([-2, -4]);
      expect(x.grad).toBeNull();
    });

    it("throws on a tensor that does not require grad", () => {
      expect(() => tensor([1]).registerHook(() => undefined)).toThrow(/registerHook: cannot register a hook on a tensor that doesn't require gradient/);
    });
  });

  describe("graph structure (the tutorial's y = x + 1; z = y * y * 2; out = z.mean())", () => {
    const build = () => {
      const x = tensor([2], { requiresGrad: true });
      const y = add(x, 1);
      const z = mul(mul(y, y), 2);
      const out = mean(z);
      return { x, y, z, out };
    };

    it("gradFn names as PyTorch prints them", () => {
      const { x, y, z, out } = build();
      expect(x.gradFn).toBeNull();
      expect(x.isLeaf).toBe(true);
      expect(nameOf(y.gradFn)).toBe("AddBackward0");
      expect(nameOf(z.gradFn)).toBe("MulBackward0");
      expect(nameOf(out.gradFn)).toBe("MeanBackward0");
      expect(String(y.gradFn)).toBe("<AddBackward0>");
      out.backward();
      expect(x.grad?.tolist()).toEqual([12]);
    });

    it("nextFunctions: Mul -> (Mul, None) -> (Add, Add) -> (AccumulateGrad(x), None)", () => {
      const { x, y, z } = build();
      const zf = z.gradFn as Node;
      expect(zf).toBeInstanceOf(Node);
      const [[inner, i0], [none, i1]] = zf.nextFunctions as [[Node, number], [null, number]];
      expect([nameOf(inner), i0, none, i1]).toEqual(["MulBackward0", 0, null, 0]);
      const innerNext = inner.nextFunctions;
      expect(innerNext.map(([e, i]) => [nameOf(e), i])).toEqual([
        ["AddBackward0", 0],
        ["AddBackward0", 0],
      ]);
      // Both operands were y: the same node.
      expect(innerNext[0]?.[0]).toBe(y.gradFn);
      expect(innerNext[1]?.[0]).toBe(y.gradFn);
      const addNext = (y.gradFn as Node).nextFunctions;
      expect(addNext.map(([e, i]) => [nameOf(e), i])).toEqual([
        ["torch::autograd::AccumulateGrad", 0],
        [null, 0],
      ]);
      const acc = addNext[0]?.[0] as AccumulateGrad;
      expect(acc).toBeInstanceOf(AccumulateGrad);
      expect(acc.variable).toBe(x);
      expect(acc.nextFunctions).toEqual([]);
    });

    // PyTorch: out.grad_fn.next_functions == ((<MulBackward0>, 0),). mean labels its node with its input.
    it("nextFunctions of MeanBackward0 is ((MulBackward0, 0),) as in PyTorch", () => {
      const { z, out } = build();
      const next = (out.gradFn as Node).nextFunctions;
      expect(next.map(([e, i]) => [nameOf(e), i])).toEqual([["MulBackward0", 0]]);
      expect(next[0]?.[0]).toBe(z.gradFn);
    });

    it("a composite labelled with its inputs shows them as nextFunctions (engine side of labelGrad(t, name, inputs))", () => {
      const { x, z, out } = build();
      const recorder = gradState.recorder as unknown as { label(t: Tensor, name: string, inputs?: readonly Tensor[]): void };
      recorder.label(out, "MeanBackward0", [z]);
      const next = (out.gradFn as Node).nextFunctions;
      expect(next.map(([e, i]) => [nameOf(e), i])).toEqual([["MulBackward0", 0]]);
      expect(next[0]?.[0]).toBe(z.gradFn);
      // Only the display changes: backward still runs the recorded primitives.
      out.backward();
      expect(x.grad?.tolist()).toEqual([12]);
    });
  });

  describe("detach", () => {
    it("detach() shares storage, needs no grad and has no gradFn", () => {
      const x = f64([1, 2]);
      const y = mul(x, 2);
      const d = y.detach();
      expect(d.requiresGrad).toBe(false);
      expect(d.gradFn).toBeNull();
      expect(d.isLeaf).toBe(true);
      d.fill_(7);
      expect(y.tolist()).toEqual([7, 7]);
    });

    it("an in-place write through a detached alias is still caught by the version counter", () => {
      const x = f64([1, 2]);
      const y = exp(x); // saves its output
      y.detach().zero_();
      expect(() => sum(y).backward()).toThrow(/modified by an inplace operation/);
    });

    it("detach_() turns a non-leaf into a leaf that needs no grad", () => {
      const x = f64([1, 2]);
      const y = mul(x, 2);
      y.detach_();
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
      expect(y.isLeaf).toBe(true);
      expect(mul(y, x).gradFn).not.toBeNull();
    });
  });

  describe("grad modes", () => {
    it("noGrad records nothing and restores the previous mode, even on throw", () => {
      const x = f64([1]);
      const y = noGrad(() => {
        expect(isGradEnabled()).toBe(false);
        return mul(x, 2);
      });
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
      expect(isGradEnabled()).toBe(true);
      expect(() =>
        noGrad(() => {
          throw new Error("boom");
        }),
      ).toThrow("boom");
      expect(isGradEnabled()).toBe(true);
    });

    it("enableGrad inside noGrad records; noGrad inside enableGrad does not", () => {
      const x = f64([1]);
      const [a, b, c] = noGrad(() => {
        const a = enableGrad(() => mul(x, 2));
        const b = mul(x, 3);
        const c = enableGrad(() => noGrad(() => mul(x, 4)));
        return [a, b, c];
      });
      expect(a.requiresGrad).toBe(true);
      expect(nameOf(a.gradFn)).toBe("MulBackward0");
      expect(b.requiresGrad).toBe(false);
      expect(c.requiresGrad).toBe(false);
    });

    it("setGradEnabled switches recording until switched back", () => {
      const x = f64([1]);
      setGradEnabled(false);
      expect(isGradEnabled()).toBe(false);
      expect(mul(x, 2).requiresGrad).toBe(false);
      setGradEnabled(true);
      expect(mul(x, 2).requiresGrad).toBe(true);
    });

    it("inferenceMode records nothing and allows in-place updates of leaves (manual SGD)", () => {
      const w = f64([1, 2]);
      sum(mul(w, w)).backward();
      inferenceMode(() => {
        expect(isGradEnabled()).toBe(false);
        mul_(w, 0.5);
      });
      noGrad(() => w.copy_(add(w, 1)));
      expect(w.tolist()).toEqual([1.5, 2]);
      expect(w.isLeaf).toBe(true);
      expect(w.requiresGrad).toBe(true);
    });
  });

  describe("requiresGrad", () => {
    it("only floating tensors can require gradients (PyTorch: only Tensors of floating point dtype can require gradients)", () => {
      expect(() => tensor([1, 2], { dtype: "int64" }).requiresGrad_()).toThrow(
        /requiresGrad_: only tensors of floating point dtype can require gradients, got int64/,
      );
      expect(() => tensor([true], { requiresGrad: true })).toThrow(/only tensors of floating point dtype/);
      expect(tensor([1], { dtype: "float16", requiresGrad: true }).requiresGrad).toBe(true);
    });

    it("results of ops on tensors that require grad require grad; integer results do not", () => {
      const x = f64([1.5, -2]);
      expect(mul(x, 2).requiresGrad).toBe(true);
      expect(x.to("int64").requiresGrad).toBe(false);
    });

    it("a non-leaf's flag cannot be turned off", () => {
      const y = mul(f64([1]), 2);
      expect(() => y.requiresGrad_(false)).toThrow(/requiresGrad_: you can only change requiresGrad flags of leaf tensors/);
    });
  });

  describe("grad()", () => {
    it("allowUnused: an input the outputs do not depend on is an error, or null when allowed", () => {
      const x = f64([1, 2]);
      const unused = f64([3]);
      const y = sum(mul(x, x));
      expect(() => grad(y, [x, unused], { retainGraph: true })).toThrow(
        /grad: one of the differentiated tensors \(input 1\) appears to not have been used in the graph; set allowUnused: true/,
      );
      const [gx, gu] = grad(y, [x, unused], { allowUnused: true });
      expect(gx?.tolist()).toEqual([2, 4]);
      expect(gu).toBeNull();
    });

    it("does not touch .grad, and gives gradients of non-leaves", () => {
      const x = f64([1, 2]);
      const y = mul(x, 3);
      const [gy, gx] = grad(sum(mul(y, y)), [y, x]);
      expect(gy?.tolist()).toEqual([6, 12]);
      expect(gx?.tolist()).toEqual([18, 36]);
      expect(x.grad).toBeNull();
      expect(y.grad).toBeNull();
    });

    it("takes gradOutputs for non-scalar outputs (a vector-Jacobian product)", () => {
      const x = f64([2, 3]);
      const [g] = grad(mul(x, x), [x], { gradOutputs: [tensor([1, -1], { dtype: "float64" })] });
      expect(g?.tolist()).toEqual([4, -6]);
    });

    it("createGraph makes the gradient differentiable", () => {
      const x = f64([2]);
      const [g] = grad(sum(mul(mul(x, x), x)), [x], { createGraph: true });
      expect(g?.requiresGrad).toBe(true);
      const [gg] = grad(g as Tensor, [x]);
      expect(gg?.tolist()).toEqual([12]);
    });
  });

  describe("errors", () => {
    it("backward on a non-scalar without a gradient (PyTorch: grad can be implicitly created only for scalar outputs)", () => {
      const x = f64([1, 2]);
      expect(() => mul(x, 2).backward()).toThrow(/backward: grad can be implicitly created only for scalar outputs \(got shape \[2\]\)/);
    });

    it("backward with a gradient of the wrong shape", () => {
      const x = f64([1, 2]);
      expect(() => mul(x, 2).backward(tensor([1, 2, 3], { dtype: "float64" }))).toThrow(
        /backward: mismatch in shape: gradient has shape \[3\] and output has shape \[2\]/,
      );
    });

    it("backward on a tensor that does not require grad", () => {
      expect(() => sum(tensor([1, 2])).backward()).toThrow(/backward: element 0 of tensors does not require grad and does not have a gradFn/);
    });

    it("a second backward through a freed graph", () => {
      const x = f64([1, 2]);
      const y = sum(mul(x, x));
      y.backward();
      expect(() => y.backward()).toThrow(/backward: trying to backward through the graph a second time .* specify retainGraph: true/);
    });

    it("a shared node that saved nothing can run again; one that saved tensors cannot (as PyTorch)", () => {
      // PyTorch: y = x + 1; y.sum().backward() twice works; y = x * 1 then two backwards fails.
      const x = f64([1, 2]);
      const y = add(x, 1);
      sum(y).backward();
      sum(y).backward();
      expect(x.grad?.tolist()).toEqual([2, 2]);
      const w = mul(x, 1);
      sum(mul(w, 2)).backward();
      expect(() => sum(mul(w, 5)).backward()).toThrow(/second time/);
    });

    it("retainGraph allows a second backward; gradients accumulate", () => {
      const x = f64([1, 2]);
      const y = sum(mul(x, x));
      y.backward(undefined, { retainGraph: true });
      expect(x.grad?.tolist()).toEqual([2, 4]);
      y.backward();
      expect(x.grad?.tolist()).toEqual([4, 8]);
      expect(() => y.backward()).toThrow(/second time/);
    });

    it("a saved tensor modified in place (version counter)", () => {
      const x = f64([1, 2]);
      const h = mul(x, 1);
      const z = mul(h, h); // saves h
      mul_(h, 2);
      expect(() => sum(z).backward()).toThrow(
        /backward: one of the variables needed for gradient computation has been modified by an inplace operation: \[float64 \[2\]\] is at version 1; expected version 0 instead \(output of MulBackward0\)/,
      );
    });

    it("an in-place write to a saved output (PyTorch: ... output 0 of ExpBackward0, is at version 1)", () => {
      const x = f64([1, 2]);
      const y = exp(x);
      mul_(y, 1);
      expect(() => sum(y).backward()).toThrow(/modified by an inplace operation: .* \(output of ExpBackward0\)/);
    });

    it("in-place on a leaf that requires grad, or on a view of one", () => {
      const x = f64([1, 2]);
      expect(() => mul_(x, 2)).toThrow(/mul_: a leaf tensor that requires grad is being used in an in-place operation/);
      expect(() => mul_(x.index(0), 2)).toThrow(/mul_: a view of a leaf tensor that requires grad is being used in an in-place operation/);
      expect(() => x.fill_(0)).toThrow(/fill_: a leaf tensor that requires grad/);
      expect(x.tolist()).toEqual([1, 2]);
    });

    it("anomaly mode names the op whose gradient became NaN (PyTorch: Function 'SqrtBackward0' returned nan values in its 0th output.)", () => {
      setDetectAnomaly(true);
      expect(isAnomalyEnabled()).toBe(true);
      const x = f64([0, 1]);
      expect(() => sum(mul(sqrt(x), 0)).backward()).toThrow(/backward: function 'SqrtBackward0' returned nan values in its 0th output/);
      setDetectAnomaly(false);
      const x2 = f64([0, 1]);
      sum(mul(sqrt(x2), 0)).backward();
      expect(Number.isNaN(x2.grad?.dataSync()[0] as number)).toBe(true);
    });
  });
});

describe("assigning .grad", () => {
  it("checks shape, dtype, device and type as PyTorch does (a [1] grad on a [3] weight was applied to all three)", () => {
    registerBackend({ ...cpuBackend, name: "cpu2" });
    const w = tensor([1, 2, 3], { requiresGrad: true, device: "cpu" });
    expect(() => {
      w.grad = tensor([1], { device: "cpu" });
    }).toThrow(ShapeError);
    expect(() => {
      w.grad = tensor([1], { device: "cpu" });
    }).toThrow("grad: assigned grad has data of a different size (the tensor has shape [3], the grad [1])");
    expect(() => {
      w.grad = tensor([1, 1, 1], { dtype: "float64", device: "cpu" });
    }).toThrow("grad: assigned grad has data of a different type (the tensor is float32, the grad float64)");
    expect(() => {
      w.grad = tensor([1, 1, 1], { device: "cpu2" });
    }).toThrow(DeviceError);
    expect(() => {
      (w as { grad: unknown }).grad = 1;
    }).toThrow("grad: assigned grad expected to be a Tensor or null but got number");
    expect(() => {
      w.grad = w;
    }).toThrow("grad: can't assign a tensor as its own grad");
    expect(w.grad).toBe(null);
    w.grad = tensor([1, 1, 1], { device: "cpu" });
    expect(w.grad?.tolist()).toEqual([1, 1, 1]);
    w.grad = null;
    expect(w.grad).toBe(null);
  });
});
