import { inspect } from "node:util";
import { noGrad } from "@dl/autograd";
import "@dl/backend-cpu/register";
import { Linear, Module, ReLU, Sequential, deepcopy } from "@dl/nn";
import { type Tensor, manualSeed, randn, sum } from "@dl/tensor";
import { describe, expect, it } from "vitest";

class TwoLayer extends Module {
  fc1 = new Linear(4, 8);
  act = new ReLU();
  fc2 = new Linear(8, 2);
  // Names that a Function instance would own: a module may use them.
  name = "two-layer";
  length = 2;
  forward(x: Tensor): Tensor {
    return this.fc2(this.act(this.fc1(x)));
  }
}

describe("modules are callable as in PyTorch", () => {
  it("model(x) is model.call(x): same values, hooks run, instanceof and fields intact", () => {
    manualSeed(0);
    const model = new TwoLayer();
    const x = randn(3, 4);
    const calls: string[] = [];
    model.registerForwardHook(() => {
      calls.push("hook");
    });
    const a = model(x);
    const b = model.call(x);
    expect(a.tolist()).toEqual(b.tolist());
    expect(calls).toEqual(["hook", "hook"]);
    expect(model).toBeInstanceOf(TwoLayer);
    expect(model).toBeInstanceOf(Module);
    expect(model.name).toBe("two-layer");
    expect(model.length).toBe(2);
    expect(Object.keys(model.stateDict())).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
  });

  it("containers call their children; gradients flow as through call()", () => {
    manualSeed(0);
    const seq = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 1));
    const out = seq(randn(5, 4));
    expect(out.shape).toEqual([5, 1]);
    sum(out).backward();
    expect([...seq.parameters()].every((p) => p.grad !== null)).toBe(true);
    expect(seq.length).toBe(3);
  });

  it("console.log / util.inspect print PyTorch's module tree", () => {
    const printed = inspect(new Sequential(new Linear(4, 3), new ReLU()));
    expect(printed).toBe("Sequential(\n  (0): Linear(in_features=4, out_features=3, bias=True)\n  (1): ReLU()\n)");
  });

  it("deepcopy(model) is callable, of the same class, with its own parameters", () => {
    manualSeed(0);
    const model = new TwoLayer();
    const copy = deepcopy(model);
    const x = randn(2, 4);
    expect(copy).toBeInstanceOf(TwoLayer);
    expect(copy(x).tolist()).toEqual(model(x).tolist());
    expect(copy.fc1.weight).not.toBe(model.fc1.weight);
    noGrad(() => model.fc1.weight.zero_());
    expect(copy(x).tolist()).not.toEqual(model(x).tolist());
  });
});
