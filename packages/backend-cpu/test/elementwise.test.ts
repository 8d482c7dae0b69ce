import type { BinaryOp, DType, HostArray, StridedRef } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { cpuBackend } from "../src/backend.js";
import { binaryFns, unaryFns } from "../src/math.js";

// The branch-free relu, comparison and where loops against math.ts's scalar definitions, value for
// value (Object.is: the sign of zero and NaN included), on every kind of float32/float64 value.

const specials = [0, -0, 1, -1, 0.5, -0.5, 1e-45, -1e-45, 1e-40, -1e-40, 3.4028234663852886e38, -3.4028234663852886e38];
const edge = [...specials, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN];

function values(dtype: DType): HostArray {
  const out = dtype === "float32" ? new Float32Array(4096) : new Float64Array(4096);
  let s = 7;
  for (let i = 0; i < out.length; i++) {
    s = (s * 16807) % 2147483647;
    out[i] = i < edge.length ? (edge[i] as number) : (s / 2147483647 - 0.5) * 10;
  }
  // A NaN with the sign bit set: relu passes it through as well.
  if (out instanceof Float32Array) new Int32Array(out.buffer)[out.length - 1] = 0xffc00000 | 0;
  return out;
}

const ref = (data: HostArray, dtype: DType, strides = [1]): StridedRef => ({ data, dtype, shape: [data.length], strides, offset: 0 });

describe("cpu backend: branch-free relu, comparisons and where", () => {
  for (const dtype of ["float32", "float64"] as const) {
    it(`relu (${dtype}): x < 0 ? 0 : x for every value, -0 and NaN passing through`, () => {
      const x = values(dtype);
      const y = cpuBackend.unary("relu", ref(x, dtype), dtype) as HostArray;
      const round = dtype === "float32" ? Math.fround : (v: number) => v;
      for (let i = 0; i < x.length; i++) {
        const want = round(unaryFns.relu(x[i] as number));
        expect(Object.is(y[i], want) || (Number.isNaN(y[i]) && Number.isNaN(want)), `relu(${x[i]}) = ${y[i]}`).toBe(true);
      }
      if (y instanceof Float32Array) expect(new Int32Array(y.buffer)[y.length - 1]).toBe(0xffc00000 | 0);
      // A strided view takes the same loop with a stride.
      const z = cpuBackend.unary("relu", { data: x, dtype, shape: [x.length / 2], strides: [2], offset: 1 }, dtype) as HostArray;
      for (let i = 0; i < z.length; i++) expect(Object.is(z[i], y[2 * i + 1]) || Number.isNaN(z[i])).toBe(true);
    });

    it(`gt, lt, ge, le, eq, ne (${dtype}) into bool and float: 1 or 0 as math.ts, NaN comparing false`, () => {
      const a = values(dtype);
      const b = a.slice().reverse() as HostArray;
      b.set(a.subarray(0, 100), 200); // some equal pairs
      for (const op of ["gt", "lt", "ge", "le", "eq", "ne"] as BinaryOp[]) {
        for (const out of ["bool", dtype] as const) {
          const y = cpuBackend.binary(op, ref(a, dtype), ref(b, dtype), out) as HostArray;
          for (let i = 0; i < a.length; i++) expect(y[i], `${op}(${a[i]}, ${b[i]})`).toBe(binaryFns[op](a[i] as number, b[i] as number));
        }
        // Against a broadcast scalar (relu's backward mask).
        const zero = new (a.constructor as Float32ArrayConstructor)(1);
        const y = cpuBackend.binary(op, ref(a, dtype), ref(zero, dtype, [0]), "bool") as HostArray;
        for (let i = 0; i < a.length; i++) expect(y[i]).toBe(binaryFns[op](a[i] as number, 0));
      }
    });

    it(`where (${dtype}): the bits of a or b as the condition says, for every value`, () => {
      const a = values(dtype);
      const b = a.slice().reverse() as HostArray;
      const cond = cpuBackend.binary("gt", ref(a, dtype), ref(b, dtype), "bool") as HostArray;
      const y = cpuBackend.where(ref(cond, "bool"), ref(a, dtype), ref(b, dtype), dtype) as HostArray;
      for (let i = 0; i < a.length; i++) {
        const want = cond[i] ? a[i] : b[i];
        expect(Object.is(y[i], want) || (Number.isNaN(y[i]) && Number.isNaN(want)), `where at ${i}`).toBe(true);
      }
      // A float condition (NaN counts as true) and a broadcast operand.
      const fc = values(dtype);
      const zero = new (a.constructor as Float32ArrayConstructor)(1);
      const w = cpuBackend.where(ref(fc, dtype), ref(a, dtype), ref(zero, dtype, [0]), dtype) as HostArray;
      for (let i = 0; i < a.length; i++) {
        const want = fc[i] !== 0 ? a[i] : 0;
        expect(Object.is(w[i], want) || (Number.isNaN(w[i]) && Number.isNaN(want))).toBe(true);
      }
    });
  }
});
