import { DLError, Tensor, fromHost, randn } from "@dl/tensor";
import { grad } from "./grad.js";
import { enableGrad, noGrad } from "./grad-mode.js";

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Throw on failure (default) or return false. */
  raiseException?: boolean;
}

type Fn = (...inputs: Tensor[]) => Tensor | readonly Tensor[];

const asList = (r: Tensor | readonly Tensor[]): Tensor[] => (r instanceof Tensor ? [r] : [...r]);

/** Jacobian d(flat outputs)/d(flat input i) by central differences, column by column. */
function numericalJacobian(fn: Fn, inputs: Tensor[], i: number, eps: number): number[][] {
  const x = inputs[i] as Tensor;
  const base = Array.from(x.dataSync());
  const cols: number[][] = [];
  for (let j = 0; j < base.length; j++) {
    const evalAt = (delta: number) => {
      const v = base.slice();
      v[j] = (v[j] as number) + delta;
      const xi = fromHost(v, x.shape, { dtype: x.dtype, device: x.device });
      const args = inputs.map((t, k) => (k === i ? xi : t));
      return noGrad(() => asList(fn(...args)).flatMap((o) => Array.from(o.dataSync())));
    };
    const plus = evalAt(eps);
    const minus = evalAt(-eps);
    cols.push(plus.map((p, k) => (p - (minus[k] as number)) / (2 * eps)));
  }
  return cols; // cols[j][k] = d out_k / d x_j
}

/**
 * torch.autograd.gradcheck: compares backward's gradients with finite differences. Inputs that
 * require grad should be float64. Returns true, or throws (or returns false) naming the input and
 * the worst element.
 */
export function gradcheck(fn: Fn, inputs: readonly Tensor[], options: GradcheckOptions = {}): boolean {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  const ins = [...inputs];
  const diff = ins.filter((t) => t.requiresGrad);
  for (const t of diff) {
    if (t.dtype !== "float64") console.warn(`gradcheck: input of dtype ${t.dtype} is not float64; the check may fail from rounding`);
  }
  const outs = asList(fn(...ins));
  const outSizes = outs.map((o) => o.numel());
  // Analytical Jacobian: one backward per output element.
  const analytical: number[][][] = diff.map((t) => Array.from({ length: t.numel() }, () => [] as number[]));
  outs.forEach((o, oi) => {
    for (let k = 0; k < (outSizes[oi] as number); k++) {
      const onehot = new Float64Array(o.numel());
      onehot[k] = 1;
      const go = fromHost(onehot, o.shape, { dtype: o.dtype, device: o.device });
      const gs = o.requiresGrad ? grad(o, diff, { gradOutputs: go, retainGraph: true, allowUnused: true }) : diff.map(() => null);
      diff.forEach((t, ti) => {
        const g = gs[ti];
        const vals = g ? g.dataSync() : new Float64Array(t.numel());
        for (let j = 0; j < t.numel(); j++) (analytical[ti] as number[][])[j]?.push(vals[j] as number);
      });
    }
  });
  for (let ti = 0; ti < diff.length; ti++) {
    const idx = ins.indexOf(diff[ti] as Tensor);
    const numerical = numericalJacobian(fn, ins, idx, eps);
    for (let j = 0; j < numerical.length; j++) {
      const num = numerical[j] as number[];
      const ana = (analytical[ti] as number[][])[j] as number[];
      for (let k = 0; k < num.length; k++) {
        const a = ana[k] as number;
        const n = num[k] as number;
        if (!(Math.abs(a - n) <= atol + rtol * Math.abs(n))) {
          if (options.raiseException === false) return false;
          throw new DLError(
            "gradcheck",
            `Jacobian mismatch for output element ${k} with respect to input ${idx}, element ${j}: numerical ${n}, analytical ${a}`,
          );
        }
      }
    }
  }
  return true;
}

/**
 * torch.autograd.gradgradcheck: gradcheck of the gradient itself (backward with createGraph),
 * with random upstream gradients that are also differentiated.
 */
export function gradgradcheck(fn: Fn, inputs: readonly Tensor[], options: GradcheckOptions & { gradOutputs?: readonly Tensor[] } = {}): boolean {
  const outs = asList(fn(...inputs));
  const gos = options.gradOutputs ?? outs.map((o) => randn(o.shape, { dtype: "float64", device: o.device }).requiresGrad_(true));
  const n = inputs.length;
  const second: Fn = (...args) =>
    enableGrad(() => {
      // Finite differences call this with plain perturbed copies: make them differentiable again.
      const xs = args.slice(0, n).map((t, i) => (inputs[i]?.requiresGrad && !t.requiresGrad ? t.detach().requiresGrad_() : t));
      const g = args.slice(n);
      const os = asList(fn(...xs));
      const wanted = xs.filter((_t, i) => inputs[i]?.requiresGrad);
      return grad(os, wanted, { gradOutputs: g, createGraph: true, allowUnused: true }).filter((t): t is Tensor => t !== null);
    });
  return gradcheck(second, [...inputs, ...gos], options);
}
