import { F } from "@dl/nn";
import { fromHost, logSoftmax, manualSeed, randn, softmax, sum, tensor } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { withoutKernels } from "../nn/fused-helpers.js";

/**
 * torch.softmax / torch.log_softmax as free functions of @dl/tensor. F.softmax and F.logSoftmax
 * are the same op (checked against PyTorch in test/nn/activation.test.ts); this checks the tensor
 * entry point itself, on both the fused and the composed path.
 */
describeEachBackend("softmax / logSoftmax (@dl/tensor)", (device) => {
  for (const [path, run] of [
    ["fused", <T>(f: () => T) => f()],
    ["composed", <T>(f: () => T) => withoutKernels(device, ["softmax", "softmaxBackward"], f)],
  ] as const) {
    it(`${path}: known values, rows summing to 1, and gradFn names`, () => {
      run(() => {
        const x = tensor([
          [1, 2, 3],
          [0, 0, Number.NEGATIVE_INFINITY],
        ]).requiresGrad_();
        const y = softmax(x, 1);
        const want = [0.09003057, 0.24472847, 0.66524096, 0.5, 0.5, 0];
        Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i] as number, 6));
        expect(y.gradFn?.name()).toBe("SoftmaxBackward0");
        const l = logSoftmax(x, -1);
        expect(l.dataSync()[0]).toBeCloseTo(Math.log(0.09003057), 5);
        expect(l.gradFn?.name()).toBe("LogSoftmaxBackward0");
        sum(y.select(1, 2)).backward();
        // d softmax_2 / d x_j = y_2 (delta_2j - y_j)
        expect(x.grad?.dataSync()[0]).toBeCloseTo(-0.66524096 * 0.09003057, 6);
      });
    });
  }

  it("equals F.softmax / F.logSoftmax, accepts dtype, rejects an out-of-range dim naming the op", () => {
    manualSeed(0);
    const x = randn([3, 4, 5]);
    expect(Array.from(softmax(x, 1).dataSync())).toEqual(Array.from(F.softmax(x, 1).dataSync()));
    expect(Array.from(logSoftmax(x, 0).dataSync())).toEqual(Array.from(F.logSoftmax(x, 0).dataSync()));
    expect(softmax(fromHost([1, 2], [2], { dtype: "int32" }), 0, { dtype: "float32" }).dtype).toBe("float32");
    expect(() => softmax(x, 3)).toThrow(/softmax: dimension out of range/);
    expect(() => softmax(fromHost([1, 2], [2], { dtype: "int32" }), 0)).toThrow(/softmax: expected a floating point input/);
  });
});
