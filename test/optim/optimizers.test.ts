import { noGrad } from "@dl/autograd";
import { cpuBackend } from "@dl/backend-cpu";
import {
  Adadelta,
  Adagrad,
  Adam,
  AdamW,
  Adamax,
  LBFGS,
  NAdam,
  type Optimizer,
  type OptimizerStateDict,
  RAdam,
  RMSprop,
  SGD,
} from "@dl/optim";
import { F, Linear, clipGradNorm_ } from "@dl/nn";
import { StepLR } from "@dl/optim";
import { ArgumentError, Tensor, add, manualSeed, matmul, mean, mul, ones, registerBackend, sub, sum, tanh, tensor, zeros } from "@dl/tensor";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, isSpec, loadFixtures } from "../helpers/fixtures.js";

/**
 * Every optimizer against PyTorch 1.13 (tooling/fixtures/gen_optim.py): the losses returned by
 * step(closure) and the parameters along 25 steps of a small regression problem, for several
 * option combinations and parameter groups; PyTorch's state_dict after 10 steps (structure and
 * values), loaded into a fresh optimizer to continue; and dl's own stateDict round trip.
 */

interface Case {
  name: string;
  optimizer: string;
  kwargs: Record<string, unknown>;
  groups: ({ params: number[] } & Record<string, unknown>)[] | null;
  negate: boolean;
  steps: number;
  losses: number[];
  traj: Record<string, TSpec[]>;
  state_dict?: OptimizerStateDict;
  state_dict_step?: number;
}

const fx = loadFixtures("optim") as { problem: { x: TSpec; y: TSpec; init: TSpec[] }; cases: Case[] };

// biome-ignore lint/suspicious/noExplicitAny: constructors of every optimizer
const ctors: Record<string, new (params: any, options?: any) => Optimizer> = {
  SGD,
  Adam,
  AdamW,
  RMSprop,
  Adagrad,
  Adadelta,
  Adamax,
  NAdam,
  RAdam,
  LBFGS,
};

const toCamel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const camel = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).map(([k, v]) => [toCamel(k), v]));

function makeParams(values: TSpec[] = fx.problem.init): Tensor[] {
  return values.map((s) => fromSpec(s, { requiresGrad: true }));
}

function lossFn(p1: Tensor, p2: Tensor): Tensor {
  const x = fromSpec(fx.problem.x);
  const y = fromSpec(fx.problem.y);
  const d = sub(tanh(add(matmul(x, p1), p2)), y);
  return add(mean(mul(d, d)), mul(sum(mul(mul(mul(p1, p1), p1), p1)), 0.01));
}

function build(c: Case, params: Tensor[]): Optimizer {
  const Ctor = ctors[c.optimizer] as (typeof ctors)[string];
  const input = c.groups === null ? params : c.groups.map((g) => ({ ...camel(g), params: g.params.map((i) => params[i] as Tensor) }));
  return new Ctor(input, camel(c.kwargs));
}

function closureFor(opt: Optimizer, params: Tensor[], negate: boolean): () => Tensor {
  return () => {
    opt.zeroGrad();
    let loss = lossFn(params[0] as Tensor, params[1] as Tensor);
    if (negate) loss = mul(loss, -1);
    loss.backward();
    return loss;
  };
}

/** Deep conversion of a fixture state dict (encoded tensors -> tensors). */
function decodeState(v: unknown): unknown {
  if (isSpec(v)) return fromSpec(v);
  if (Array.isArray(v)) return v.map(decodeState);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodeState(x)]));
  return v;
}

/** Compares a dl state-dict value with PyTorch's (tensors within tolerance, the rest exactly). */
function expectStateClose(actual: unknown, expected: unknown, path: string, tol: { rtol: number; atol: number }): void {
  if (isSpec(expected) && path.endsWith(".t") && typeof actual === "number") {
    // LBFGS's t is a tensor or a number in PyTorch depending on how it was computed; dl keeps a number.
    expectStateClose(actual, expected.data[0], path, tol);
  } else if (isSpec(expected)) {
    expect((actual as Tensor)?.constructor?.name, `${path} is a tensor`).toBe("Tensor");
    expectClose(actual as Tensor, expected, tol);
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${path} is an array`).toBe(true);
    expect((actual as unknown[]).length, `${path} length`).toBe(expected.length);
    expected.forEach((e, i) => expectStateClose((actual as unknown[])[i], e, `${path}[${i}]`, tol));
  } else if (expected !== null && typeof expected === "object") {
    expect(Object.keys(actual as object).sort(), `${path} keys`).toEqual(Object.keys(expected).sort());
    for (const [k, e] of Object.entries(expected)) expectStateClose((actual as Record<string, unknown>)[k], e, `${path}.${k}`, tol);
  } else if (typeof expected === "number" && typeof actual === "number" && !Number.isInteger(expected)) {
    expect(Math.abs(actual - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tol.atol + tol.rtol * Math.abs(expected));
  } else {
    expect(actual, path).toEqual(expected);
  }
}

const tolFor = (c: Case) => (c.optimizer === "LBFGS" ? { rtol: 1e-4, atol: 1e-5 } : { rtol: 2e-5, atol: 2e-6 });

describeEachBackend("optimizers vs PyTorch", () => {
  for (const c of fx.cases) {
    it(`${c.name}: losses and parameters over ${c.steps} steps`, () => {
      const params = makeParams();
      const opt = build(c, params);
      const p3 = Array.from((params[2] as Tensor).dataSync());
      const tol = tolFor(c);
      for (let step = 1; step <= c.steps; step++) {
        const loss = opt.step(closureFor(opt, params, c.negate)) as Tensor;
        const want = c.losses[step - 1] as number;
        expect(Math.abs(Number(loss.item()) - want), `loss at step ${step}: ${loss.item()} vs ${want}`).toBeLessThanOrEqual(
          tol.atol + tol.rtol * Math.abs(want),
        );
        const snap = c.traj[String(step)];
        if (snap) params.forEach((p, i) => expectClose(p, snap[i] as TSpec, tol));
      }
      // p3 never has a gradient: untouched (and without state, except Adagrad's eager state).
      expect(Array.from((params[2] as Tensor).dataSync())).toEqual(p3);
      if (c.optimizer !== "Adagrad" && c.optimizer !== "LBFGS") expect(opt.state.has(params[2] as Tensor)).toBe(false);
    });
  }

  for (const c of fx.cases.filter((k) => k.state_dict !== undefined)) {
    const at = c.state_dict_step as number;
    it(`${c.name}: stateDict() after step ${at} matches PyTorch's`, () => {
      const params = makeParams();
      const opt = build(c, params);
      for (let step = 1; step <= at; step++) opt.step(closureFor(opt, params, c.negate));
      expectStateClose(opt.stateDict(), c.state_dict, "state_dict", c.optimizer === "LBFGS" ? { rtol: 1e-3, atol: 1e-6 } : { rtol: 2e-5, atol: 1e-7 });
    });

    it(`${c.name}: PyTorch's state dict loads into a fresh optimizer and continues to step ${c.steps}`, () => {
      const params = makeParams(c.traj[String(at)]);
      const opt = build(c, params);
      opt.loadStateDict(decodeState(c.state_dict) as OptimizerStateDict);
      for (let step = at + 1; step <= c.steps; step++) opt.step(closureFor(opt, params, c.negate));
      params.forEach((p, i) => expectClose(p, (c.traj[String(c.steps)] as TSpec[])[i] as TSpec, tolFor(c)));
    });
  }

  for (const c of fx.cases) {
    it(`${c.name}: stateDict round trip equals an uninterrupted run`, () => {
      const half = Math.floor(c.steps / 2);
      const a = makeParams();
      const optA = build(c, a);
      for (let s = 0; s < half; s++) optA.step(closureFor(optA, a, c.negate));
      const sd = optA.stateDict();
      const b = a.map((p) => noGrad(() => p.clone()).requiresGrad_());
      const optB = build(c, b);
      optB.loadStateDict(sd);
      for (let s = half; s < c.steps; s++) {
        optA.step(closureFor(optA, a, c.negate));
        optB.step(closureFor(optB, b, c.negate));
      }
      a.forEach((p, i) => expect(Array.from((b[i] as Tensor).dataSync())).toEqual(Array.from(p.dataSync())));
    });
  }
});

describe("Optimizer base", () => {
  it("zeroGrad zeroes gradients by default (PyTorch 1.13), setToNone clears them", () => {
    const p = tensor([1, 2, 3], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1 });
    sum(mul(p, p)).backward();
    expect(p.grad?.tolist()).toEqual([2, 4, 6]);
    opt.zeroGrad();
    expect(p.grad?.tolist()).toEqual([0, 0, 0]);
    opt.zeroGrad({ setToNone: true });
    expect(p.grad).toBeNull();
  });

  it("step() without a closure returns undefined; with one, the closure's loss", () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.5 });
    expect(opt.step()).toBeUndefined();
    expect(p.tolist()).toEqual([1, 2]);
    const loss = opt.step(() => {
      opt.zeroGrad();
      const l = sum(mul(p, p));
      l.backward();
      return l;
    });
    expect(Number((loss as Tensor).item())).toBe(5);
    expect(p.tolist()).toEqual([0, 0]);
  });

  it("parameter groups take the defaults they do not set; addParamGroup adds one", () => {
    const a = tensor([1], { requiresGrad: true });
    const b = tensor([1], { requiresGrad: true });
    const c = tensor([1], { requiresGrad: true });
    const opt = new SGD([{ params: [a] }, { params: b, lr: 0.5, momentum: 0.9 }], { lr: 0.1 });
    opt.addParamGroup({ params: [c], weightDecay: 1 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum, g.weightDecay])).toEqual([
      [0.1, 0, 0],
      [0.5, 0.9, 0],
      [0.1, 0, 1],
    ]);
    for (const p of [a, b, c]) p.grad = ones(1);
    opt.step();
    expect([a, b, c].map((p) => Number(p.item()))).toEqual([Math.fround(0.9), 0.5, Math.fround(1 - 0.1 * 2)]);
    const sd = opt.stateDict();
    expect(sd.param_groups.map((g) => g.params)).toEqual([[0], [1], [2]]);
    expect(Object.keys(sd.param_groups[0] as object).sort()).toEqual(
      ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "foreach", "differentiable", "params"].sort(),
    );
  });

  it("a model moved to a non-default device trains there with every optimizer (zeroGrad twice)", () => {
    // The documented model.to(device) route: zeroGrad's zero_() made its scalar on the default device.
    registerBackend({ ...cpuBackend, name: "cpu2" });
    for (const Ctor of [SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam]) {
      manualSeed(0);
      const model = new Linear(3, 2).to("cpu2");
      const opt = new Ctor(model.parameters(), { lr: 0.1, momentum: Ctor === SGD ? 0.9 : undefined } as never);
      const sched = new StepLR(opt, 1, { gamma: 0.5 });
      const x = tensor([[1, 2, 3]], { device: "cpu2" });
      const y = tensor([[1, 0]], { device: "cpu2" });
      for (let i = 0; i < 3; i++) {
        opt.zeroGrad();
        const loss = F.mseLoss(model.call(x), y);
        loss.backward();
        clipGradNorm_(model.parameters(), 1);
        opt.step();
        sched.step();
      }
      for (const p of model.parameters()) expect(p.device).toBe("cpu2");
      for (const v of Object.values(opt.stateDict().state[0] ?? {})) if (v instanceof Tensor) expect(v.device).toBe("cpu2");
    }
  });

  it("rejects bad arguments with typed errors", () => {
    const p = tensor([1], { requiresGrad: true });
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/SGD: optimizer got an empty parameter list/);
    expect(() => new SGD([p])).toThrow(/required optimization parameter lr/);
    expect(() => new SGD([p], { lr: -1 })).toThrow(/Invalid learning rate/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires a momentum/);
    expect(() => new Adam([p], { betas: [1.0, 0.9] })).toThrow(/Invalid beta parameter at index 0/);
    expect(() => new SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 })).toThrow(/more than one parameter group/);
    expect(() => new SGD([mul(p, 2)], { lr: 0.1 })).toThrow(/can't optimize a non-leaf Tensor/);
    const q = tensor([1], { requiresGrad: true });
    expect(() => new LBFGS([{ params: [p] }, { params: [q] }])).toThrow(/doesn't support per-parameter options/);
    expect(() => new LBFGS([p]).step()).toThrow(/requires a closure/);
    const opt = new SGD([p], { lr: 0.1 });
    expect(() => opt.loadStateDict({ state: {}, param_groups: [] })).toThrow(/different number of parameter groups/);
  });

  it("invalid optimizer arguments raise PyTorch's messages as ArgumentErrors (strings and NaN are rejected too)", () => {
    const p = tensor([1], { requiresGrad: true });
    const cases: [() => unknown, string][] = [
      [() => new SGD([p], { lr: -1 }), "SGD: Invalid learning rate: -1"],
      [() => new SGD([p], { lr: 0.1, momentum: -0.5 }), "SGD: Invalid momentum value: -0.5"],
      [() => new SGD([p], { lr: 0.1, weightDecay: -1e-5 }), "SGD: Invalid weight_decay value: -1e-05"],
      [() => new SGD([p], { lr: 0.1, nesterov: true }), "SGD: Nesterov momentum requires a momentum and zero dampening"],
      [() => new Adam([p], { betas: [1.0, 0.999] }), "Adam: Invalid beta parameter at index 0: 1.0"],
      [() => new Adam([p], { betas: [0.9, 1] }), "Adam: Invalid beta parameter at index 1: 1.0"],
      [() => new AdamW([p], { eps: -1e-8 }), "AdamW: Invalid epsilon value: -1e-08"],
      [() => new Adam([p], { lr: Number.NaN }), "Adam: Invalid learning rate: nan"],
      [() => new Adam([p], { lr: "0.1" as never }), "Adam: Invalid learning rate: '0.1' (expected a number)"],
      [() => new Adam([p], { betas: [0.9] as never }), "Adam: Invalid betas: [0.9] (expected a pair of numbers)"],
      [() => new Adamax([p], { weightDecay: -2 }), "Adamax: Invalid weight_decay value: -2"],
      [() => new Adadelta([p], { rho: 1.5 }), "Adadelta: Invalid rho value: 1.5"],
      [() => new Adagrad([p], { lrDecay: -1 }), "Adagrad: Invalid lr_decay value: -1"],
      [() => new Adagrad([p], { initialAccumulatorValue: -1 }), "Adagrad: Invalid initial_accumulator_value value: -1"],
      [() => new RMSprop([p], { alpha: -0.1 }), "RMSprop: Invalid alpha value: -0.1"],
      [() => new NAdam([p], { momentumDecay: -1 }), "NAdam: Invalid momentum_decay value: -1"],
      [() => new RAdam([p], { eps: -0.0001 }), "RAdam: Invalid epsilon value: -0.0001"],
      [() => new LBFGS([p], { lr: -1 }), "LBFGS: Invalid learning rate: -1"],
      [() => new LBFGS([p], { maxIter: 0 }), "LBFGS: Invalid max_iter value: 0 (expected a positive integer)"],
    ];
    for (const [make, message] of cases) {
      expect(make).toThrow(ArgumentError);
      expect(make).toThrow(message);
    }
  });

  it("String(optimizer) prints the parameter groups as PyTorch's repr (it was [object Object])", () => {
    const p = zeros(3).requiresGrad_();
    expect(String(new Adam([p]))).toBe(
      "Adam (\nParameter Group 0\n    amsgrad: False\n    betas: (0.9, 0.999)\n    capturable: False\n    differentiable: False\n    eps: 1e-08\n    foreach: None\n    fused: False\n    lr: 0.001\n    maximize: False\n    weight_decay: 0\n)",
    );
    const sgd = new SGD([{ params: [p] }, { params: [zeros(1).requiresGrad_()], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
    new StepLR(sgd, 3);
    const group = (lr: number) =>
      `    dampening: 0\n    differentiable: False\n    foreach: None\n    initial_lr: ${lr}\n    lr: ${lr}\n    maximize: False\n    momentum: 0.9\n    nesterov: False\n    weight_decay: 0\n`;
    expect(`${sgd}`).toBe(`SGD (\nParameter Group 0\n${group(0.1)}\nParameter Group 1\n${group(0.5)})`);
    expect(String(new LBFGS([p]))).toBe(
      "LBFGS (\nParameter Group 0\n    history_size: 100\n    line_search_fn: None\n    lr: 1\n    max_eval: 25\n    max_iter: 20\n    tolerance_change: 1e-09\n    tolerance_grad: 1e-07\n)",
    );
    // console.log / util.inspect show the same text.
    expect(inspect(new Adam([p]))).toBe(String(new Adam([p])));
  });

  it("updates in place and frees every temporary (live storages stay constant)", () => {
    for (const Ctor of [SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam]) {
      const p = tensor([[1, 2], [3, 4]], { requiresGrad: true });
      const storage = p._storage;
      p.grad = tensor([[0.1, -0.2], [0.3, 0.4]]);
      const opt = new Ctor([p], { lr: 0.01, momentum: 0.9, centered: true });
      opt.step();
      const live = cpuBackend.memory().storages;
      for (let i = 0; i < 5; i++) opt.step();
      expect(cpuBackend.memory().storages, Ctor.name).toBe(live);
      expect(p._storage).toBe(storage);
    }
  });

  it("Adam's stateDict has PyTorch's layout (step as a 0-dim float32 tensor)", () => {
    const p = zeros(3).requiresGrad_();
    const opt = new Adam([p], { amsgrad: true });
    p.grad = ones(3);
    opt.step();
    opt.step();
    const sd = opt.stateDict();
    const s = sd.state[0] as Record<string, Tensor>;
    expect(Object.keys(s)).toEqual(["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]);
    expect(s.step?.dtype).toBe("float32");
    expect(s.step?.shape).toEqual([]);
    expect(s.step?.item()).toBe(2);
    expect(sd.param_groups[0]).toEqual({
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weight_decay: 0,
      amsgrad: true,
      maximize: false,
      foreach: null,
      capturable: false,
      differentiable: false,
      fused: false,
      params: [0],
    });
  });
});
