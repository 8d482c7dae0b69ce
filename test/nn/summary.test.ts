import "@dl/autograd";
import { Linear, Module, Parameter, Sequential, summary } from "@dl/nn";
import { type Tensor, add, cat, einsum, randn, relu } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { loadFixtures } from "../helpers/fixtures.js";

// Test-local layers with PyTorch's class names and parameter shapes (the real ones live in other files).
class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter;
  constructor(inC: number, outC: number, readonly k: number) {
    super();
    this.weight = new Parameter(randn(outC, inC, k, k));
    this.bias = new Parameter(randn(outC));
  }
  forward(x: Tensor): Tensor {
    const patches = x.unfold(2, this.k, 1).unfold(3, this.k, 1); // [N, C, H', W', k, k]
    return add(einsum("nchwij,ocij->nohw", patches, this.weight), this.bias.view(1, -1, 1, 1));
  }
}
class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}
class Flatten extends Module {
  forward(x: Tensor): Tensor {
    return x.flatten(1);
  }
}

interface Call {
  name: string;
  class: string;
  outputShape: number[];
  ownParams: number;
  totalParams: number;
}
const fx = loadFixtures("nn_loss").summary as { input: number[]; calls: Call[]; totalParams: number };

const cnn = () =>
  new Sequential({
    features: new Sequential(new Conv2d(3, 8, 3), new ReLU(), new Conv2d(8, 16, 3), new ReLU()),
    flatten: new Flatten(),
    classifier: new Sequential(new Linear(256, 32), new ReLU(), new Linear(32, 10)),
  });

describeEachBackend("summary", () => {
  it("lists every call of a small CNN with PyTorch's output shapes and parameter counts", () => {
    const s = summary(cnn(), fx.input);
    expect(s.rows.map((r) => [r.name, r.className, r.outputShape])).toEqual(fx.calls.map((c) => [c.name, c.class, c.outputShape]));
    // Containers whose children are shown count only their own parameters; leaves count theirs.
    expect(s.rows.map((r) => r.params)).toEqual(fx.calls.map((c) => c.ownParams));
    expect(s.totalParams).toBe(fx.totalParams);
    expect(s.trainableParams).toBe(fx.totalParams);
    expect(s.nonTrainableParams).toBe(0);
    expect(s.rows.map((r) => r.depth)).toEqual([0, 1, 2, 2, 2, 2, 1, 1, 2, 2, 2]);
    expect(s.rows.map((r) => r.index)).toEqual(["", "1-1", "2-1", "2-2", "2-3", "2-4", "1-2", "1-3", "2-5", "2-6", "2-7"]);
    expect(s.paramBytes).toBe(fx.totalParams * 4);
    expect(s.inputBytes).toBe(2 * 3 * 8 * 8 * 4);
    const table = String(s);
    expect(table).toContain("Total params: 9,946");
    expect(table).toContain("Trainable params: 9,946");
    expect(table).toMatch(/│ {4}├─Conv2d: 2-1 +\[2, 8, 6, 6\] +224\n/);
    expect(table).toMatch(/└─Sequential: 1-3 +\[2, 10\] +--\n/);
    expect(table).toMatch(/│ {4}└─Linear: 2-7 +\[2, 10\] +330\n/);
    expect(table.split("\n")[3]).toMatch(/^Sequential +\[2, 10\] +--$/);
  });

  it("folds calls deeper than `depth` into their ancestor's row, counts frozen parameters apart", () => {
    const model = cnn();
    for (const p of (model.at(0) as Module).parameters()) p.requiresGrad_(false);
    const s = summary(model, fx.input, { depth: 1 });
    const byName = (n: string) => fx.calls.find((c) => c.name === n) as Call;
    expect(s.rows.map((r) => [r.name, r.params])).toEqual(["", "features", "flatten", "classifier"].map((n) => [n, n === "" ? 0 : byName(n).totalParams]));
    expect(s.trainableParams).toBe(fx.totalParams - byName("features").totalParams);
    expect(s.nonTrainableParams).toBe(byName("features").totalParams);
    expect(String(s)).toContain("Non-trainable params: 1,392");
    expect(summary(model, fx.input, { depth: 0 }).rows.map((r) => r.params)).toEqual([fx.totalParams]);
  });

  it("handles several inputs, reused modules, tuple outputs, and restores training flags", () => {
    class Two extends Module {
      shared = new Linear(4, 4);
      head = new Linear(4, 2);
      forward(a: Tensor, b: Tensor): [Tensor, Tensor] {
        const h = cat([this.shared.call(a), this.shared.call(b)], 0);
        return [this.head.call(h), h];
      }
    }
    const m = new Two();
    m.train();
    const s = summary(m, [
      [3, 4],
      [5, 4],
    ]);
    expect(s.rows.map((r) => [r.name, r.outputShape, r.params, r.recursive])).toEqual([
      ["", [[8, 2], [8, 4]], 0, false],
      ["shared", [3, 4], 20, false],
      ["shared", [5, 4], 0, true],
      ["head", [8, 2], 10, false],
    ]);
    expect(String(s)).toContain("(recursive)");
    expect(String(s)).toMatch(/^Two +\[\[8, 2\], \[8, 4\]\] +--$/m);
    expect(s.totalParams).toBe(30);
    expect(m.training && m.shared.training).toBe(true);
    expect(() => summary(m, [3, -1])).toThrow(/summary: input shapes must be arrays of non-negative integers/);
  });
});
