import { grad, gradcheck, gradgradcheck } from "@dl/autograd";
import { type Tensor, manualSeed, randn } from "@dl/tensor";
import * as dl from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";
import { gradientCases, hvpCases } from "./gradient-cases.js";

/**
 * Gradient conformance of every differentiable @dl/tensor op, two ways:
 * (a) against PyTorch (tooling/fixtures/gen_autograd.py): outputs and the gradients w.r.t. every
 *     input for a random upstream gradient, on broadcast and non-contiguous inputs;
 * (b) against finite differences (gradcheck) in float64, except at kinks, where PyTorch's
 *     convention is the only reference.
 */

type Transform = ["t", number, number] | ["slice", number, number | null, number | null, number] | ["expand", number[]];

interface GradCase {
  name: string;
  inputs: { x: TSpec; xf: Transform[] }[];
  extras: TSpec[];
  gout: TSpec[];
  out: TSpec[];
  grads: (TSpec | null)[];
  gradFn: string | null;
  kink: boolean;
}

interface HvpCase {
  name: string;
  inputs: TSpec[];
  consts: TSpec[];
  v: TSpec[];
  out: TSpec;
  grads: TSpec[];
  hvp: TSpec[];
}

const fx = loadFixtures("autograd") as { cases: GradCase[]; hvp: HvpCase[] };

function applyXf(x: Tensor, transforms: readonly Transform[]): Tensor {
  let t = x;
  for (const tr of transforms) {
    if (tr[0] === "t") t = t.transpose(tr[1], tr[2]);
    else if (tr[0] === "slice") t = t.slice(tr[1], tr[2], tr[3], tr[4]);
    else t = t.expand(tr[1]);
  }
  return t;
}

const asList = (r: Tensor | Tensor[]): Tensor[] => (Array.isArray(r) ? r : [r]);
const nodeName = (t: Tensor): string | null => (t.gradFn === null ? null : (t.gradFn as { name(): string }).name());

function setup(c: GradCase) {
  const fn = gradientCases[c.name];
  if (!fn) throw new Error(`no TypeScript function for fixture case '${c.name}'`);
  const leaves = c.inputs.map((i) => fromSpec(i.x, { requiresGrad: true }));
  const extras = c.extras.map((e) => fromSpec(e));
  const run = (...xs: Tensor[]) => fn(xs.map((x, k) => applyXf(x, (c.inputs[k] as GradCase["inputs"][number]).xf)), extras);
  return { leaves, extras, run };
}

/**
 * PyTorch grad_fn names dl does not reproduce (the lead decides whether to label them). Each
 * entry: case -> why. Every other case asserts the name.
 */
const unlabeled = (got: string, where: string) => `dl: ${got}; ${where} does not call labelGrad`;
const gradFnMismatches: Record<string, string> = {
  "matmul 1d 2d": unlabeled("ViewBackward0", "linalg.ts matmul (1-D @ 2-D)"),
  inner: unlabeled("PermuteBackward0", "linalg.ts inner/tensordot/einsum"),
  tensordot: unlabeled("PermuteBackward0", "linalg.ts tensordot/einsum"),
  "einsum ij,jk->ik": unlabeled("PermuteBackward0", "linalg.ts einsum"),
  "einsum bij,bjk->bik": unlabeled("PermuteBackward0", "linalg.ts einsum"),
  "einsum ij->": unlabeled("ViewBackward0", "linalg.ts einsum"),
  "einsum i,j->ij": unlabeled("PermuteBackward0", "linalg.ts einsum"),
  "einsum ...ij,...jk": unlabeled("PermuteBackward0", "linalg.ts einsum"),
  "einsum ijk,ikl->jl": unlabeled("PermuteBackward0", "linalg.ts einsum"),
  "pad reflect": unlabeled("GatherBackward0", "shape.ts pad (non-constant modes)"),
  "pad reflect 2d": unlabeled("GatherBackward0", "shape.ts pad (non-constant modes)"),
  "pad replicate": unlabeled("GatherBackward0", "shape.ts pad (non-constant modes)"),
  "pad circular": unlabeled("GatherBackward0", "shape.ts pad (non-constant modes)"),
  "pad circular 2d transposed": unlabeled("GatherBackward0", "shape.ts pad (non-constant modes)"),
};

/**
 * Cases whose gradient differs from PyTorch because of a bug outside @dl/autograd; `it.fails`
 * keeps them visible and turns red once fixed (then remove the entry).
 */
const knownWrong: Record<string, string> = {
};

describeEachBackend("gradients match PyTorch", () => {
  it("every fixture case has a TypeScript function and vice versa", () => {
    const names = fx.cases.map((c) => c.name);
    expect(names.filter((n) => !(n in gradientCases))).toEqual([]);
    expect(Object.keys(gradientCases).filter((n) => !names.includes(n))).toEqual([]);
    expect(fx.cases.length).toBeGreaterThan(200);
  });

  for (const c of fx.cases) {
    (c.name in knownWrong ? it.fails : it)(c.name, () => {
      const { leaves, run } = setup(c);
      const outs = asList(run(...leaves));
      expect(outs.length).toBe(c.out.length);
      outs.forEach((o, i) => expectClose(o, c.out[i] as TSpec));
      const grads = grad(outs, leaves, { gradOutputs: c.gout.map((g) => fromSpec(g)), allowUnused: true });
      grads.forEach((g, i) => {
        const want = c.grads[i];
        if (want === null) expect(g).toBeNull();
        else {
          expect(g, `gradient of input ${i}`).not.toBeNull();
          expectClose(g as Tensor, want);
        }
      });
    });
  }
});

describeEachBackend("gradFn names match PyTorch's", () => {
  for (const c of fx.cases) {
    if (c.gradFn === null) continue;
    const why = gradFnMismatches[c.name];
    if (why !== undefined) {
      it.todo(`${c.name}: PyTorch ${c.gradFn} (${why})`);
      continue;
    }
    it(`${c.name}: ${c.gradFn}`, () => {
      const { leaves, run } = setup(c);
      expect(nodeName(asList(run(...leaves))[0] as Tensor)).toBe(c.gradFn);
    });
  }
});

describeEachBackend("gradcheck (finite differences, float64)", () => {
  for (const c of fx.cases) {
    if (c.kink || c.inputs.some((i) => i.x.dtype !== "float64")) continue;
    // Finite differences of a float32 result (to float32, mixed dtypes) are too coarse to check.
    if (c.out.some((o) => o.dtype !== "float64")) continue;
    (c.name in knownWrong ? it.fails : it)(c.name, () => {
      const { leaves, run } = setup(c);
      expect(gradcheck(run, leaves, { atol: 1e-6, rtol: 1e-4 })).toBe(true);
    });
  }
});

describeEachBackend("second derivatives", () => {
  for (const c of fx.hvp) {
    it(`Hessian-vector product: ${c.name}`, () => {
      const f = hvpCases[c.name];
      if (!f) throw new Error(`no TypeScript function for hvp case '${c.name}'`);
      const xs = c.inputs.map((s) => fromSpec(s, { requiresGrad: true }));
      const consts = c.consts.map((s) => fromSpec(s));
      const out = f(...xs, ...consts);
      expectClose(out, c.out);
      const gs = grad(out, xs, { createGraph: true }) as Tensor[];
      gs.forEach((g, i) => {
        expectClose(g, c.grads[i] as TSpec);
        expect(g.requiresGrad).toBe(true);
      });
      const vs = c.v.map((s) => fromSpec(s));
      let s: Tensor | undefined;
      gs.forEach((g, i) => {
        const term = dl.sum(dl.mul(g, vs[i] as Tensor));
        s = s === undefined ? term : dl.add(s, term);
      });
      const hv = grad(s as Tensor, xs);
      hv.forEach((h, i) => expectClose(h as Tensor, c.hvp[i] as TSpec));
    });
  }

  const f64 = { dtype: "float64" as const };
  const gg: [string, (...x: Tensor[]) => Tensor, number[][]][] = [
    ["tanh", (x) => dl.tanh(x as Tensor), [[2, 3]]],
    ["mul broadcast", (a, b) => dl.mul(a as Tensor, b as Tensor), [[2, 3], [3]]],
    ["div", (a, b) => dl.div(a as Tensor, dl.add(dl.mul(b as Tensor, b as Tensor), 1)), [[2, 3], [2, 3]]],
    ["matmul", (a, b) => dl.matmul(a as Tensor, b as Tensor), [[2, 3], [3, 2]]],
    ["logsumexp", (x) => dl.logsumexp(x as Tensor, 1), [[2, 3]]],
    ["prod", (x) => dl.prod(x as Tensor, 1), [[2, 3]]],
    ["std", (x) => dl.std(x as Tensor, 0), [[3, 2]]],
    ["sigmoid of sum", (x) => dl.sigmoid(dl.sum(x as Tensor, 0)), [[3, 2]]],
    ["pow tensor tensor", (a, b) => dl.pow(dl.add(dl.mul(a as Tensor, a as Tensor), 0.5), b as Tensor), [[2, 2], [2, 2]]],
    ["gather + cumsum", (x) => dl.cumsum(dl.gather(x as Tensor, 1, dl.tensor([[2, 0], [1, 1]], { dtype: "int64" })), 1), [[2, 3]]],
    [
      "scatterReduce prod",
      (x, s) => dl.scatterReduce(x as Tensor, 1, dl.tensor([[0, 2, 0], [1, 1, 2]], { dtype: "int64" }), s as Tensor, "prod"),
      [
        [2, 3],
        [2, 3],
      ],
    ],
    ["pad reflect + index", (x) => dl.index(dl.pad(x as Tensor, [2, 1], { mode: "reflect" }), dl.tensor([0, 4, 4], { dtype: "int64" })), [[5]]],
    ["norm p3 over dim", (x) => dl.norm(x as Tensor, 3, 1), [[2, 3]]],
    ["slice + transpose views", (x) => dl.mul((x as Tensor).index(":", "::2").t(), (x as Tensor).index(":", "1::2").t()), [[2, 4]]],
  ];
  for (const [name, f, shapes] of gg) {
    it(`gradgradcheck: ${name}`, () => {
      manualSeed(7);
      const xs = shapes.map((s) => randn(s, f64).requiresGrad_());
      expect(gradgradcheck(f, xs, { atol: 1e-6, rtol: 1e-4 })).toBe(true);
    });
  }
});

describeEachBackend("gradients PyTorch 1.13 cannot compute (gradcheck only)", () => {
  const f64 = { dtype: "float64" as const };
  const distinct = (shape: number[], seed: number) => {
    manualSeed(seed);
    // A random permutation of well-separated values: no ties, so max/min are differentiable.
    const n = shape.reduce((a, b) => a * b, 1);
    const order = dl.argsort(dl.rand([n], f64));
    return dl.sub(dl.mul(order.to("float64"), 0.25), 1).view(shape).requiresGrad_();
};

  it("aminmax (no derivative in PyTorch 1.13)", () => {
    const x = distinct([3, 4], 1);
    const f = (t: Tensor) => {
      const r = dl.aminmax(t, { dim: 1 });
      return [r.min, r.max];
    };
    expect(gradcheck(f, [x])).toBe(true);
    const all = (t: Tensor) => {
      const r = dl.aminmax(t);
      return [r.min, r.max];
    };
    expect(gradcheck(all, [x])).toBe(true);
  });

  it("floorDivide has a zero gradient (PyTorch: derivative for floor_divide is not implemented)", () => {
    const a = dl.tensor([2.3, -1.6, 4.2], { dtype: "float64", requiresGrad: true });
    const b = dl.tensor([0.7, 1.3, -2.9], { dtype: "float64", requiresGrad: true });
    expect(gradcheck((x, y) => dl.floorDivide(x as Tensor, y as Tensor), [a, b])).toBe(true);
    const [ga, gb] = grad(dl.sum(dl.floorDivide(a, b)), [a, b]);
    expect(ga?.tolist()).toEqual([0, 0, 0]);
    expect(gb?.tolist()).toEqual([0, 0, 0]);
  });

  it("scatter and scatterAdd with src larger than index (PyTorch: invalid gradient shape)", () => {
    manualSeed(3);
    const x = randn([3, 4], f64).requiresGrad_();
    const src = randn([3, 5], f64).requiresGrad_();
    const index = dl.tensor(
      [
        [2, 0, 1],
        [0, 1, 2],
      ],
      { dtype: "int64" },
    );
    expect(gradcheck((a, s) => dl.scatter(a as Tensor, 0, index, s as Tensor), [x, src])).toBe(true);
    const index2 = dl.tensor([[0, 3], [1, 1]], { dtype: "int64" });
    const src2 = randn([3, 3], f64).requiresGrad_();
    expect(gradcheck((a, s) => dl.scatterAdd(a as Tensor, 1, index2, s as Tensor), [x, src2])).toBe(true);
    const [gs] = grad(dl.sum(dl.scatterAdd(x, 1, index2, src2)), [src2]);
    expect(gs?.tolist()).toEqual([
      [1, 1, 0],
      [1, 1, 0],
      [0, 0, 0],
    ]);
  });

  it("scatterReduce prod with zeros among the contributors", () => {
    const x = dl.tensor([[1.5, 0, -2, 0.5]], { dtype: "float64", requiresGrad: true });
    const src = dl.tensor([[0, 2, 0, 1.2, 0.7]], { dtype: "float64", requiresGrad: true });
    const index = dl.tensor([[0, 0, 2, 3, 3]], { dtype: "int64" });
    expect(gradcheck((a, s) => dl.scatterReduce(a as Tensor, 1, index, s as Tensor, "prod"), [x, src])).toBe(true);
  });
});

describe("gradcheck itself", () => {
  it("detects a wrong gradient", () => {
    // An op whose backward is deliberately wrong: x * stopgrad(x) has gradient x, not 2x.
    const x = randn([3], { dtype: "float64" }).requiresGrad_();
    const f = (t: Tensor) => dl.mul(t, t.detach());
    expect(gradcheck(f, [x], { raiseException: false })).toBe(false);
    expect(() => gradcheck(f, [x])).toThrow(/gradcheck: Jacobian mismatch/);
  });
});
