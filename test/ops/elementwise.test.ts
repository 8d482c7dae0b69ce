import * as dl from "@dl/tensor";
import { DLError, DTypeError, Tensor, ArgumentError, ShapeError, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, decode, expectClose, fromSpec, isSpec, loadFixtures } from "../helpers/fixtures.js";

/**
 * Elementwise ops against PyTorch (tooling/fixtures/gen_elementwise.py): every case calls
 * `op(...args, kwargs)` and compares dtype, shape and values, or expects a DLError naming the op.
 */

type ViewStep = [string, ...unknown[]];
interface ArgSpec extends TSpec {
  view?: ViewStep[];
}
interface Case {
  name: string;
  op: string;
  args: unknown[];
  kwargs?: Record<string, unknown>;
  out?: TSpec | boolean;
  error?: string;
  emulated?: boolean;
}

const fixtures = loadFixtures("elementwise") as { cases: Case[] };

function applyView(t: Tensor, steps: ViewStep[]): Tensor {
  let x = t;
  for (const [name, ...a] of steps) {
    if (name === "transpose") x = x.transpose(a[0] as number, a[1] as number);
    else if (name === "slice") x = x.slice(a[0] as number, a[1] as number | null, a[2] as number | null, a[3] as number);
    else if (name === "expand") x = x.expand(a[0] as number[]);
    else if (name === "select") x = x.select(a[0] as number, a[1] as number);
    else throw new Error(`unknown view step ${name}`);
  }
  return x;
}

function decodeArg(a: unknown): unknown {
  if (a === null) return null;
  if (typeof a === "string") return decode(a);
  if (isSpec(a)) {
    const spec = a as ArgSpec;
    return spec.view ? applyView(fromSpec(spec), spec.view) : fromSpec(spec);
  }
  return a;
}

function callCase(c: Case): unknown {
  const fn = (dl as unknown as Record<string, (...args: unknown[]) => unknown>)[c.op];
  if (typeof fn !== "function") throw new Error(`@dl/tensor exports no function ${c.op}`);
  const args = c.args.map(decodeArg);
  if (c.kwargs) args.push(Object.fromEntries(Object.entries(c.kwargs).map(([k, v]) => [k, decodeArg(v)])));
  return fn(...args);
}

/** Asserts fn throws a typed DLError whose message starts with `op: `. */
function expectOpError(fn: () => unknown, op: string, type: typeof DLError = DLError, pattern?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `${op} should throw`).toBeInstanceOf(type);
  expect((err as Error).message).toMatch(new RegExp(`^${op}: `));
  if (pattern) expect((err as Error).message).toMatch(pattern);
}

const byOp = new Map<string, Case[]>();
for (const c of fixtures.cases) byOp.set(c.op, [...(byOp.get(c.op) ?? []), c]);

describeEachBackend("elementwise ops vs PyTorch", () => {
  for (const [op, cases] of byOp) {
    describe(op, () => {
      for (const c of cases) {
        it(`${c.name}${c.error !== undefined ? " (error)" : ""}`, () => {
          if (c.error !== undefined) {
            expectOpError(() => callCase(c), c.op);
            return;
          }
          const out = callCase(c);
          if (typeof c.out === "boolean") expect(out).toBe(c.out);
          else expectClose(out as Tensor, c.out as TSpec);
        });
      }
    });
  }
});

describeEachBackend("elementwise ops: API details", () => {
  it("fixtures cover every op the brief lists", () => {
    const required = [
      "add", "sub", "mul", "div", "floorDivide", "trueDivide", "pow", "remainder", "fmod", "neg", "abs", "sign", "sgn",
      "reciprocal", "square", "rsub", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin",
      "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid", "relu",
      "erf", "erfc", "erfinv", "floor", "ceil", "round", "trunc", "frac", "clamp", "clip", "lerp", "hypot", "logit", "xlogy",
      "maximum", "minimum", "fmax", "fmin", "copysign", "eq", "ne", "lt", "le", "gt", "ge", "isclose", "allclose", "equal",
      "logicalAnd", "logicalOr", "logicalXor", "logicalNot", "bitwiseAnd", "bitwiseOr", "bitwiseXor", "bitwiseNot",
      "isnan", "isinf", "isposinf", "isneginf", "isfinite", "signbit", "nanToNum", "where", "maskedFill",
    ];
    expect(required.filter((op) => !byOp.has(op))).toEqual([]);
  });

  it("clamp accepts positional bounds and an options object alike", () => {
    const x = tensor([-2, 0.5, 3]);
    expect(dl.clamp(x, -1, 1).tolist()).toEqual(dl.clamp(x, { min: -1, max: 1 }).tolist());
    expect(dl.clamp(x, null, 1).tolist()).toEqual([-2, 0.5, 1]);
    expect(dl.clamp(x, { max: 1 }).tolist()).toEqual([-2, 0.5, 1]);
  });

  it("results are fresh tensors: inputs are never written", () => {
    const x = tensor([1, -2, 3], { dtype: "int64" });
    const r = dl.floor(x);
    expect(r).not.toBe(x);
    r.fill_(0);
    expect(x.tolist()).toEqual([1, -2, 3]);
  });

  it("scalar-only calls give 0-dim tensors", () => {
    const r = dl.add(2, 3);
    expect(r.shape).toEqual([]);
    expect(r.dtype).toBe("int64");
    expect(r.item()).toBe(5);
    expect(dl.div(1, 4).item()).toBe(0.25);
    expect(dl.pow(2, 10).item()).toBe(1024);
  });

  it("errors are typed and name the op, dtypes and rule", () => {
    const i = tensor([1, 2], { dtype: "int64" });
    const f = tensor([1, 2]);
    const bt = tensor([true, false]);
    expectOpError(() => dl.sub(bt, bt), "sub", DTypeError, /two bool tensors.*logicalXor/);
    expectOpError(() => dl.neg(bt), "neg", DTypeError, /bool.*logicalNot/);
    expectOpError(() => dl.add(i, i, { alpha: 0.5 }), "add", ArgumentError, /alpha must not be a floating point number/);
    expectOpError(() => dl.add(f, f, { alpha: true }), "add", ArgumentError, /boolean alpha/);
    expectOpError(() => dl.pow(i, -1), "pow", ArgumentError, /negative integer powers/);
    expectOpError(() => dl.remainder(i, 0), "remainder", ArgumentError, /ZeroDivisionError/);
    expectOpError(() => dl.div(i, tensor([1, 0], { dtype: "int64" }), { roundingMode: "floor" }), "div", ArgumentError, /ZeroDivisionError/);
    expectOpError(() => dl.div(f, f, { roundingMode: "round" as unknown as "floor" }), "div", ArgumentError, /'trunc', or 'floor'/);
    expectOpError(() => dl.add(f, tensor([1, 2, 3])), "add", ShapeError, /\[2\].*\[3\]|\[3\].*\[2\]/);
    expectOpError(() => dl.trueDivide(f, tensor([1, 2, 3])), "trueDivide", ShapeError);
    expectOpError(() => dl.clamp(f), "clamp", ArgumentError, /at least one of 'min' or 'max'/);
    expectOpError(() => dl.clamp(f, { min: tensor([1, 2, 3]) }), "clamp", ShapeError);
    expectOpError(() => dl.hypot(i, i), "hypot", DTypeError, /int64/);
    expectOpError(() => dl.frac(i), "frac", DTypeError, /int64/);
    expectOpError(() => dl.round(i, { decimals: 1 }), "round", DTypeError, /int64/);
    expectOpError(() => dl.round(f, { decimals: 0.5 }), "round", ArgumentError, /integer/);
    expectOpError(() => dl.lerp(f, f.double(), 0.5), "lerp", DTypeError, /float32.*float64/);
    expectOpError(() => dl.bitwiseAnd(f, i), "bitwiseAnd", DTypeError, /float32/);
    expectOpError(() => dl.bitwiseNot(f), "bitwiseNot", DTypeError, /float32/);
    expectOpError(() => dl.isclose(i, f), "isclose", DTypeError, /int64 and float32/);
    expectOpError(() => dl.isclose(f, f, { rtol: -1 }), "isclose", ArgumentError, /rtol/);
    expectOpError(() => dl.where(i, f, f), "where", DTypeError, /bool.*int64/);
    expectOpError(() => dl.maskedFill(f, i, 1), "maskedFill", DTypeError, /boolean masks.*int64/);
    expectOpError(() => dl.maskedFill(f, bt, f), "maskedFill", ShapeError, /0-dimensional/);
    expectOpError(() => dl.maskedFill(f.half(), bt, 1e5), "maskedFill", ArgumentError, /float16 without overflow/);
  });

  it("a failed call leaves its inputs untouched", () => {
    const x = tensor([5, 7], { dtype: "int64" });
    const y = tensor([2, 0], { dtype: "int64" });
    expect(() => dl.remainder(x, y)).toThrow(/ZeroDivisionError/);
    expect(x.tolist()).toEqual([5, 7]);
    expect(y.tolist()).toEqual([2, 0]);
  });

  it("allclose/equal give JS booleans and equal never broadcasts", () => {
    expect(dl.allclose(tensor([1, 2]), tensor([1, 2.000001]))).toBe(true);
    expect(dl.equal(tensor([[1], [1]]), tensor([1, 1]))).toBe(false);
    expect(dl.equal(tensor([1, 2]), tensor([1, 2], { dtype: "int64" }))).toBe(true);
  });

  it("int64 bitwise ops use all 64 bits (beyond JS's 32-bit operators)", () => {
    const a = tensor([2 ** 40 + 3, -(2 ** 40)], { dtype: "int64" });
    expect(dl.bitwiseAnd(a, 2 ** 40 + 1).tolist()).toEqual([2 ** 40 + 1, 2 ** 40]);
    expect(dl.bitwiseNot(a).tolist()).toEqual([-(2 ** 40) - 4, 2 ** 40 - 1]);
  });

  it("comparison results are bool and computed in the promoted dtype", () => {
    const r = dl.eq(tensor([16777217], { dtype: "int64" }), 16777216.5);
    expect(r.dtype).toBe("bool");
    // int64 16777217 and 16777216.5 both round to 16777216 in float32, as in PyTorch.
    expect(r.tolist()).toEqual([true]);
  });
});
