import { DLError, type Tensor, fromHost, gradState, reduceOp, scanOp, scatterOp } from "@dl/tensor";
import type { Formula } from "../node.js";
import { add, cmp, div, mul, sub, un, zerosOf } from "./util.js";

/** sum_{k >= i} g_k along dim, as total - inclusive prefix + own term (no flip needed). */
function reverseCumsum(g: Tensor, dim: number): Tensor {
  const total = reduceOp("sum", g, [dim], true, g.dtype);
  return add(sub(total, scanOp("cumsum", g, dim).values), g);
}

/** Exact cumprod gradient with zeros, on the host (first order only). */
function cumprodWithZeros(x: Tensor, g: Tensor, dim: number): Tensor {
  const xs = x.contiguous().dataSync();
  const gs = g.contiguous().dataSync();
  const shape = x.shape;
  const len = shape[dim] as number;
  let inner = 1;
  for (let d = dim + 1; d < shape.length; d++) inner *= shape[d] as number;
  const outer = xs.length / Math.max(len * inner, 1);
  const res = new Float64Array(xs.length);
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < inner; q++) {
      const at = (k: number) => o * len * inner + k * inner + q;
      for (let i = 0; i < len; i++) {
        // d/dx_i sum_k g_k prod_{j<=k} x_j = sum_{k>=i} g_k prod_{j<=k, j!=i} x_j
        let prefix = 1;
        for (let j = 0; j < i; j++) prefix *= xs[at(j)] as number;
        let acc = 0;
        let run = prefix;
        for (let k = i; k < len; k++) {
          if (k > i) run *= xs[at(k)] as number;
          acc += (gs[at(k)] as number) * run;
        }
        res[at(i)] = acc;
      }
    }
  }
  return fromHost(res, shape, { dtype: g.dtype, device: g.device });
}

export const scanFormulas: Record<string, Formula> = {
  cumsum: { name: "CumsumBackward0", backward: (c, g) => [reverseCumsum(g, c.args.dim as number)] },
  cumprod: {
    name: "CumprodBackward0",
    saveInputs: true,
    saveOutput: true,
    backward(c, g) {
      const x = c.inputs[0] as Tensor;
      const dim = c.args.dim as number;
      const hasZero = reduceOp("any", cmp("eq", x, 0), undefined, false, "bool").item() === true;
      if (!hasZero) return [div(reverseCumsum(mul(g, c.output as Tensor), dim), x)];
      if (gradState.enabled) throw new DLError("backward", "double backward of cumprod through zeros is not implemented");
      return [cumprodWithZeros(x, g, dim)];
    },
  },
  logcumsumexp: {
    name: "LogcumsumexpBackward0",
    saveInputs: true,
    saveOutput: true,
    backward(c, g) {
      const x = c.inputs[0] as Tensor;
      const dim = c.args.dim as number;
      return [mul(un("exp", x), reverseCumsum(mul(g, un("exp", un("neg", c.output as Tensor))), dim))];
    },
  },
  cummax: indexed("CummaxBackward0"),
  cummin: indexed("CumminBackward0"),
};

function indexed(name: string): Formula {
  return {
    name,
    backward(c, g) {
      const base = zerosOf(c.inputShapes[0] as number[], g);
      return [scatterOp(base, c.args.dim as number, c.args.indices as Tensor, g, "add")];
    },
  };
}
