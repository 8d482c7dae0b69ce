import "@dl/autograd";
import { F } from "@dl/nn";
import {
  type Backend,
  type StridedRef,
  type Tensor,
  argmax,
  cumsum,
  getBackend,
  gt,
  index,
  manualSeed,
  matmul,
  mean,
  randint,
  randn,
  sort,
  std,
  sum,
  tidy,
  topk,
  where,
} from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

/**
 * Leak checks in the manner of tfjs's expectNumDataIds: a backend kernel leaves exactly its result
 * storages behind (its scratch buffers are freed inside), and an op run in tidy() leaves exactly
 * the storages of what it returns (its temporaries, and the kernels' scratch, are all released).
 */

describeEachBackend("kernels and ops leave no storage behind", (device) => {
  const storages = () => getBackend(device).memory().storages;

  /**
   * Calls a kernel on inputs made beforehand, checks it added exactly `results` storages, and
   * frees them.
   */
  function expectKernel(name: string, results: number, make: () => Tensor[], run: (b: Backend, x: StridedRef[]) => unknown[]) {
    it(`kernel ${name} leaves exactly its ${results === 1 ? "result" : `${results} results`}`, () => {
      manualSeed(0);
      const b = getBackend(device);
      const inputs = make();
      const before = storages();
      const out = run(
        b,
        inputs.map((t) => t.ref),
      );
      expect(storages() - before).toBe(results);
      for (const d of out) b.dispose(d);
      expect(storages()).toBe(before);
      for (const t of inputs) t.dispose();
    });
  }

  const one = () => [randn(6, 5)];
  expectKernel("copy (strided)", 1, () => [randn(6, 5).transpose(0, 1)], (b, [x]) => [b.copy(x as StridedRef, "float32")]);
  expectKernel("unary exp", 1, one, (b, [x]) => [b.unary("exp", x as StridedRef, "float32")]);
  expectKernel("binary add (broadcast)", 1, () => [randn(6, 5), randn(1, 5).expand(6, 5)], (b, [x, y]) => [
    b.binary("add", x as StridedRef, y as StridedRef, "float32"),
  ]);
  expectKernel("where", 1, () => [gt(randn(6, 5), 0), randn(6, 5), randn(6, 5)], (b, [c, x, y]) => [
    b.where(c as StridedRef, x as StridedRef, y as StridedRef, "float32"),
  ]);
  expectKernel("reduce sum over two dims", 1, () => [randn(4, 6, 5)], (b, [x]) => [b.reduce("sum", x as StridedRef, [0, 2], "float32")]);
  expectKernel("argReduce", 1, one, (b, [x]) => [b.argReduce("argmax", x as StridedRef, 1)]);
  expectKernel("scan cumsum", 1, one, (b, [x]) => [b.scan("cumsum", x as StridedRef, 1, "float32").values]);
  expectKernel("scan cummax", 2, one, (b, [x]) => {
    const r = b.scan("cummax", x as StridedRef, 1, "float32");
    return [r.values, r.indices];
  });
  expectKernel("sort", 2, one, (b, [x]) => {
    const r = b.sort(x as StridedRef, 1, true);
    return [r.values, r.indices];
  });
  expectKernel("matmul (batched, transposed operand)", 1, () => [randn(3, 6, 5), randn(3, 4, 5).transpose(1, 2)], (b, [x, y]) => [
    b.matmul(x as StridedRef, y as StridedRef, "float32"),
  ]);
  expectKernel("matmul 64x96x80 (blocked path)", 1, () => [randn(1, 64, 96), randn(1, 96, 80)], (b, [x, y]) => [
    b.matmul(x as StridedRef, y as StridedRef, "float32"),
  ]);
  expectKernel("gather", 1, () => [randn(6, 5), randint(0, 5, [6, 3])], (b, [x, i]) => [b.gather(x as StridedRef, 1, i as StridedRef)]);
  expectKernel("scatter add", 1, () => [randn(6, 5), randint(0, 5, [6, 3]), randn(6, 3)], (b, [x, i, y]) => [
    b.scatter(x as StridedRef, 1, i as StridedRef, y as StridedRef, "add"),
  ]);

  /** Runs an op in tidy() and checks that only its results' storages remain. */
  function expectOp(name: string, run: () => Tensor | Tensor[]) {
    it(`op ${name} in tidy() leaves only its results`, () => {
      manualSeed(0);
      const before = storages();
      const out = tidy(run);
      const results = new Set((Array.isArray(out) ? out : [out]).map((t) => t._storage));
      expect(storages() - before).toBe(results.size);
      for (const t of Array.isArray(out) ? out : [out]) t.dispose();
      expect(storages()).toBe(before);
    });
  }

  expectOp("matmul", () => matmul(randn(4, 6), randn(6, 3)));
  expectOp("std", () => std(randn(5, 7), { dim: 1 }));
  expectOp("mean", () => mean(randn(5, 7)));
  expectOp("cumsum", () => cumsum(randn(5, 7), 1));
  expectOp("sort", () => {
    const r = sort(randn(5, 7), { dim: 1 });
    return [r.values, r.indices];
  });
  expectOp("topk", () => {
    const r = topk(randn(5, 7), 3);
    return [r.values, r.indices];
  });
  expectOp("argmax", () => argmax(randn(5, 7), { dim: 1 }));
  expectOp("where", () => where(gt(randn(4, 4), 0), randn(4, 4), 0));
  expectOp("advanced index", () => index(randn(5, 7), randint(0, 5, [3])));
  expectOp("F.softmax", () => F.softmax(randn(4, 9), 1));
  expectOp("F.layerNorm", () => F.layerNorm(randn(4, 9), [9]));
  expectOp("F.crossEntropy", () => F.crossEntropy(randn(4, 5), randint(0, 5, [4])));
  expectOp("F.conv2d", () => F.conv2d(randn(2, 3, 6, 6), randn(4, 3, 3, 3), null, { padding: 1 }));
  expectOp("F.maxPool2d", () => F.maxPool2d(randn(2, 3, 6, 6), 2));
  expectOp("forward and backward of a small MLP (gradient kept)", () => {
    const w = randn(6, 4, { requiresGrad: true });
    const loss = sum(F.relu(matmul(randn(3, 6), w)));
    loss.backward();
    return [w, w.grad as Tensor];
  });
});
