import { type CollateFn, collate, defaultCollate, defaultCollateFnMap, defaultConvert, padCollate } from "@dl/data";
import "@dl/autograd";
import { ArgumentError, ShapeError, Tensor, arange, randn, setDefaultDtype, sum, tensor } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("data");

type Tagged =
  | { tensor: TSpec }
  | { ndarray: TSpec }
  | { int: number }
  | { float: number }
  | { bool: boolean }
  | { str: string }
  | { tuple: Tagged[] }
  | { list: Tagged[] }
  | { dict: Record<string, Tagged> };

/** Rebuilds a Python item in JS: ints -> bigint, floats -> number, ndarrays -> TypedArrays, tuples/lists -> arrays. */
function untag(t: Tagged): unknown {
  if ("tensor" in t) return fromSpec(t.tensor);
  if ("ndarray" in t) {
    if (t.ndarray.dtype !== "float32") throw new Error(`fixture ndarray dtype ${t.ndarray.dtype}`);
    return Float32Array.from(t.ndarray.data as number[]);
  }
  if ("int" in t) return BigInt(t.int);
  if ("float" in t) return t.float;
  if ("bool" in t) return t.bool;
  if ("str" in t) return t.str;
  if ("tuple" in t) return t.tuple.map(untag);
  if ("list" in t) return t.list.map(untag);
  return Object.fromEntries(Object.entries(t.dict).map(([k, v]) => [k, untag(v)]));
}

type Expected = { tensor: TSpec; from_float: boolean } | { strs: string[] } | { list: Expected[] } | { dict: Record<string, Expected> };

/** Compares a collated batch with PyTorch's; Python floats collate to float64 there, to the default float32 here. */
function check(got: unknown, want: Expected, path: string): void {
  if ("tensor" in want) {
    expect(got, path).toBeInstanceOf(Tensor);
    const spec = want.from_float ? { ...want.tensor, dtype: "float32" as const } : want.tensor;
    expectClose(got as Tensor, spec);
  } else if ("strs" in want) {
    expect(got, path).toEqual(want.strs);
  } else if ("list" in want) {
    expect(Array.isArray(got), path).toBe(true);
    expect((got as unknown[]).length, path).toBe(want.list.length);
    want.list.forEach((w, i) => check((got as unknown[])[i], w, `${path}[${i}]`));
  } else {
    expect(Object.keys(got as object), path).toEqual(Object.keys(want.dict));
    for (const [k, w] of Object.entries(want.dict)) check((got as Record<string, unknown>)[k], w, `${path}.${k}`);
  }
}

describeEachBackend("collate", () => {
  for (const name of Object.keys(fx.collate)) {
    it(`defaultCollate matches PyTorch's default_collate: ${name}`, () => {
      const c = fx.collate[name] as { batch: Tagged[]; expected: Expected };
      check(defaultCollate(c.batch.map(untag)), c.expected, name);
    });
  }

  it("JS leaves: numbers -> default float dtype (float64 after setDefaultDtype), bigint -> int64, boolean -> bool, strings -> array", () => {
    expect(defaultCollate([1, 2.5]).dtype).toBe("float32");
    setDefaultDtype("float64");
    try {
      expect(defaultCollate([1, 2.5]).dtype).toBe("float64");
    } finally {
      setDefaultDtype("float32");
    }
    const t = defaultCollate([3n, 4n]);
    expect(t.dtype).toBe("int64");
    expect(t.tolist()).toEqual([3, 4]);
    expect(defaultCollate([true, false]).tolist()).toEqual([true, false]);
    expect(defaultCollate(["a", "b"])).toEqual(["a", "b"]);
    const m = defaultCollate([new Map([["k", 1]]), new Map([["k", 2]])]);
    expect(m).toBeInstanceOf(Map);
    expect((m.get("k") as Tensor).tolist()).toEqual([1, 2]);
    expect(defaultCollate([new Int32Array([1, 2]), new Int32Array([3, 4])]).dtype).toBe("int32");
    expect(defaultCollate([new Uint8Array([1, 2]), new Uint8Array([3, 4])]).tolist()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(defaultCollate([new BigInt64Array([1n]), new BigInt64Array([2n])]).dtype).toBe("int64");
  });

  it("stacking keeps autograd: gradients flow back to the items", () => {
    const a = randn(2, { requiresGrad: true });
    const b = randn(2, { requiresGrad: true });
    const batch = defaultCollate([a, b]);
    sum(batch).backward();
    expect(a.grad?.tolist()).toEqual([1, 1]);
  });

  it("errors: unequal list sizes, mixed leaf types, unsupported elements, missing keys", () => {
    expect(() => defaultCollate([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => defaultCollate([[1, 2], [3]])).toThrow(/each element in list of batch should be of equal size/);
    expect(() => defaultCollate([1, "a"] as never[])).toThrow(/element 1 of the batch is string but element 0 is number/);
    expect(() => defaultCollate([null, null])).toThrow(ArgumentError);
    expect(() => defaultCollate([null, null])).toThrow(/^defaultCollate: batch must contain tensors, .*; found null/);
    class Point {
      x = 1;
    }
    expect(() => defaultCollate([new Point()])).toThrow(/found Point/);
    expect(() => defaultCollate([{ a: 1 }, { b: 2 }] as never[])).toThrow(/element 1 of the batch has no key 'a'/);
    expect(() => defaultCollate([randn(2), randn(3)])).toThrow(/stack: expects each tensor to be equal size, but got \[2\] at entry 0 and \[3\] at entry 1/);
  });

  it("collate with a custom collateFnMap (PyTorch's collate_fn_map extension point)", () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const map = new Map(defaultCollateFnMap);
    const points: CollateFn = (batch) => (batch as Point[]).map((p) => p.x);
    map.set(Point, points);
    map.set("string", (batch) => (batch as string[]).join("|"));
    const out = collate([{ p: new Point(1), s: "a", n: 1 }, { p: new Point(2), s: "b", n: 2 }], { collateFnMap: map }) as Record<string, unknown>;
    expect(out.p).toEqual([1, 2]);
    expect(out.s).toBe("a|b");
    expect((out.n as Tensor).tolist()).toEqual([1, 2]);
  });

  it("defaultConvert: typed arrays -> tensors inside structures; the rest unchanged", () => {
    const t = randn(2);
    const out = defaultConvert({ a: new Float64Array([1, 2]), b: [3, "x", t] }) as { a: Tensor; b: unknown[] };
    expect(out.a.dtype).toBe("float64");
    expect(out.a.tolist()).toEqual([1, 2]);
    expect(out.b[0]).toBe(3);
    expect(out.b[1]).toBe("x");
    expect(out.b[2]).toBe(t);
  });

  for (const [k, c] of (fx.pad_sequence as { seqs: TSpec[]; batch_first: boolean; padding_value: number; expected: TSpec }[]).entries()) {
    it(`padCollate matches pad_sequence (case ${k}: batchFirst ${c.batch_first}, padding ${c.padding_value}) and returns lengths`, () => {
      const seqs = c.seqs.map((s) => fromSpec(s));
      const { padded, lengths } = padCollate(seqs, { batchFirst: c.batch_first, paddingValue: c.padding_value });
      expectClose(padded, c.expected);
      expect(lengths.dtype).toBe("int64");
      expect(lengths.tolist()).toEqual(c.seqs.map((s) => s.shape[0]));
    });
  }

  it("padCollate: number arrays become int64 tokens; gradients flow for float sequences; shape errors", () => {
    const { padded, lengths } = padCollate([[5, 6], [7], [8, 9, 10]], { paddingValue: -1 });
    expect(padded.dtype).toBe("int64");
    expect(padded.tolist()).toEqual([
      [5, 6, -1],
      [7, -1, -1],
      [8, 9, 10],
    ]);
    expect(lengths.tolist()).toEqual([2, 1, 3]);
    const a = randn(2, 3, { requiresGrad: true });
    const b = randn(1, 3, { requiresGrad: true });
    sum(padCollate([a, b]).padded).backward();
    expect(b.grad?.shape).toEqual([1, 3]);
    expect(a.grad?.tolist()).toEqual([
      [1, 1, 1],
      [1, 1, 1],
    ]);
    expect(() => padCollate([randn(2, 3), randn(2, 4)])).toThrow(/sequences must agree in every dim but the first: sequence 0 has shape \[2,3\], sequence 1 has \[2,4\]/);
    expect(() => padCollate([tensor(1)])).toThrow(/0-dim/);
    expect(arange(3).dtype).toBe("int64");
  });
});
