import { enableGrad, grad, gradcheck, gradgradcheck } from "@dl/autograd";
import {
  GRU,
  GRUCell,
  LSTM,
  LSTMCell,
  type Module,
  PackedSequence,
  RNN,
  RNNCell,
  invertPermutation,
  packPaddedSequence,
  packSequence,
  padPackedSequence,
  padSequence,
  unpackSequence,
  unpadSequence,
} from "@dl/nn";
import { type Tensor, add, eye, manualSeed, mul, randn, sum, tensor, tidy, zeros } from "@dl/tensor";
import { describe, expect, it, vi } from "vitest";
import { describeEachBackend, onDefaultDevice } from "../helpers/backends.js";
import { type TSpec, expectClose as expectCloseSpec, fromSpec as fromSpecExact, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("nn_rnn");

// On a device without float64 (the gpu) the float64 cases run in float32 against the same goldens,
// at a float32 tolerance loose enough for a few recurrent steps.
const fromSpec = (spec: TSpec, options: { requiresGrad?: boolean } = {}): Tensor => fromSpecExact(onDefaultDevice(spec), options);
function expectClose(actual: Tensor, spec: TSpec): void {
  const onDevice = onDefaultDevice(spec);
  expectCloseSpec(actual, onDevice, onDevice === spec ? {} : { rtol: 1e-4, atol: 1e-5 });
}

type Kwargs = Record<string, unknown>;
interface Case {
  name: string;
  cls: string;
  args: [number, number];
  kwargs: Kwargs;
  repr: string;
  keys: string[];
  state: Record<string, TSpec>;
  x: TSpec;
  hx: TSpec[];
  up: TSpec[];
  gx: TSpec;
  ghx: TSpec[];
  gparams: Record<string, TSpec>;
}
interface CellCase extends Case {
  out: TSpec[];
}
interface RNNCase extends Case {
  upOut: TSpec;
  out: TSpec;
  finals: TSpec[];
  lengths?: number[];
  enforceSorted?: boolean;
  packed?: { data: TSpec; batchSizes: TSpec; sortedIndices: TSpec | null; outData: TSpec };
}

const classes = { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell };

/** The dl module for PyTorch's constructor call (snake_case keyword arguments -> options). */
function build(cls: string, args: [number, number], kwargs: Kwargs): Module {
  const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const options = Object.fromEntries(Object.entries(kwargs).map(([k, v]) => [camel(k), v]));
  const C = classes[cls as keyof typeof classes] as unknown as new (a: number, b: number, o: object) => Module;
  return new C(args[0], args[1], options);
}

function loadModule(c: Case): Module {
  const m = build(c.cls, c.args, c.kwargs);
  if (onDefaultDevice(c.x).dtype === "float64") m.double();
  m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, fromSpec(v)])));
  return m;
}

function expectGrads(m: Module, c: Case, x: Tensor, hx: Tensor[]): void {
  expectClose(x.grad as Tensor, c.gx);
  hx.forEach((h, i) => expectClose(h.grad as Tensor, c.ghx[i] as TSpec));
  const names = [...m.namedParameters()].map(([k]) => k);
  expect(names).toEqual(Object.keys(c.gparams));
  for (const [k, p] of m.namedParameters()) expectClose(p.grad as Tensor, c.gparams[k] as TSpec);
}

describeEachBackend("nn recurrent cells", () => {
  for (const c of fx.cells as CellCase[]) {
    it(`${c.name}: output and gradients match PyTorch`, () => {
      const m = loadModule(c);
      expect(String(m)).toBe(c.repr);
      expect(Object.keys(m.stateDict())).toEqual(c.keys);
      const x = fromSpec(c.x, { requiresGrad: true });
      const hx = c.hx.map((s) => fromSpec(s, { requiresGrad: true }));
      let outs: Tensor[];
      if (c.cls === "LSTMCell") outs = (m as LSTMCell).call(x, hx.length ? [hx[0] as Tensor, hx[1] as Tensor] : null);
      else outs = [(m as RNNCell | GRUCell).call(x, hx[0] ?? null)];
      outs.forEach((o, i) => expectClose(o, c.out[i] as TSpec));
      let loss = sum(mul(outs[0] as Tensor, fromSpec(c.up[0] as TSpec)));
      if (outs[1]) loss = add(loss, sum(mul(outs[1], fromSpec(c.up[1] as TSpec))));
      loss.backward();
      expectGrads(m, c, x, hx);
    });
  }
});

function runCase(c: RNNCase): { m: Module; x: Tensor; hx: Tensor[]; output: Tensor; finals: Tensor[] } {
  const m = loadModule(c);
  const x = fromSpec(c.x, { requiresGrad: true });
  const hx = c.hx.map((s) => fromSpec(s, { requiresGrad: true }));
  const state = c.cls === "LSTM" ? (hx.length ? [hx[0], hx[1]] : null) : (hx[0] ?? null);
  const batchFirst = c.kwargs.batch_first === true;
  const fwd = (m as unknown as { forward(i: unknown, h: unknown): [Tensor | PackedSequence, Tensor | [Tensor, Tensor]] }).forward.bind(m);
  let output: Tensor;
  let h: Tensor | [Tensor, Tensor];
  if (c.lengths) {
    const packed = packPaddedSequence(x, c.lengths, { batchFirst, enforceSorted: c.enforceSorted });
    const p = c.packed as NonNullable<RNNCase["packed"]>;
    expectClose(packed.data, p.data);
    expectClose(packed.batchSizes, p.batchSizes);
    if (p.sortedIndices) expectClose(packed.sortedIndices as Tensor, p.sortedIndices);
    else expect(packed.sortedIndices).toBe(null);
    const [out, hN] = fwd(packed, state);
    expect(out).toBeInstanceOf(PackedSequence);
    const po = out as PackedSequence;
    expect(po.batchSizes).toBe(packed.batchSizes);
    expectClose(po.data, p.outData);
    [output] = padPackedSequence(po, { batchFirst });
    h = hN;
  } else {
    const [out, hN] = fwd(x, state);
    output = out as Tensor;
    h = hN;
  }
  return { m, x, hx, output, finals: Array.isArray(h) ? h : [h] };
}

describeEachBackend("nn RNN, LSTM, GRU", () => {
  for (const c of fx.rnns as RNNCase[]) {
    it(`${c.name}: output, final states and gradients match PyTorch`, () => {
      const { m, x, hx, output, finals } = runCase(c);
      expect(String(m)).toBe(c.repr);
      expect(Object.keys(m.stateDict())).toEqual(c.keys);
      expectClose(output, c.out);
      finals.forEach((f, i) => expectClose(f, c.finals[i] as TSpec));
      let loss = sum(mul(output, fromSpec(c.upOut)));
      finals.forEach((f, i) => (loss = add(loss, sum(mul(f, fromSpec(c.up[i] as TSpec))))));
      loss.backward();
      expectGrads(m, c, x, hx);
    });
  }

  it("call() runs hooks and returns [output, hN]", () => {
    const gru = new GRU(3, 4, { numLayers: 2 });
    const seen: number[][] = [];
    gru.registerForwardHook((_m, _a, out) => void seen.push([...((out as [Tensor, Tensor])[1] as Tensor).shape]));
    const [out, h] = gru.call(randn(5, 2, 3)) as [Tensor, Tensor];
    expect(out.shape).toEqual([5, 2, 4]);
    expect(h.shape).toEqual([2, 2, 4]);
    expect(seen).toEqual([[2, 2, 4]]);
  });

  it("stateDict keys, parameter shapes and repr equal PyTorch's for more configurations", () => {
    for (const c of fx.configs as { cls: string; args: [number, number]; kwargs: Kwargs; repr: string; keys: string[]; shapes: number[][] }[]) {
      const m = build(c.cls, c.args, c.kwargs);
      expect(String(m)).toBe(c.repr);
      const sd = m.stateDict();
      expect(Object.keys(sd)).toEqual(c.keys);
      expect(Object.values(sd).map((t) => [...t.shape])).toEqual(c.shapes);
    }
  });

  it("default init is U(-1/sqrt(hidden), 1/sqrt(hidden)) for every parameter", () => {
    manualSeed(0);
    for (const m of [new LSTM(5, 16, { numLayers: 2, bidirectional: true }), new GRUCell(5, 16), new RNN(3, 16)]) {
      for (const p of m.parameters()) {
        const v = Array.from(p.dataSync());
        expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(0.25);
        expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.15);
      }
    }
  });

  it("checks input and hidden shapes with PyTorch's messages", () => {
    const lstm = new LSTM(3, 4, { numLayers: 2 });
    expect(() => lstm.forward(zeros(5, 2, 6))).toThrow(/LSTM: input.size\(-1\) must be equal to input_size. Expected 3, got 6/);
    expect(() => lstm.forward(zeros(5, 2, 3, 1))).toThrow(/LSTM: input must have 3 dimensions/);
    expect(() => lstm.forward(zeros(5, 2, 3), [zeros(2, 3, 4), zeros(2, 2, 4)])).toThrow(/Expected hidden\[0\] size \(2, 2, 4\), got \[2, 3, 4\]/);
    expect(() => lstm.forward(zeros(5, 2, 3), [zeros(2, 2, 4), zeros(2, 4)])).toThrow(/For batched 3-D input, hx and cx should also be 3-D/);
    const gru = new GRU(3, 4);
    expect(() => gru.forward(zeros(0, 2, 3))).toThrow(/GRU: Expected sequence length to be larger than 0 in RNN/);
    expect(gru.forward(zeros(2, 0, 3))[0].shape).toEqual([2, 0, 4]);
    expect(() => gru.forward(zeros(5, 3), zeros(1, 2, 4))).toThrow(/GRU: For unbatched 2-D input, hx should also be 2-D but got 3-D tensor/);
    expect(() => new RNN(3, 4, { nonlinearity: "gelu" as "relu" })).toThrow(/Unknown nonlinearity/);
    expect(() => new LSTM(3, 4, { projSize: 4 })).toThrow(/projSize has to be smaller than hiddenSize/);
    expect(() => new GRU(3, 4, { dropout: 1.5 })).toThrow(/dropout should be a number in range \[0, 1\]/);
    expect(() => new RNNCell(3, 4).forward(zeros(2, 2, 3))).toThrow(/RNNCell: Expected input to be 1-D or 2-D but received 3-D tensor/);
    expect(() => new LSTMCell(3, 4).forward(zeros(2, 5))).toThrow(/LSTMCell: input has inconsistent input_size: got 5 expected 3/);
    expect(() => new GRUCell(3, 4).forward(zeros(2, 3), zeros(3, 4))).toThrow(/Input batch size 2 doesn't match hidden batch size 3/);
  });

  it("dropout between layers: training only, reproducible with manualSeed, rate p, scaled by 1/(1-p)", () => {
    // Layer 2 of a relu RNN with W_ih = I and everything else zero outputs relu(dropout(layer 1)).
    const H = 64;
    const rnn = new RNN(3, H, { numLayers: 2, nonlinearity: "relu", dropout: 0.3 }).double();
    const sd = rnn.stateDict();
    const set: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(sd)) set[k] = k.endsWith("_l1") ? zeros(v.shape, { dtype: "float64" }) : v;
    set.weight_ih_l1 = eye(H, { dtype: "float64" });
    rnn.loadStateDict(set);
    manualSeed(1);
    const x = randn([1, 200, 3], { dtype: "float64" });
    rnn.eval();
    const [evalOut] = rnn.forward(x);
    const [evalAgain] = rnn.forward(x);
    expect(evalOut.tolist()).toEqual(evalAgain.tolist());
    rnn.train();
    manualSeed(42);
    const [a] = rnn.forward(x);
    manualSeed(42);
    const [b] = rnn.forward(x);
    expect(a.tolist()).toEqual(b.tolist());
    const [c] = rnn.forward(x);
    expect(c.tolist()).not.toEqual(a.tolist());
    const ref = evalOut.dataSync();
    const got = a.dataSync();
    let positive = 0;
    let dropped = 0;
    for (let i = 0; i < ref.length; i++) {
      const r = ref[i] as number;
      const g = got[i] as number;
      if (r <= 0) continue;
      positive++;
      if (g === 0) dropped++;
      else expect(g).toBeCloseTo(r / 0.7, 12);
    }
    expect(positive).toBeGreaterThan(3000);
    expect(Math.abs(dropped / positive - 0.3)).toBeLessThan(0.03);
    // A single layer has no dropout (PyTorch warns about it).
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const one = new GRU(3, 4, { dropout: 0.5 });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/non-zero dropout expects numLayers greater than 1/));
    warn.mockRestore();
    manualSeed(3);
    const y = randn(4, 2, 3);
    one.train();
    const [t1] = one.forward(y);
    one.eval();
    const [t2] = one.forward(y);
    expect(t1.tolist()).toEqual(t2.tolist());
  });

  it("dropout=1 cuts the gradient path from the input through the layers", () => {
    const lstm = new LSTM(3, 4, { numLayers: 2, dropout: 1 });
    const x = randn([5, 2, 3], { requiresGrad: true });
    const [out] = lstm.forward(x);
    sum(out).backward();
    expect(Array.from((x.grad as Tensor).dataSync()).every((v) => v === 0)).toBe(true);
  });

  it("batchFirst and unbatched inputs agree with the time-major batched computation", () => {
    manualSeed(5);
    const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true });
    const lstmBF = new LSTM(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true });
    lstmBF.loadStateDict(lstm.stateDict());
    const x = randn(6, 2, 3);
    const [o1, [h1]] = lstm.forward(x);
    const [o2, [h2]] = lstmBF.forward(x.transpose(0, 1));
    expect(o2.transpose(0, 1).tolist()).toEqual(o1.tolist());
    expect(h2.tolist()).toEqual(h1.tolist());
    const [o3, [h3, c3]] = lstm.forward(x.select(1, 1));
    expect(o3.shape).toEqual([6, 8]);
    expect(h3.shape).toEqual([4, 4]);
    expect(c3.shape).toEqual([4, 4]);
    expectClose(o3, { dtype: "float32", shape: [6, 8], data: Array.from(o1.select(1, 1).contiguous().dataSync()) });
  });

  describe("gradcheck and gradgradcheck (createGraph through the fused cat, split and weight-gradient nodes)", () => {
    const f64 = { dtype: "float64" as const };
    // Built inside each test (after the suite's backend is selected), from the same seed.
    const setup = () => {
      manualSeed(11);
      const lstm = new LSTM(2, 2, { bidirectional: true }).double();
      const x = randn([3, 2, 2], { ...f64, requiresGrad: true });
      const h0 = randn([2, 2, 2], { ...f64, requiresGrad: true });
      const c0 = randn([2, 2, 2], { ...f64, requiresGrad: true });
      const runLSTM = (a: Tensor, b: Tensor, c: Tensor) => {
        const [o, [h, cN]] = lstm.forward(a, [b, c]);
        return [o, h, cN];
      };
      return { lstm, x, h0, c0, runLSTM };
    };

    it("LSTM bidirectional", () => {
      const { x, h0, c0, runLSTM } = setup();
      expect(gradcheck(runLSTM, [x, h0, c0])).toBe(true);
      const x2 = randn([2, 2, 2], { ...f64, requiresGrad: true });
      expect(gradgradcheck((a: Tensor, c: Tensor) => runLSTM(a, h0, c).slice(0, 2), [x2, c0])).toBe(true);
    });

    it("weight gradients as functions of the input", () => {
      const { lstm, x, h0, c0 } = setup();
      const v = randn([3, 2, 4], f64);
      // (gradcheck's finite differences run under noGrad: the inner backward needs enableGrad.)
      const weightGrad = (a: Tensor) =>
        enableGrad(() => {
          const [o] = lstm.forward(a, [h0.detach(), c0.detach()]);
          const p = Object.fromEntries(lstm.namedParameters());
          return grad(sum(mul(o, v)), [p.weight_hh_l0_reverse as Tensor, p.weight_ih_l0 as Tensor], { createGraph: true }) as Tensor[];
        });
      expect(gradcheck(weightGrad, [x])).toBe(true);
    });

    it("packed GRU, 2 layers, bidirectional", () => {
      const gru = new GRU(2, 2, { numLayers: 2, bidirectional: true }).double();
      const packedRun = (a: Tensor, b: Tensor, c: Tensor, h: Tensor) => {
        const [o, hN] = gru.forward(packSequence([a, b, c], { enforceSorted: false }), h);
        return [o.data, hN];
      };
      const inputs = [randn([3, 2], f64), randn([1, 2], f64), randn([2, 2], f64), randn([4, 3, 2], f64)].map((t) => t.requiresGrad_());
      const [a, b, c, h] = inputs as [Tensor, Tensor, Tensor, Tensor];
      expect(gradcheck(packedRun, inputs)).toBe(true);
      expect(gradgradcheck((t: Tensor) => (packedRun(t, b, c, h)[0] as Tensor), [a])).toBe(true);
    });
  });

  it("backward works after the forward pass's tidy() scope has ended", () => {
    manualSeed(12);
    const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true, projSize: 2 });
    const seqs = [randn(4, 3), randn(2, 3), randn(5, 3)].map((t) => t.requiresGrad_());
    const run = () => {
      const [o, [h, c]] = lstm.forward(packSequence(seqs, { enforceSorted: false }));
      return add(add(sum(mul(o.data, o.data)), sum(h)), sum(c));
    };
    run().backward();
    const want = [...seqs, ...lstm.parameters()].map((t) => Array.from((t.grad as Tensor).dataSync()));
    lstm.zeroGrad();
    for (const s of seqs) s.grad = null;
    const loss = tidy(run);
    loss.backward();
    const got = [...seqs, ...lstm.parameters()].map((t) => Array.from((t.grad as Tensor).dataSync()));
    expect(got).toEqual(want);
  });

  it("a packed batch with equal lengths gives the padded computation's numbers", () => {
    manualSeed(9);
    const gru = new GRU(3, 5, { bidirectional: true });
    const x = randn(4, 3, 3);
    const [o, h] = gru.forward(x);
    const [po, ph] = gru.forward(packPaddedSequence(x, [4, 4, 4]));
    const [padded, lengths] = padPackedSequence(po);
    expect(lengths.tolist()).toEqual([4, 4, 4]);
    expectClose(padded, { dtype: "float32", shape: [...o.shape], data: Array.from(o.dataSync()) });
    expectClose(ph, { dtype: "float32", shape: [...h.shape], data: Array.from(h.dataSync()) });
  });
});

describeEachBackend("nn.utils.rnn packing", () => {
  const u = fx.utils;
  const seqs = () => (u.seqs as TSpec[]).map((s) => fromSpec(s));

  it("padSequence matches PyTorch (time-major and batch first with a padding value)", () => {
    expectClose(padSequence(seqs()), u.padSequence);
    expectClose(padSequence(seqs(), { batchFirst: true, paddingValue: -1.5 }), u.padSequenceBatchFirst);
  });

  it("packSequence (unsorted) and padPackedSequence round trip", () => {
    const p = packSequence(seqs(), { enforceSorted: false });
    expectClose(p.data, u.packSequence.data);
    expectClose(p.batchSizes, u.packSequence.batchSizes);
    expectClose(p.sortedIndices as Tensor, u.packSequence.sortedIndices);
    expectClose(p.unsortedIndices as Tensor, u.packSequence.unsortedIndices);
    expect(p.batchSizes.device).toBe("cpu");
    const [padded, lengths] = padPackedSequence(p, { batchFirst: true, paddingValue: 9, totalLength: 7 });
    expectClose(padded, u.padPacked.padded);
    expectClose(lengths, u.padPacked.lengths);
    const back = unpackSequence(p);
    back.forEach((s, i) => expect(s.tolist()).toEqual(seqs()[i]?.tolist()));
    const unpadded = unpadSequence(padded, lengths, { batchFirst: true });
    unpadded.forEach((s, i) => expect(s.tolist()).toEqual(seqs()[i]?.tolist()));
    expect(() => padPackedSequence(p, { totalLength: 2 })).toThrow(/Expected totalLength to be at least the length of the longest sequence/);
  });

  it("packSequence of sorted sequences needs no permutation", () => {
    const sorted = [...seqs()].sort((a, b) => (b.shape[0] as number) - (a.shape[0] as number));
    const p = packSequence(sorted);
    expectClose(p.data, u.packSorted.data);
    expectClose(p.batchSizes, u.packSorted.batchSizes);
    expect(p.sortedIndices).toBe(null);
    expect(p.unsortedIndices).toBe(null);
    expect(() => packSequence(seqs())).toThrow(/`lengths` array must be sorted in decreasing order/);
  });

  it("gradients flow through packing and unpacking (zero at padding)", () => {
    const g = u.packGrad;
    const x = fromSpec(g.x, { requiresGrad: true });
    const p = packPaddedSequence(x, tensor(g.lengths, { dtype: "int64" }), { enforceSorted: false });
    expectClose(p.data, g.packedData);
    const [up] = padPackedSequence(p);
    expectClose(up, g.unpacked);
    sum(mul(up, fromSpec(g.w))).backward();
    expectClose(x.grad as Tensor, g.grad);
  });

  it("validates lengths", () => {
    const x = zeros(4, 3, 2);
    expect(() => packPaddedSequence(x, [4, 0, 3], { enforceSorted: false })).toThrow(/Length of all samples has to be greater than 0/);
    expect(() => packPaddedSequence(x, [4, 2])).toThrow(/expected 3 lengths/);
    expect(() => packPaddedSequence(x, [5, 2, 1])).toThrow(/larger than the padded sequence length 4/);
    expect(invertPermutation(tensor([2, 0, 1], { dtype: "int64" }))?.tolist()).toEqual([1, 2, 0]);
  });
});
