import { cpuBackend } from "@dl/backend-cpu";
import { DLError, type Tensor, add, getBackend, keep, tensor, tidy, zeros } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

describeEachBackend("tidy / keep / dispose", (device) => {
  const memory = () => getBackend(device).memory();
  it("tidy disposes temporaries and keeps the returned tensor", () => {
    const before = memory();
    const temps: ReturnType<typeof zeros>[] = [];
    const out = tidy(() => {
      const a = zeros(4);
      const b = zeros(4);
      temps.push(a, b);
      return add(a, b);
    });
    expect(temps.every((t) => t.isDisposed)).toBe(true);
    expect(out.isDisposed).toBe(false);
    expect(out.tolist()).toEqual([0, 0, 0, 0]);
    const after = memory();
    expect(after.storages).toBe(before.storages + 1);
    expect(after.bytes).toBe(before.bytes + 16);
    out.dispose();
    expect(memory()).toEqual(before);
  });

  it("keeps tensors nested in returned arrays and objects", () => {
    let temp = zeros(1);
    temp.dispose();
    const before = memory();
    const r = tidy(() => {
      temp = zeros(3);
      return { a: zeros(1), list: [zeros(2), { deep: zeros(2) }], n: 5 };
    });
    expect(temp.isDisposed).toBe(true);
    expect(r.a.isDisposed).toBe(false);
    expect((r.list[0] as ReturnType<typeof zeros>).isDisposed).toBe(false);
    expect((r.list[1] as { deep: ReturnType<typeof zeros> }).deep.isDisposed).toBe(false);
    expect(memory().storages).toBe(before.storages + 3);
    r.a.dispose();
    (r.list[0] as ReturnType<typeof zeros>).dispose();
    (r.list[1] as { deep: ReturnType<typeof zeros> }).deep.dispose();
    expect(memory()).toEqual(before);
  });

  it("memory returns to its start after a tidy that returns nothing", () => {
    const before = memory();
    tidy(() => {
      const x = tensor([[1, 2], [3, 4]]);
      const y = add(x, x);
      const v = y.t().contiguous();
      return v.numel();
    });
    expect(memory()).toEqual(before);
  });

  it("nested tidy hands the inner result to the outer scope", () => {
    let inner: ReturnType<typeof zeros> | undefined;
    const outer = tidy(() => {
      inner = tidy(() => zeros(2));
      expect(inner.isDisposed).toBe(false);
      return zeros(1);
    });
    expect(inner?.isDisposed).toBe(true);
    expect(outer.isDisposed).toBe(false);
    outer.dispose();
  });

  it("keep() exempts a tensor from every enclosing scope", () => {
    let kept: ReturnType<typeof zeros> | undefined;
    tidy(() => {
      tidy(() => {
        kept = keep(zeros(2));
      });
    });
    expect(kept?.isDisposed).toBe(false);
    kept?.dispose();
  });

  it("tidy disposes everything when fn throws, and rethrows", () => {
    const before = memory();
    let t: ReturnType<typeof zeros> | undefined;
    expect(() =>
      tidy(() => {
        t = zeros(3);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(t?.isDisposed).toBe(true);
    expect(memory()).toEqual(before);
  });

  it("tidy refuses async functions", () => {
    expect(() => tidy(async () => 1)).toThrow(/^tidy: the function must not be async/);
  });

  it("tensors created before tidy are untouched", () => {
    const x = zeros(2);
    tidy(() => add(x, 1));
    expect(x.isDisposed).toBe(false);
    x.dispose();
  });

  it("dispose is idempotent and frees storage once the last view is gone", () => {
    const before = memory();
    const x = zeros(8);
    const v = x.view(2, 4);
    x.dispose();
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(memory().storages).toBe(before.storages + 1);
    v.dispose();
    v.dispose();
    expect(memory()).toEqual(before);
  });

  it("using a disposed tensor throws a clear DLError naming the op", () => {
    const x = tensor([1]);
    x.dispose();
    expect(() => x.dataSync()).toThrow(DLError);
    expect(() => x.dataSync()).toThrow("dataSync: tensor was disposed");
    expect(() => x.view(1, 1)).toThrow("view: tensor was disposed");
    expect(() => x.to("float64")).toThrow("to: tensor was disposed");
    expect(() => add(x, 1)).toThrow("add: tensor was disposed");
    expect(() => x.item()).toThrow(/tensor was disposed/);
    expect(String(x)).toBe("tensor(<disposed>)");
  });

  it("the disposed-tensor error says how a tensor made inside tidy() outlives it", () => {
    let inner: Tensor | undefined;
    tidy(() => {
      inner = add(tensor([1, 2]), 1);
    });
    expect(() => inner?.tolist()).toThrow(
      "dataSync: tensor was disposed by the tidy() scope that created it, when the scope ended; to use a tensor after the tidy() that created it, return it from the function or keep() it",
    );
    const own = tensor([1]);
    own.dispose();
    expect(() => add(own, 1)).toThrow(/^add: tensor was disposed by dispose\(\); /);
  });

  it("a view of a disposed base still reads; the base itself refuses", () => {
    const x = tensor([1, 2, 3]);
    const v = x.slice(0, 1);
    x.dispose();
    expect(v.tolist()).toEqual([2, 3]);
    expect(() => x.slice(0, 1)).toThrow(/tensor was disposed/);
    v.dispose();
  });
});

describe("memory() of the CPU backend", () => {
  const memory = () => cpuBackend.memory();
  it("counts storages and bytes per dtype", () => {
    const before = memory();
    const ts = [zeros(3, { device: "cpu", dtype: "float64" }), zeros(3, { device: "cpu", dtype: "int64" }), zeros(3, { device: "cpu", dtype: "int32" }), zeros(3, { device: "cpu", dtype: "bool" }), zeros(3, { device: "cpu", dtype: "float16" })];
    const after = memory();
    expect(after.storages - before.storages).toBe(5);
    // int64 lives in a Float64Array, halves in Float32Array lanes (see docs/architecture.md).
    expect(after.bytes - before.bytes).toBe(24 + 24 + 12 + 3 + 12);
    for (const t of ts) t.dispose();
    expect(memory()).toEqual(before);
  });
});
