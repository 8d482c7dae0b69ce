import "@dl/autograd";
import * as nn from "@dl/nn";
import { F } from "@dl/nn";
import { type Tensor, tensor } from "@dl/tensor";
import { describe, expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, isSpec, loadFixtures } from "../helpers/fixtures.js";

interface LossCase {
  name: string;
  fn: string;
  module: string;
  args: { t: TSpec; grad: boolean }[];
  options: Record<string, unknown>;
  out?: TSpec;
  upstream?: TSpec;
  grads?: (TSpec | null)[];
  error?: string;
}

const fx = loadFixtures("nn_loss") as { cases: LossCase[] };

// biome-ignore lint/suspicious/noExplicitAny: dispatch by name over the fixture's functions
const Fns = F as unknown as Record<string, (...a: any[]) => Tensor>;
// biome-ignore lint/suspicious/noExplicitAny: dispatch by name over the fixture's modules
const Mods = nn as unknown as Record<string, new (o: any) => nn.Module>;

function options(c: LossCase): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.options)) o[k] = isSpec(v) ? fromSpec(v) : v;
  return o;
}

// Loose enough for float32 sums over a few dozen terms computed in a different order.
const tol = { rtol: 2e-5, atol: 2e-6 };

describeEachBackend("losses vs PyTorch", () => {
  for (const c of fx.cases) {
    it(c.name, () => {
      const fn = Fns[c.fn];
      const Mod = Mods[c.module];
      expect(fn, c.fn).toBeTypeOf("function");
      expect(Mod, c.module).toBeTypeOf("function");
      if (c.error) {
        const args = c.args.map((a) => fromSpec(a.t));
        expect(() => fn?.(...args, options(c))).toThrow(new RegExp(c.error));
        expect(() => new (Mod as new (o: unknown) => nn.Module)(options(c)).call(...(args as never[]))).toThrow(new RegExp(c.error));
        return;
      }
      // functional form: value and gradients
      const args = c.args.map((a) => fromSpec(a.t, { requiresGrad: a.grad }));
      const out = fn?.(...args, options(c)) as Tensor;
      expectClose(out, c.out as TSpec, tol);
      if (c.args.some((a) => a.grad)) {
        out.backward(fromSpec(c.upstream as TSpec));
        c.args.forEach((a, i) => {
          if (!a.grad) return;
          const g = args[i]?.grad;
          expect(g, `grad of argument ${i}`).not.toBeNull();
          expectClose(g as Tensor, c.grads?.[i] as TSpec, tol);
        });
      }
      // module form: same value
      const m = new (Mod as new (o: unknown) => nn.Module)(options(c));
      const out2 = m.call(...(c.args.map((a) => fromSpec(a.t)) as never[])) as Tensor;
      expectClose(out2, c.out as TSpec, tol);
    });
  }

  it("weight buffers are saved under PyTorch's keys and follow module.to()", () => {
    const ce = new nn.CrossEntropyLoss({ weight: tensor([1, 2, 3]) });
    expect(Object.keys(ce.stateDict())).toEqual(["weight"]);
    const bce = new nn.BCEWithLogitsLoss({ weight: tensor([1, 2]), posWeight: tensor([3, 4]) });
    expect(Object.keys(bce.stateDict())).toEqual(["weight", "pos_weight"]);
    bce.to("float64");
    expect(bce.posWeight?.dtype).toBe("float64");
    expect(Object.keys(new nn.MSELoss().stateDict())).toEqual([]);
    expect(String(new nn.MSELoss())).toBe("MSELoss()");
  });

  it("rejects bad reductions and options with clear errors", () => {
    const x = tensor([[0.1, 0.2]]);
    expect(() => F.mseLoss(x, x, { reduction: "avg" as never })).toThrow(/mseLoss: avg is not a valid value for reduction/);
    expect(() => F.klDiv(x, x, { reduction: "avg" as never })).toThrow(/'batchmean'/);
    expect(() => F.smoothL1Loss(x, x, { beta: -1 })).toThrow(/negative values for beta/);
    expect(() => F.crossEntropy(x, tensor([0], { dtype: "int64" }), { labelSmoothing: 1.5 })).toThrow(/label_smoothing must be between 0.0 and 1.0/);
    expect(() => F.binaryCrossEntropy(tensor([1.5]), tensor([1]))).toThrow(/between 0 and 1/);
    expect(() => F.mseLoss(tensor([1, 2, 3]), tensor([1, 2]))).toThrow(/mseLoss: the size of input \[3\] must be broadcastable/);
    expect(() => F.crossEntropy(x, tensor([0.5]))).toThrow(/int64/);
    expect(() =>
      F.ctcLoss(tensor([[[0, 0]]]), tensor([[1]], { dtype: "int64" }), [2], [1]),
    ).toThrow(/Expected input_lengths to have value at most 1, but got value 2/);
  });

  it("int32 class targets and float64 inputs", () => {
    const c = fx.cases.find((k) => k.name === "crossEntropy ignore -100 weight mean") as LossCase;
    const x = fromSpec(c.args[0]?.t as TSpec).to("float64").requiresGrad_();
    const t32 = fromSpec(c.args[1]?.t as TSpec).to("int32");
    const out = F.crossEntropy(x, t32, options(c) as F.CrossEntropyLossOptions);
    expect(out.dtype).toBe("float64");
    expectClose(out, c.out as TSpec, { ...tol, dtype: false });
    out.backward();
    expect(x.grad?.dtype).toBe("float64");
  });

  it("CTC input lengths as number arrays match tensors", () => {
    const c = fx.cases.find((k) => k.name === "ctc mean") as LossCase;
    const [logp, targets, inLens, tgtLens] = c.args.map((a) => fromSpec(a.t));
    const a = F.ctcLoss(logp as Tensor, targets as Tensor, Array.from((inLens as Tensor).dataSync()), Array.from((tgtLens as Tensor).dataSync()));
    expectClose(a, c.out as TSpec, tol);
  });
});

describe("regression losses with differently sized target", () => {
  it("warn once, as PyTorch, that [4,1] input and [4] target broadcast to [4,4]", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const x = tensor([[1], [2], [3], [4]]);
      const y = tensor([1, 2, 3, 4]);
      for (const [name, fn] of [
        ["mseLoss", F.mseLoss],
        ["l1Loss", F.l1Loss],
        ["smoothL1Loss", F.smoothL1Loss],
        ["huberLoss", F.huberLoss],
      ] as const) {
        warn.mockClear();
        fn(x, y);
        fn(x, y);
        expect(warn).toHaveBeenCalledTimes(1);
        expect(warn).toHaveBeenCalledWith(
          `${name}: Using a target size ([4]) that is different to the input size ([4, 1]). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.`,
        );
      }
      warn.mockClear();
      F.mseLoss(x, tensor([[1], [2], [3], [4]]));
      F.mseLoss(x, tensor(1)); // a 0-dim target has a different size too: PyTorch warns
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});
