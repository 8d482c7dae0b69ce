import { type Tensor, reduceOp } from "@dl/tensor";
import type { Formula } from "../node.js";
import { cmp, div, mul, where } from "./util.js";

// Reductions record their keepdim-shaped result, so the incoming gradient broadcasts back directly.

const sumOver = (t: Tensor, dims: readonly number[]) => reduceOp("sum", t, dims, true, t.dtype);

export const reduceFormulas: Record<string, Formula> = {
  sum: {
    name: "SumBackward1",
    backward: (c, g) => [g.expand(c.inputShapes[0] as number[])],
  },
  prod: {
    name: "ProdBackward1",
    saveInputs: true,
    saveOutput: true,
    backward(c, g) {
      // Product of the other elements: out / x where x != 0; where x == 0 it is the product of the
      // non-zero elements if x is the only zero, else 0.
      const x = c.inputs[0] as Tensor;
      const out = c.output as Tensor;
      const dims = c.args.dims as number[];
      const isZero = cmp("eq", x, 0);
      const nonzeroProd = reduceOp("prod", where(isZero, 1, x), dims, true, x.dtype);
      const zeroCount = reduceOp("sum", isZero, dims, true, "int64");
      const atZero = where(cmp("eq", zeroCount, 1), nonzeroProd, 0);
      const others = where(isZero, atZero, div(out, where(isZero, 1, x)));
      return [mul(g, others)];
    },
  },
  max: extremum("AmaxBackward0"),
  min: extremum("AminBackward0"),
};

/** Gradient of max/min reductions flows evenly to every element equal to the extremum. */
function extremum(name: string): Formula {
  return {
    name,
    saveInputs: true,
    saveOutput: true,
    backward(c, g) {
      const x = c.inputs[0] as Tensor;
      const mask = cmp("eq", x, c.output as Tensor);
      const count = sumOver(where(mask, 1, 0).to(x.dtype), c.args.dims as number[]);
      return [where(mask, div(g, count), 0)];
    },
  };
}
