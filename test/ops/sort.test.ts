import * as dl from "@dl/tensor";
import { type Backend, type Tensor, gatherOp, getBackend, registerBackend, tensor } from "@dl/tensor";
import { cpuBackend } from "@dl/backend-cpu";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type FakeNode, reaches, useFakeRecorder } from "../helpers/fake-recorder.js";
import { type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";
import { type FixtureOp, expectSameValues, runFixtureCases } from "./fixture-cases.js";

const fx = loadFixtures("sort");

const ops: Record<string, FixtureOp> = {
  sort: dl.sort,
  argsort: dl.argsort,
  msort: dl.msort,
  topk: dl.topk,
  kthvalue: dl.kthvalue,
  median: dl.median,
  nanmedian: dl.nanmedian,
  unique: dl.unique,
  uniqueConsecutive: dl.uniqueConsecutive,
};

describeEachBackend("sorting: PyTorch fixtures", (device) => {
  // Backends that read synchronously replay PyTorch's CPU tie order exactly.
  runFixtureCases(fx, ops, getBackend(device).canReadSync);
});

describeEachBackend("sorting: API forms", () => {
  it("unique returns a tensor without flags and an object with them", () => {
    const x = tensor([2, 1, 2], { dtype: "int64" });
    const u = dl.unique(x);
    expect(u.tolist()).toEqual([1, 2]);
    const r = dl.unique(x, { returnCounts: true });
    expect(r.values.tolist()).toEqual([1, 2]);
    expect(r.counts?.tolist()).toEqual([1, 2]);
    expect(r.inverseIndices).toBeUndefined();
  });

  it("sorted: false still gives sorted unique values", () => {
    expect(dl.unique(tensor([3, 1, 2, 1]), { sorted: false }).tolist()).toEqual([1, 2, 3]);
  });

  it("unique keeps each NaN distinct and sorts them last", () => {
    const r = dl.unique(tensor([Number.NaN, 1, Number.NaN, 1]), { returnInverse: true, returnCounts: true });
    expect(r.values.tolist()).toEqual([1, Number.NaN, Number.NaN]);
    expect(r.inverseIndices?.tolist()).toEqual([1, 0, 2, 0]);
    expect(r.counts?.tolist()).toEqual([2, 1, 1]);
  });

  it("does not modify its input", () => {
    const x = tensor([[3, 1, 2, 1], [0, -1, 5, 5]]);
    const before = x.tolist();
    dl.sort(x, 1);
    dl.topk(x, 2);
    dl.kthvalue(x, 2);
    dl.median(x, 1);
    dl.unique(x, { dim: 0 });
    expect(x.tolist()).toEqual(before);
  });

  it("stable sort keeps equal elements in input order (long rows)", () => {
    const data = Array.from({ length: 50 }, (_, i) => i % 3);
    const r = dl.sort(tensor(data), { stable: true });
    const idx = r.indices.tolist() as number[];
    // Within each group of equal values, indices ascend.
    for (let i = 1; i < idx.length; i++) {
      if (data[idx[i] as number] === data[idx[i - 1] as number]) expect(idx[i] as number).toBeGreaterThan(idx[i - 1] as number);
    }
  });
});

describe("sorting on a backend without synchronous reads (stable-sort fallback)", () => {
  // A CPU backend that claims it cannot read synchronously while the op runs, so sort / topk /
  // kthvalue take the device path (backend sort primitive) instead of replaying std::sort.
  const alt = { ...cpuBackend, name: "nosync" } as Backend & { canReadSync: boolean };
  registerBackend(alt);
  const run = <T>(f: () => T): T => {
    alt.canReadSync = false;
    try {
      return f();
    } finally {
      alt.canReadSync = true;
    }
  };
  const tieCases = (fx.cases as { name: string; op: string; x: string; args: unknown[]; tf?: unknown; ties?: boolean | string; out: Record<string, TSpec> }[]).filter(
    (c) => c.ties && !c.tf && (c.op === "sort" || c.op === "topk" || c.op === "kthvalue"),
  );
  for (const c of tieCases) {
    it(`${c.name}: PyTorch's values, indices that point at them`, () => {
      const x = fromSpec(fx.inputs[c.x] as TSpec, { device: "nosync" });
      const r = run(() => (ops[c.op] as FixtureOp)(x, ...c.args)) as { values: Tensor; indices: Tensor };
      if (c.ties === "unordered") expectSameValues(r.values, c.out.values as TSpec);
      else expectClose(r.values, c.out.values as TSpec);
      expect([...r.indices.shape]).toEqual((c.out.indices as TSpec).shape);
      if (c.op === "kthvalue") return;
      const dim = c.op === "topk" ? ((c.args[1] as number | undefined) ?? -1) : typeof c.args[0] === "number" ? c.args[0] : -1;
      expect(Array.from(gatherOp(x, dim, r.indices).dataSync())).toEqual(Array.from(r.values.dataSync()));
    });
  }
});


describe("sort values are gathered through recorded primitives", () => {
  useFakeRecorder();

  const cases: [string, (x: Tensor) => Tensor, string][] = [
    ["sort", (x) => dl.sort(x, 1).values, "SortBackward0"],
    ["sort long unstable", (x) => dl.sort(x.reshape([-1]).expand([3, 6]).reshape([-1])).values, "SortBackward0"],
    ["msort", (x) => dl.msort(x), "SortBackward0"],
    ["topk", (x) => dl.topk(x, 2).values, "TopkBackward0"],
    ["kthvalue", (x) => dl.kthvalue(x, 2, 0).values, "KthvalueBackward0"],
    ["median", (x) => dl.median(x), "MedianBackward0"],
    ["median dim", (x) => dl.median(x, 1).values, "MedianBackward1"],
    ["nanmedian dim", (x) => dl.nanmedian(x, 0).values, "NanmedianBackward1"],
  ];
  for (const [name, f, label] of cases) {
    it(`${name} is connected to its input`, () => {
      const x = tensor([[1, -2, 3], [0.5, 4, -1]]);
      x._requiresGrad = true;
      const y = f(x);
      expect(reaches(y, x)).toBe(true);
      expect((y.gradFn as FakeNode).name).toBe(label);
      // Indices are never part of the graph.
      expect(dl.sort(x, 1).indices.gradFn).toBeNull();
    });
  }
});
