import { aminmax, cummax, cummin, kthvalue, max, median, min, sort, tensor, tidy, topk } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

/** PyTorch's namedtuples: `r.values` and `const [values, indices] = r` both work, in field order. */
describeEachBackend("tuple results are named and iterable", () => {
  const x = () => tensor([[3, 1, 2], [0, 5, 4]]);
  const cases = {
    max: () => max(x(), 1),
    min: () => min(x(), 1),
    sort: () => sort(x(), 1),
    topk: () => topk(x(), 2),
    kthvalue: () => kthvalue(x(), 2),
    median: () => median(x(), 1),
    cummax: () => cummax(x(), 1),
    cummin: () => cummin(x(), 1),
  };
  for (const [name, run] of Object.entries(cases)) {
    it(`${name}: destructuring gives [values, indices]`, () => {
      const r = run();
      const [values, indices] = r;
      expect(values).toBe(r.values);
      expect(indices).toBe(r.indices);
      expect([...r]).toHaveLength(2);
      expect(Object.keys(r)).toEqual(["values", "indices"]);
    });
  }

  it("aminmax: [min, max]", () => {
    const r = aminmax(x(), { dim: 1 });
    const [lo, hi] = r;
    expect(lo.tolist()).toEqual([1, 0]);
    expect(hi.tolist()).toEqual([3, 5]);
  });

  it("tidy() keeps both fields of a returned namedtuple", () => {
    const r = tidy(() => max(x(), 1));
    const [values, indices] = r;
    expect(values.tolist()).toEqual([3, 5]);
    expect(indices.tolist()).toEqual([0, 1]);
  });
});
