import { type AdamStepOptions, type SgdStepOptions, type StridedRef, contiguousStrides } from "@dl/tensor";
import { write } from "../elementwise.js";
import { mapKernel } from "../map.js";
import type { Runtime } from "../runtime.js";
import type { GpuStorage } from "../storage.js";

/**
 * Optimizer steps, each state tensor one elementwise program (a fragment writes one output).
 * Hyperparameters are float uniforms, so one compile serves every step. "In place" means the
 * storage takes the new texture (as write() does), so tensors holding the storage see the update.
 */

/** Makes `fresh` (a contiguous result of target's size) the contents of the view target. */
function assign(rt: Runtime, target: StridedRef, fresh: GpuStorage): void {
  const s = target.data as GpuStorage;
  if (target.offset === 0 && fresh.size === s.size && fresh.texture !== null) {
    const texture = fresh.texture;
    rt.tracker.detachTexture(fresh);
    rt.tracker.replace(s, texture);
  } else {
    write(rt, target, ref(fresh, target));
  }
  rt.tracker.free(fresh);
}

const uniforms = (o: Record<string, number>) => Object.entries(o).map(([name, value]) => ({ name, value }));
/** The gradient as the update uses it: -g when maximizing, plus the L2 term. */
const grad = (g: string, p: string) => `(user_sign * ${g} + user_l2 * ${p})`;

/** A fresh contiguous storage as a view of p's shape. */
const ref = (s: GpuStorage, p: StridedRef): StridedRef => ({
  data: s,
  dtype: p.dtype,
  shape: p.shape,
  strides: contiguousStrides(p.shape),
  offset: 0,
});

type Run = (key: string, ops: StridedRef[], expr: (v: string[]) => string) => GpuStorage;

export function adamStep(
  rt: Runtime,
  p: StridedRef,
  g: StridedRef,
  m: StridedRef,
  v: StridedRef,
  vmax: StridedRef | null,
  o: AdamStepOptions,
): void {
  const f = uniforms({
    sign: o.maximize ? -1 : 1,
    l2: o.decoupled ? 0 : o.weightDecay,
    b1: o.beta1,
    b2: o.beta2,
    // 1 - beta in float64 first: 1.0 - 0.999 in float32 loses four digits.
    c1: 1 - o.beta1,
    c2: 1 - o.beta2,
    decay: o.decoupled ? 1 - o.lr * o.weightDecay : 1,
    stepSize: o.lr / (1 - o.beta1 ** o.step),
    bc2: Math.sqrt(1 - o.beta2 ** o.step),
    eps: o.eps,
  });
  const run: Run = (key, ops, expr) => mapKernel(rt, `adam|${key}`, p.shape, ops, expr, p.dtype, f);
  const m2 = run("m", [m, g, p], ([mv, gv, pv]) => `${mv} * user_b1 + user_c1 * ${grad(gv as string, pv as string)}`);
  const v2 = run("v", [v, g, p], ([vv, gv, pv]) => {
    const d = grad(gv as string, pv as string);
    return `${vv} * user_b2 + user_c2 * ${d} * ${d}`;
  });
  const vhat = vmax === null ? v2 : run("vmax", [vmax, ref(v2, p)], ([a, b]) => `dl_maximum(${a}, ${b})`);
  const p2 = run(
    "p",
    [p, ref(m2, p), ref(vhat, p)],
    ([pv, mv, vv]) => `${pv} * user_decay + (-user_stepSize * ${mv}) / (sqrt(${vv}) / user_bc2 + user_eps)`,
  );
  assign(rt, m, m2);
  assign(rt, v, v2);
  if (vmax !== null) assign(rt, vmax, vhat);
  assign(rt, p, p2);
}

export function sgdStep(rt: Runtime, p: StridedRef, g: StridedRef, buf: StridedRef | null, o: SgdStepOptions): void {
  const f = uniforms({
    sign: o.maximize ? -1 : 1,
    l2: o.weightDecay,
    lr: o.lr,
    mom: o.momentum,
    undamped: 1 - o.dampening,
    first: o.firstStep ? 1 : 0,
    nesterov: o.nesterov ? 1 : 0,
  });
  const run: Run = (key, ops, expr) => mapKernel(rt, `sgd|${key}`, p.shape, ops, expr, p.dtype, f);
  const d = grad;
  if (buf === null) {
    assign(
      rt,
      p,
      run("p", [p, g], ([pv, gv]) => `${pv} + -user_lr * ${d(gv as string, pv as string)}`),
    );
    return;
  }
  const b2 = run(
    "buf",
    [buf, g, p],
    ([bv, gv, pv]) =>
      `(user_first > 0.5 ? ${d(gv as string, pv as string)} : ${bv} * user_mom + user_undamped * ${d(gv as string, pv as string)})`,
  );
  const p2 = run(
    "pm",
    [p, g, ref(b2, p)],
    ([pv, gv, bv]) => `${pv} + -user_lr * (user_nesterov > 0.5 ? ${d(gv as string, pv as string)} + user_mom * ${bv} : ${bv})`,
  );
  assign(rt, buf, b2);
  assign(rt, p, p2);
}
