import { gradcheck, gradgradcheck, noGrad } from "@dl/autograd";
import { GRU, GRUCell, LSTM, LSTMCell, type Module } from "@dl/nn";
import { type DType, type Tensor, add, manualSeed, mul, randn, sum } from "@dl/tensor";
import { expect, it } from "vitest";
import { backendSupports, describeEachBackend } from "../helpers/backends.js";
import { countingCalls, expectClose, fusedTable, withoutKernels } from "./fused-helpers.js";

/**
 * The LSTM and GRU layers and cells through the backend's fused cell kernels against the composed
 * gate math (the kernels removed from the table): outputs, final states, and the gradients of the
 * input, initial states and every parameter. PyTorch's values are checked by rnn.test.ts (the
 * nn_rnn fixtures), which runs the fused path where the backend has it.
 */
const KERNELS = ["lstmCell", "lstmCellBackward", "gruCell", "gruCellBackward"] as const;

type Run = () => Tensor[];

/** Values of `run`'s outputs and of the gradients of sum(out * g) w.r.t. `leaves` (fixed g per output). */
function valuesAndGrads(run: Run, leaves: readonly Tensor[], seed: number): number[][] {
  for (const l of leaves) l.grad = null;
  const outs = run();
  manualSeed(seed);
  const loss = outs.map((o) => sum(mul(o, randn(o.shape, { dtype: o.dtype })))).reduce((a, b) => add(a, b));
  loss.backward();
  return [...outs.map((o) => Array.from(o.dataSync())), ...leaves.map((l) => Array.from((l.grad as Tensor).dataSync()))];
}

interface Case {
  name: string;
  /**
   * Outputs equal bit for bit in float32: not for LSTM layers with biases, where the fused cell adds
   * b_ih + b_hh per step ((gx + gh) + b) and the composed path into all steps' gx first.
   */
  exact: boolean;
  make: (dtype: DType) => { module: Module; run: (x: Tensor, hs: Tensor[]) => Tensor[]; x: number[]; states: number[][] };
}

const seq = (m: Module) => (x: Tensor, hs: Tensor[]) => {
  const [out, state] = (m as LSTM).call(x, (hs.length === 2 ? [hs[0], hs[1]] : hs[0]) as never) as unknown as [Tensor, Tensor | Tensor[]];
  return [out, ...(Array.isArray(state) ? state : [state])];
};

const cases: Case[] = [
  {
    name: "LSTM 2 layers, bidirectional, H = 5 (padded lanes)",
    exact: false,
    make: (dtype) => {
      const module = new LSTM(3, 5, { numLayers: 2, bidirectional: true, dtype });
      return { module, run: seq(module), x: [4, 2, 3], states: [[4, 2, 5], [4, 2, 5]] };
    },
  },
  {
    name: "LSTM batchFirst, H = 8, projection 3",
    exact: false,
    make: (dtype) => {
      const module = new LSTM(6, 8, { batchFirst: true, projSize: 3, dtype });
      return { module, run: seq(module), x: [3, 5, 6], states: [[1, 3, 3], [1, 3, 8]] };
    },
  },
  {
    name: "LSTM without bias",
    exact: true,
    make: (dtype) => {
      const module = new LSTM(4, 4, { bias: false, dtype });
      return { module, run: seq(module), x: [3, 2, 4], states: [[1, 2, 4], [1, 2, 4]] };
    },
  },
  {
    name: "GRU 2 layers, bidirectional, H = 7",
    exact: true,
    make: (dtype) => {
      const module = new GRU(3, 7, { numLayers: 2, bidirectional: true, dtype });
      return { module, run: seq(module), x: [5, 2, 3], states: [[4, 2, 7]] };
    },
  },
  {
    name: "GRU without bias, H = 12",
    exact: true,
    make: (dtype) => {
      const module = new GRU(5, 12, { bias: false, dtype });
      return { module, run: seq(module), x: [3, 4, 5], states: [[1, 4, 12]] };
    },
  },
  {
    name: "LSTMCell (b_hh inside the kernel), H = 6",
    exact: true,
    make: (dtype) => {
      const module = new LSTMCell(4, 6, { dtype });
      return { module, run: (x, [h, c]) => module.call(x, [h as Tensor, c as Tensor]), x: [3, 4], states: [[3, 6], [3, 6]] };
    },
  },
  {
    name: "GRUCell, H = 9",
    exact: true,
    make: (dtype) => {
      const module = new GRUCell(4, 9, { dtype });
      return { module, run: (x, [h]) => [module.call(x, h)], x: [2, 4], states: [[2, 9]] };
    },
  },
];

describeEachBackend("fused LSTM / GRU cells", (device) => {
  const hasKernels = () => KERNELS.every((k) => fusedTable(device)[k] !== undefined);

  for (const dtype of ["float32", "float64"] as const) {
    for (const c of cases) {
      it(`${c.name} (${dtype}): the fused cells equal the composed gate math, values and gradients`, (ctx) => {
        if (!backendSupports(device, dtype) || !hasKernels()) return ctx.skip();
        manualSeed(11);
        const { module, run, x: xs, states } = c.make(dtype);
        const x = randn(xs, { dtype }).requiresGrad_();
        const hs = states.map((s) => randn(s, { dtype }).requiresGrad_());
        const leaves = [x, ...hs, ...module.parameters()];
        const [fused, calls] = countingCalls(device, KERNELS, () => valuesAndGrads(() => run(x, hs), leaves, 5));
        const lstm = c.name.startsWith("LSTM");
        expect(calls[lstm ? "lstmCell" : "gruCell"]).toBeGreaterThan(0);
        expect(calls[lstm ? "lstmCellBackward" : "gruCellBackward"]).toBe(calls[lstm ? "lstmCell" : "gruCell"]);
        const composed = withoutKernels(device, KERNELS, () => valuesAndGrads(() => run(x, hs), leaves, 5));
        // float32: the forward rounds as the composed ops (equal values); gradients round once instead of per op.
        const tol = dtype === "float64" ? 1e-12 : 2e-5;
        fused.forEach((v, i) => expectClose(v, composed[i] as number[], `${c.name}: result ${i}`, tol));
        if (dtype === "float32" && c.exact) {
          const outputs = fused.length - leaves.length;
          for (let i = 0; i < outputs; i++) expect(fused[i], `${c.name}: output ${i} bit for bit`).toEqual(composed[i]);
        }
      });
    }
  }

  it("the forward kernel alone when nothing is recorded, and then no workspace", (ctx) => {
    if (!hasKernels()) return ctx.skip();
    const m = new LSTM(3, 4);
    const x = randn(2, 3, 3);
    const [, calls] = countingCalls(device, KERNELS, () => m.call(x));
    expect(calls).toEqual({ lstmCell: 2, lstmCellBackward: 0, gruCell: 0, gruCellBackward: 0 });
    const table = fusedTable(device);
    const spy = table.lstmCell as NonNullable<typeof table.lstmCell>;
    let workspace: unknown = "unset";
    table.lstmCell = (...args) => {
      const r = spy(...args);
      workspace = r.workspace;
      return r;
    };
    try {
      noGrad(() => m.call(x));
    } finally {
      table.lstmCell = spy;
    }
    expect(workspace).toBeNull();
  });

  it("gradcheck and gradgradcheck through the fused cells (float64; createGraph takes the recorded formulas)", (ctx) => {
    if (!backendSupports(device, "float64") || !hasKernels()) return ctx.skip();
    manualSeed(3);
    const lstm = new LSTMCell(2, 3, { dtype: "float64" });
    const gru = new GRUCell(2, 3, { dtype: "float64" });
    const x = randn([2, 2], { dtype: "float64" }).requiresGrad_();
    const h = randn([2, 3], { dtype: "float64" }).requiresGrad_();
    const c = randn([2, 3], { dtype: "float64" }).requiresGrad_();
    const fl = (xi: Tensor, hi: Tensor, ci: Tensor) => {
      const [h2, c2] = lstm.call(xi, [hi, ci]);
      return add(h2, mul(c2, 0.5));
    };
    const fg = (xi: Tensor, hi: Tensor) => gru.call(xi, hi);
    const [, calls] = countingCalls(device, KERNELS, () => {
      expect(gradcheck(fl, [x, h, c])).toBe(true);
      expect(gradcheck(fg, [x, h])).toBe(true);
    });
    expect(calls.lstmCellBackward).toBeGreaterThan(0);
    expect(calls.gruCellBackward).toBeGreaterThan(0);
    expect(gradgradcheck(fl, [x, h, c])).toBe(true);
    expect(gradgradcheck(fg, [x, h])).toBe(true);
  });
});
