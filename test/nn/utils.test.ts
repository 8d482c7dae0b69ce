import "@dl/autograd";
import { Linear, Parameter, clipGradNorm_, clipGradValue_, parametersToVector, vectorToParameters } from "@dl/nn";
import { type Tensor, arange, mul, ones, sum, tensor, zeros } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";

interface UtilCase {
  kind: "clipGradNorm" | "clipGradValue" | "parametersToVector";
  maxNorm?: number;
  normType?: number | "inf";
  clipValue?: number;
  grads?: TSpec[];
  total?: TSpec;
  clipped?: TSpec[];
  params?: TSpec[];
  vector?: TSpec;
}

const fx = loadFixtures("nn_loss") as { utils: UtilCase[] };

function paramsWithGrads(grads: TSpec[]): Parameter[] {
  return grads.map((g) => {
    const p = new Parameter(zeros(g.shape));
    p.grad = fromSpec(g);
    return p;
  });
}

describeEachBackend("gradient utilities vs PyTorch", () => {
  for (const c of fx.utils) {
    const label = c.kind === "clipGradNorm" ? `clipGradNorm_ normType=${c.normType} maxNorm=${c.maxNorm}` : c.kind;
    it(label, () => {
      if (c.kind === "clipGradNorm") {
        const params = paramsWithGrads(c.grads as TSpec[]);
        const normType = c.normType === "inf" ? Number.POSITIVE_INFINITY : (c.normType as number);
        const total = clipGradNorm_(params, c.maxNorm as number, { normType });
        expectClose(total, c.total as TSpec);
        params.forEach((p, i) => expectClose(p.grad as Tensor, (c.clipped as TSpec[])[i] as TSpec));
      } else if (c.kind === "clipGradValue") {
        const params = paramsWithGrads(c.grads as TSpec[]);
        clipGradValue_(params, c.clipValue as number);
        params.forEach((p, i) => expectClose(p.grad as Tensor, (c.clipped as TSpec[])[i] as TSpec));
      } else {
        const params = (c.params as TSpec[]).map((s) => new Parameter(fromSpec(s)));
        expectClose(parametersToVector(params), c.vector as TSpec);
      }
    });
  }

  it("clipGradNorm_ skips parameters without gradients, accepts one tensor, and checks non-finite norms", () => {
    const a = new Parameter(ones(2));
    const b = new Parameter(ones(3));
    expect(clipGradNorm_([a, b], 1).item()).toBe(0);
    a.grad = tensor([3, 4]);
    const total = clipGradNorm_([a, b], 1);
    expect(total.item()).toBeCloseTo(5, 6);
    expect(a.grad.tolist()).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
    a.grad = tensor([3, 4]);
    expect(clipGradNorm_(a, 10).item()).toBeCloseTo(5, 6);
    expect(a.grad.tolist()).toEqual([3, 4]);
    a.grad = tensor([Number.POSITIVE_INFINITY, 1]);
    expect(() => clipGradNorm_([a], 1, { errorIfNonfinite: true })).toThrow(/clipGradNorm_: The total norm of order 2 .* is non-finite/);
  });

  it("clips the gradients a real backward produced, in place", () => {
    const lin = new Linear(3, 2);
    sum(mul(lin.call(ones(4, 3)), 100)).backward();
    const gradBefore = lin.weight.grad;
    const total = clipGradNorm_(lin.parameters(), 0.5) as Tensor;
    expect(total.item()).toBeGreaterThan(0.5);
    expect(lin.weight.grad).toBe(gradBefore);
    const after = clipGradNorm_(lin.parameters(), 1e9).item() as number;
    expect(after).toBeCloseTo(0.5, 4);
  });

  it("vectorToParameters points the parameters at slices of the vector", () => {
    const lin = new Linear(2, 3);
    const vec = arange(9, { dtype: "float32" });
    vectorToParameters(vec, lin.parameters());
    expect(lin.weight.tolist()).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(lin.bias?.tolist()).toEqual([6, 7, 8]);
    expect(lin.weight.requiresGrad).toBe(true);
    expect(parametersToVector(lin.parameters()).tolist()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // The gradient flows through parametersToVector to every parameter.
    sum(mul(parametersToVector(lin.parameters()), 2)).backward();
    expect(lin.bias?.grad?.tolist()).toEqual([2, 2, 2]);
    expect(() => vectorToParameters(arange(8, { dtype: "float32" }), lin.parameters())).toThrow(/vectorToParameters: vec has 8 elements, but the parameters hold 9/);
    expect(() => vectorToParameters([1, 2] as never, lin.parameters())).toThrow(/expected vec to be a Tensor/);
  });
});
