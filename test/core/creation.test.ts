import {
  ArgumentError,
  type DType,
  ShapeError,
  arange,
  empty,
  emptyLike,
  eye,
  fromArray,
  fromBuffer,
  full,
  fullLike,
  linspace,
  logspace,
  numberToBFloat16Bits,
  numberToFloat16Bits,
  ones,
  onesLike,
  tensor,
  zeros,
  zerosLike,
} from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, decode, expectClose, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("core").creation;

/** Exact comparison (sign of zero and NaN included). */
function expectExact(got: ArrayLike<number>, want: TSpec["data"]): void {
  const w = want.map(decode);
  expect(got.length).toBe(w.length);
  const bad = w.flatMap((v, i) => (Object.is(got[i], v) ? [] : [`[${i}] got ${got[i]}, want ${v}`]));
  expect(bad).toEqual([]);
}

const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));

describeEachBackend("tensor()", (device) => {
  it.each((fx.nested as { data: unknown; out: TSpec }[]).map((c) => [JSON.stringify(c.data), c] as const))("tensor(%s) like PyTorch", (_l, c) => {
    const t = tensor(c.data as never);
    expectClose(t, c.out);
    expect(t.device).toBe(device);
    expect(t.isContiguous()).toBe(true);
  });

  it("numbers give float32 (JS has no int/float distinction); dtype asks for integers", () => {
    expect(tensor([1, 2]).dtype).toBe("float32");
    const i = tensor([[1, 2], [3, 4]], { dtype: "int64" });
    expect(i.dtype).toBe("int64");
    expect(i.tolist()).toEqual([[1, 2], [3, 4]]);
    expect(tensor([1.9, -1.9], { dtype: "int32" }).tolist()).toEqual([1, -1]);
  });

  it("booleans give bool; requiresGrad marks a leaf", () => {
    const b = tensor([true, false]);
    expect(b.dtype).toBe("bool");
    expect(b.tolist()).toEqual([true, false]);
    expect(tensor(true).item()).toBe(true);
    const g = tensor([1, 2], { requiresGrad: true });
    expect(g.requiresGrad).toBe(true);
    expect(g.isLeaf).toBe(true);
    expect(() => tensor([1, 2], { dtype: "int64", requiresGrad: true })).toThrow(/^requiresGrad_: only tensors of floating point dtype/);
  });

  it("TypedArrays keep their element type", () => {
    const cases: [ArrayLike<number> | BigInt64Array, DType][] = [
      [new Float32Array([1.5, 2]), "float32"],
      [new Float64Array([1.5, 2]), "float64"],
      [new Int32Array([1, -2]), "int32"],
      [new Int16Array([1, -2]), "int32"],
      [new Uint8Array([1, 255]), "int32"],
      [new BigInt64Array([1n, -(2n ** 40n)]), "int64"],
    ];
    for (const [data, dtype] of cases) {
      const t = tensor(data);
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual([2]);
    }
    expect(tensor(new BigInt64Array([1n, -(2n ** 40n)])).tolist()).toEqual([1, -(2 ** 40)]);
    expect(tensor([new Float64Array([1, 2]), new Float64Array([3, 4])]).shape).toEqual([2, 2]);
    expect(tensor([1n, 2n]).dtype).toBe("int64");
    expect(tensor(new Float32Array([1, 2]), { dtype: "float64" }).dtype).toBe("float64");
  });

  it.each((fx.ragged as { data: unknown; torch: string }[]).map((c) => [JSON.stringify(c.data), c] as const))("ragged %s throws ShapeError", (_l, c) => {
    expect(() => tensor(c.data as never)).toThrow(ShapeError);
    expect(() => tensor(c.data as never)).toThrow(/^tensor: expected /);
  });

  it("the ragged message names the dim and lengths as PyTorch does", () => {
    expect(() => tensor([[1, 2], [3]])).toThrow("tensor: expected sequence of length 2 at dim 1 (got 1)");
    expect(() => tensor(["a"] as never)).toThrow(ArgumentError);
  });
});

describeEachBackend("fromArray / fromBuffer", () => {
  it("fromArray reshapes a flat array and checks the count", () => {
    const t = fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.dtype).toBe("float32");
    expect(t.tolist()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(fromArray(new Int32Array([1, 2]), [2]).dtype).toBe("int32");
    expect(fromArray([1, 2], [2], { dtype: "int64" }).dtype).toBe("int64");
    expect(() => fromArray([1, 2, 3], [2, 2])).toThrow(ShapeError);
    expect(() => fromArray([1, 2, 3], [2, 2])).toThrow("fromArray: shape [2,2] needs 4 values, got 3");
  });

  const buffers = fx.fromBuffer as { dtype: DType; shape: number[]; hex: string; out: TSpec; bits?: number[] }[];
  it.each(buffers.map((c) => [c.dtype, c] as const))("reads PyTorch's little-endian %s bytes", (_d, c) => {
    const bytes = hexBytes(c.hex);
    const t = fromBuffer(bytes, c.dtype, c.shape);
    expect(t.dtype).toBe(c.dtype);
    expect([...t.shape]).toEqual(c.shape);
    expectExact(t.dataSync(), c.out.data);
    // ArrayBuffer input and a view at an offset read the same values.
    expectExact(fromBuffer(bytes.slice().buffer, c.dtype, c.shape).dataSync(), c.out.data);
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expectExact(fromBuffer(padded.subarray(3), c.dtype, c.shape).dataSync(), c.out.data);
    // Half formats: the values encode back to PyTorch's bit patterns (x.view(torch.int16)).
    if (c.bits) {
      const encode = c.dtype === "float16" ? numberToFloat16Bits : numberToBFloat16Bits;
      expect(Array.from(t.dataSync(), encode)).toEqual(c.bits);
    }
  });

  it("rejects a byte count that does not match", () => {
    expect(() => fromBuffer(new Uint8Array(7), "float32", [2])).toThrow(ShapeError);
    expect(() => fromBuffer(new Uint8Array(7), "float32", [2])).toThrow("fromBuffer: float32 tensor of shape [2] needs 8 bytes, got 7");
  });
});

describeEachBackend("factories", (device) => {
  it("zeros/ones/full/empty accept varargs, arrays and options", () => {
    expect(zeros(2, 3).tolist()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(zeros([2, 3]).shape).toEqual([2, 3]);
    expect(zeros().shape).toEqual([]);
    expect(ones(2, { dtype: "int64" }).dtype).toBe("int64");
    expect(ones([2], { dtype: "bool" }).tolist()).toEqual([true, true]);
    expect(full([2, 2], 7).tolist()).toEqual([[7, 7], [7, 7]]);
    expect(full([2], 7).dtype).toBe("float32");
    expect(full([2], true).dtype).toBe("bool");
    expect(full([2], 2.7, { dtype: "int64" }).tolist()).toEqual([2, 2]);
    expect(Number.isNaN(full([1], Number.NaN).item() as number)).toBe(true);
    expect(empty(3).shape).toEqual([3]);
    expect(zeros(0, 3).numel()).toBe(0);
    expect(zeros(2).device).toBe(device);
    expect(() => zeros(2, -1)).toThrow(ShapeError);
    expect(() => zeros(2.5)).toThrow(ShapeError);
  });

  it("*Like copies shape, dtype and device unless overridden", () => {
    const x = tensor([[1, 2, 3]], { dtype: "float64" });
    for (const t of [zerosLike(x), onesLike(x), emptyLike(x), fullLike(x, 4)]) {
      expect(t.shape).toEqual([1, 3]);
      expect(t.dtype).toBe("float64");
      expect(t.device).toBe(x.device);
    }
    expect(onesLike(x).tolist()).toEqual([[1, 1, 1]]);
    expect(fullLike(x, 4).tolist()).toEqual([[4, 4, 4]]);
    expect(zerosLike(x, { dtype: "int32" }).dtype).toBe("int32");
    expect(onesLike(x, { requiresGrad: true }).requiresGrad).toBe(true);
  });

  it.each((fx.arange as { args: number[]; dtype: DType | null; out: TSpec }[]).map((c) => [JSON.stringify(c.args), c.dtype ?? "", c] as const))(
    "arange(%s) %s",
    (_a, _d, c) => {
      const [a, b, s] = c.args as [number, number | undefined, number | undefined];
      const opts = c.dtype ? { dtype: c.dtype } : {};
      const t = b === undefined ? arange(a, opts) : s === undefined ? arange(a, b, opts) : arange(a, b, s, opts);
      expect(t.dtype).toBe(c.out.dtype);
      expect([...t.shape]).toEqual(c.out.shape);
      expectExact(t.dataSync(), c.out.data);
    },
  );

  it("arange errors", () => {
    expect(() => arange(0, 5, 0)).toThrow("arange: step must be nonzero");
    expect(() => arange(0, 1, 0.5, { dtype: "int64" })).toThrow(/^arange: step must be nonzero/);
    expect(() => arange(0, 5, -1)).toThrow(/^arange: upper bound and larger bound inconsistent with step sign/);
    expect(() => arange(5, 0)).toThrow(ArgumentError);
    expect(() => arange(0, Number.POSITIVE_INFINITY)).toThrow(/^arange: unsupported range/);
  });

  it.each((fx.linspace as { start: number; end: number; steps: number; dtype: DType | null; out: TSpec }[]).map((c) => [c.start, c.end, c.steps, c.dtype ?? "", c] as const))(
    "linspace(%s, %s, %s) %s",
    (_a, _b, _n, _d, c) => {
      const t = linspace(c.start, c.end, c.steps, c.dtype ? { dtype: c.dtype } : {});
      // PyTorch computes float32 linspace in float32 (vectorized), this in float64 then rounds: 1 ulp apart at most.
      expectClose(t, c.out, { atol: 1e-6 });
    },
  );

  it("linspace rejects negative steps", () => {
    expect(() => linspace(0, 1, -1)).toThrow(ArgumentError);
    expect(() => linspace(0, 1, -1)).toThrow(/^linspace: /);
  });

  it.each((fx.logspace as { start: number; end: number; steps: number; base: number; dtype: DType | null; out: TSpec }[]).map((c) => [c.start, c.end, c.steps, c.base, c] as const))(
    "logspace(%s, %s, %s, base %s)",
    (_a, _b, _n, _base, c) => {
      expectClose(logspace(c.start, c.end, c.steps, c.base, c.dtype ? { dtype: c.dtype } : {}), c.out);
    },
  );

  it.each((fx.eye as { n: number; m: number | null; dtype: DType | null; out: TSpec }[]).map((c) => [c.n, c.m ?? "", c.dtype ?? "", c] as const))(
    "eye(%s, %s) %s",
    (_n, _m, _d, c) => {
      const opts = c.dtype ? { dtype: c.dtype } : {};
      const t = c.m === null ? eye(c.n, opts) : eye(c.n, c.m, opts);
      expect(t.dtype).toBe(c.out.dtype);
      expect([...t.shape]).toEqual(c.out.shape);
      expectExact(t.dataSync(), c.out.data);
    },
  );
});

describe("item / tolist / data", () => {
  it("item() needs exactly one element", () => {
    expect(tensor([[2.5]]).item()).toBe(2.5);
    expect(() => tensor([1, 2]).item()).toThrow("item: a Tensor with 2 elements cannot be converted to a scalar");
  });

  it("data() resolves to the same values as dataSync(), for views too", async () => {
    const x = arange(6, { dtype: "float32" }).reshape(2, 3).t();
    expect(Array.from(await x.data())).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from(x.dataSync())).toEqual([0, 3, 1, 4, 2, 5]);
    const d = x.dataSync();
    d[0] = 99;
    expect(x.dataSync()[0]).toBe(0);
  });

  it("int64 reads back as Float64Array and bool as Uint8Array", () => {
    expect(tensor([1, 2], { dtype: "int64" }).dataSync()).toBeInstanceOf(Float64Array);
    expect(tensor([true]).dataSync()).toBeInstanceOf(Uint8Array);
    expect(tensor([1], { dtype: "int32" }).dataSync()).toBeInstanceOf(Int32Array);
    expect(tensor([1], { dtype: "float16" }).dataSync()).toBeInstanceOf(Float32Array);
  });
});
