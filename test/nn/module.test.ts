import "@dl/autograd";
import { Linear, Module, ModuleList, Parameter, Sequential } from "@dl/nn";
import { manualSeed, ones, relu, sum, tensor, zeros, type Tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import "../helpers/backends.js";

class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

class SimpleMLP extends Module {
  fc1 = new Linear(10, 5);
  relu = new ReLU();
  fc2 = new Linear(5, 1);
  forward(x: Tensor): Tensor {
    return this.fc2.call(this.relu.call(this.fc1.call(x)));
  }
}

describe("Module", () => {
  it("registers submodules and parameters in assignment order with PyTorch keys", () => {
    manualSeed(0);
    const m = new SimpleMLP();
    expect(Object.keys(m.stateDict())).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    expect([...m.namedModules()].map(([k]) => k)).toEqual(["", "fc1", "relu", "fc2"]);
    expect(m.numParameters()).toBe(10 * 5 + 5 + 5 + 1);
    expect(String(m)).toBe(
      "SimpleMLP(\n  (fc1): Linear(in_features=10, out_features=5, bias=True)\n  (relu): ReLU()\n  (fc2): Linear(in_features=5, out_features=1, bias=True)\n)",
    );
  });

  it("default Linear init is within PyTorch's bounds", () => {
    const l = new Linear(16, 4);
    const w = Array.from(l.weight.dataSync());
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(1 / 4);
    expect(l.weight.requiresGrad).toBe(true);
    expect(l.weight.isLeaf).toBe(true);
  });

  it("loadStateDict validates before writing", () => {
    const a = new Linear(2, 2);
    const before = a.weight.tolist();
    expect(() => a.loadStateDict({ weight: zeros(3, 2), bias: zeros(2) })).toThrow(/size mismatch for weight/);
    expect(() => a.loadStateDict({ weight: zeros(2, 2) })).toThrow(/Missing key\(s\) in state_dict: "bias"/);
    expect(a.weight.tolist()).toEqual(before);
    a.loadStateDict({ weight: ones(2, 2), bias: zeros(2) });
    expect(a.weight.tolist()).toEqual([[1, 1], [1, 1]]);
  });

  it("hooks, train/eval, to(dtype), zeroGrad", () => {
    const seq = new Sequential(new Linear(3, 2), new ReLU());
    const shapes: number[][] = [];
    const h = seq.at(0).registerForwardHook((_m, _a, out) => void shapes.push([...(out as Tensor).shape]));
    const y = seq.call(ones(4, 3)) as Tensor;
    h.remove();
    seq.call(ones(4, 3));
    expect(shapes).toEqual([[4, 2]]);
    let gradOut: number[] | undefined;
    seq.at(0).registerFullBackwardHook((_m, _gi, go) => void (gradOut = [...(go[0] as Tensor).shape]));
    sum(seq.call(ones(4, 3).requiresGrad_()) as Tensor).backward();
    expect(gradOut).toEqual([4, 2]);
    seq.eval();
    expect([...seq.modules()].every((m) => !m.training)).toBe(true);
    const w = (seq.at(0) as Linear).weight;
    seq.to("float64");
    expect((seq.at(0) as Linear).weight).toBe(w);
    expect(w.dtype).toBe("float64");
    const g = w.grad;
    seq.zeroGrad();
    expect(w.grad).toBe(g);
    expect(Array.from(w.grad?.dataSync() ?? [])).toEqual([0, 0, 0, 0, 0, 0]);
    seq.zeroGrad({ setToNone: true });
    expect(w.grad).toBe(null);
    void y;
  });

  it("ModuleList and explicit parameters", () => {
    class M extends Module {
      layers = new ModuleList([new Linear(2, 2), new Linear(2, 2)]);
      scale = new Parameter(tensor([1.0]));
      forward(x: Tensor) {
        return x;
      }
    }
    // PyTorch saves a module's own parameters before its children's.
    expect(Object.keys(new M().stateDict())).toEqual(["scale", "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]);
  });
});
