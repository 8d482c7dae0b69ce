import {
  type DType,
  DTypeError,
  bfloat16BitsToNumber,
  canCast,
  castScalar,
  float16BitsToNumber,
  fromHost,
  getDefaultDtype,
  isFloating,
  isIntegral,
  itemSize,
  numberToBFloat16Bits,
  numberToFloat16Bits,
  promoteTypes,
  resultType,
  roundBFloat16,
  roundFloat16,
  scalarDType,
  setDefaultDtype,
  tensor,
} from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, decode, fromSpec, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("core");
const DTYPES: DType[] = ["bool", "int32", "int64", "float16", "bfloat16", "float32", "float64"];
type Operand = { dtype: DType; ndim: number } | number | boolean;

const show = (o: Operand) => (typeof o === "object" ? `${o.ndim ? "tensor" : "0-dim"} ${o.dtype}` : `scalar ${o}`);

describe("promoteTypes vs torch.promote_types (all pairs)", () => {
  const table = fx.promotion.promoteTypes as Record<DType, Record<DType, DType>>;
  it.each(DTYPES.flatMap((a) => DTYPES.map((b) => [a, b, table[a][b]] as const)))("%s, %s -> %s", (a, b, want) => {
    expect(promoteTypes(a, b)).toBe(want);
  });
});

describe("resultType vs torch.result_type (dim tensors, 0-dim tensors, scalars)", () => {
  const cases = fx.promotion.resultType as { a: Operand; b: Operand; result: DType }[];
  it.each(cases.map((c) => [show(c.a), show(c.b), c.result, c] as const))("%s, %s -> %s", (_a, _b, want, c) => {
    expect(resultType(c.a, c.b)).toBe(want);
  });

  it("needs at least one operand", () => {
    expect(() => resultType()).toThrow(DTypeError);
    expect(() => resultType()).toThrow(/^resultType: /);
  });

  it("scalar dtypes: bool, int64 for integers, the default float otherwise", () => {
    expect(scalarDType(true)).toBe("bool");
    expect(scalarDType(3)).toBe("int64");
    expect(scalarDType(3.5)).toBe("float32");
  });
});

describe("dtype predicates", () => {
  it("isFloating / isIntegral / itemSize / canCast", () => {
    expect(DTYPES.filter(isFloating)).toEqual(["float16", "bfloat16", "float32", "float64"]);
    expect(DTYPES.filter((d) => isIntegral(d))).toEqual(["int32", "int64"]);
    expect(DTYPES.filter((d) => isIntegral(d, true))).toEqual(["bool", "int32", "int64"]);
    expect(DTYPES.map(itemSize)).toEqual([1, 4, 8, 2, 2, 4, 8]);
    // torch.can_cast: same or higher category only.
    expect(canCast("float32", "int64")).toBe(false);
    expect(canCast("int64", "float16")).toBe(true);
    expect(canCast("int32", "bool")).toBe(false);
    expect(canCast("bool", "int32")).toBe(true);
    expect(canCast("float64", "float16")).toBe(true);
  });

  it("setDefaultDtype changes the dtype of float data and float scalars; only floating dtypes", () => {
    try {
      setDefaultDtype("float64");
      expect(getDefaultDtype()).toBe("float64");
      expect(tensor([1.5]).dtype).toBe("float64");
      expect(scalarDType(0.5)).toBe("float64");
      expect(resultType({ dtype: "int32", ndim: 1 }, 0.5)).toBe("float64");
    } finally {
      setDefaultDtype("float32");
    }
    expect(() => setDefaultDtype("int64")).toThrow(DTypeError);
    expect(() => setDefaultDtype("int64")).toThrow(/^setDefaultDtype: /);
  });
});

describeEachBackend("casting with .to() vs PyTorch (every pair of dtypes)", () => {
  const cases = fx.casts as { src: TSpec; dst: DType; out: TSpec }[];
  const check = (_s: string, dst: DType, c: { src: TSpec; dst: DType; out: TSpec }) => {
    const src = fromSpec(c.src);
    const out = src.to(dst);
    expect(out.dtype).toBe(dst);
    expect([...out.shape]).toEqual(c.out.shape);
    // Exact, including the sign of zero, NaN and infinities.
    const got = Array.from(out.dataSync());
    const want = c.out.data.map(decode);
    const bad = want.flatMap((w, i) => (Object.is(got[i], w) ? [] : [`${c.src.data[i]} -> got ${got[i]}, want ${w}`]));
    expect(bad).toEqual([]);
    if (dst === src.dtype) expect(out).toBe(src);
    else expect(out._storage).not.toBe(src._storage);
  };
  it.each(cases.map((c) => [c.src.dtype, c.dst, c] as const))("%s -> %s", check);

  it("the shorthand methods convert like to()", () => {
    const x = tensor([1.7, -2.5, 0]);
    expect(x.double().dtype).toBe("float64");
    expect(x.half().dtype).toBe("float16");
    expect(x.bfloat16().dtype).toBe("bfloat16");
    expect(x.int().tolist()).toEqual([1, -2, 0]);
    expect(x.long().tolist()).toEqual([1, -2, 0]);
    expect(x.bool().tolist()).toEqual([true, true, false]);
    expect(x.long().float().dtype).toBe("float32");
    expect(x.to({ dtype: "float64", copy: true }).dtype).toBe("float64");
    expect(x.to("float32", { copy: true })).not.toBe(x);
    expect(x.to(tensor([1], { dtype: "int32" })).dtype).toBe("int32");
  });

  it("casting a non-contiguous view converts the viewed elements in order", () => {
    const x = fromHost([0.5, 1.5, 2.5, 3.5, 4.5, 5.5], [2, 3], { dtype: "float64" });
    expect(x.t().to("int64").tolist()).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(x.index(":", "::2").to("float16").tolist()).toEqual([[0.5, 2.5], [3.5, 5.5]]);
  });
});

describe("half-precision helpers", () => {
  it("float16 bits round-trip and round ties to even", () => {
    expect(numberToFloat16Bits(1)).toBe(0x3c00);
    expect(numberToFloat16Bits(-2)).toBe(0xc000);
    expect(numberToFloat16Bits(65504)).toBe(0x7bff);
    expect(numberToFloat16Bits(65520)).toBe(0x7c00);
    expect(numberToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(numberToFloat16Bits(2 ** -25)).toBe(0x0000);
    expect(numberToFloat16Bits(3 * 2 ** -25)).toBe(0x0002);
    expect(numberToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(numberToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(float16BitsToNumber(numberToFloat16Bits(Number.NaN)))).toBe(true);
    for (let h = 0; h < 0x10000; h += 7) {
      const v = float16BitsToNumber(h);
      if (!Number.isNaN(v)) expect(numberToFloat16Bits(v)).toBe(h);
    }
    expect(roundFloat16(0.1)).toBe(0.0999755859375);
  });

  it("bfloat16 bits round-trip and round ties to even", () => {
    expect(numberToBFloat16Bits(1)).toBe(0x3f80);
    expect(numberToBFloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(numberToBFloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(roundBFloat16(0.1)).toBe(0.10009765625);
    for (let h = 0; h < 0x10000; h += 7) {
      const v = bfloat16BitsToNumber(h);
      if (!Number.isNaN(v)) expect(numberToBFloat16Bits(v)).toBe(h);
    }
  });

  it("castScalar truncates toward zero for integers and never yields -0", () => {
    expect(castScalar(-2.7, "int64")).toBe(-2);
    expect(Object.is(castScalar(-0.5, "int64"), 0)).toBe(true);
    expect(Object.is(castScalar(-0, "int32"), 0)).toBe(true);
    expect(castScalar(2 ** 31, "int32")).toBe(-(2 ** 31));
    expect(castScalar(Number.NaN, "bool")).toBe(1);
  });
});
